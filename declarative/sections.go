package declarative

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
)

// Id rules.
var (
	// slugID is the form of policy and profile ids.
	slugID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// dottedID is the form of user and app ids, which may hold dots (j.smith).
	dottedID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	// localEntID is the form of an entitlement's id within its app.
	localEntID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

const (
	slugRule   = `use lowercase letters, digits, "_" and "-", starting with a letter or digit`
	dottedRule = `use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit`
	localRule  = `use letters, digits, ".", "_" and "-", starting with a letter or digit`
)

// minSyncInterval is the shortest sync interval a file may set.
const minSyncInterval = time.Minute

// id reads, checks and registers the id of an object of the given kind. ok
// is false when the id is missing or unusable as a string.
func (p *parser) id(m *mapping, kind string, re *regexp.Regexp, rule string, seen map[string]int) (id string, line int, ok bool) {
	if m.get("id") == nil {
		p.addf(m.line(), m.path, "missing id")
		return "", m.line(), false
	}
	id, line = m.str("id")
	if id == "" {
		return "", line, false
	}
	path := join(m.path, "id")
	if !re.MatchString(id) {
		p.addf(line, path, "invalid %s id %q: %s", kind, id, rule)
	}
	if first, dup := seen[id]; dup {
		p.addf(line, path, "duplicate %s id %q (first declared at line %d)", kind, id, first)
		return id, line, true
	}
	seen[id] = line
	return id, line, true
}

// settings reads the settings section into a patch holding only the keys
// given.
func (p *parser) settings(n *yaml.Node) *roster.SettingsPatch {
	m, ok := p.mapping(n, "settings", "default_request_policy", "default_revoke_policy",
		"sync_interval", "automations_enabled", "change_approval", "safeguard", "slack_webhook_url", "slack_webhook_url_env", "base_url", "notifications")
	s := &roster.SettingsPatch{}
	if !ok {
		return s
	}
	for _, key := range []string{"default_request_policy", "default_revoke_policy"} {
		if m.get(key) == nil {
			continue
		}
		v, line := m.str(key)
		if v != "" {
			p.referKey(refPolicy, v, line, "settings", key)
		}
		if key == "default_request_policy" {
			s.DefaultRequestPolicy = &v
		} else {
			s.DefaultRevokePolicy = &v
		}
	}
	if m.get("sync_interval") != nil {
		v, line := m.str("sync_interval")
		if d, err := time.ParseDuration(v); err != nil {
			p.addf(line, "settings.sync_interval", "%q is not a duration such as \"1h\" or \"15m\"", v)
		} else if d < minSyncInterval {
			p.addf(line, "settings.sync_interval", "must be at least 1m, got %s", d)
		} else {
			rd := roster.Duration(d)
			s.SyncInterval = &rd
		}
	}
	if m.get("automations_enabled") != nil {
		b := m.boolean("automations_enabled", true)
		s.AutomationsEnabled = &b
	}
	if m.get("change_approval") != nil {
		b := m.boolean("change_approval", false)
		s.ChangeApproval = &b
	}
	if v := m.get("safeguard"); v != nil {
		sg, ok := p.mapping(v, "settings.safeguard", "min_members", "max_removal_percent")
		if ok {
			if n, line, ok := sg.integer("min_members"); ok {
				if n < 0 {
					p.addf(line, "settings.safeguard.min_members", "must be 0 or more, got %d", n)
				} else {
					s.MinMembers = &n
				}
			}
			if n, line, ok := sg.integer("max_removal_percent"); ok {
				if n < 0 || n > 100 {
					p.addf(line, "settings.safeguard.max_removal_percent", "must be between 0 and 100, got %d", n)
				} else {
					s.MaxRemovalPercent = &n
				}
			}
		}
	}
	if m.get("slack_webhook_url") != nil {
		v, line := m.str("slack_webhook_url")
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.addf(line, "settings.slack_webhook_url", "%q is not an http or https URL", v)
			}
		}
		s.SlackWebhookURL = &v
	}
	if m.get("slack_webhook_url_env") != nil {
		v, line := m.str("slack_webhook_url_env")
		if s.SlackWebhookURL != nil && *s.SlackWebhookURL != "" && v != "" {
			p.addf(line, "settings.slack_webhook_url_env", "give the Slack webhook either as slack_webhook_url or as slack_webhook_url_env, not both")
		}
		s.SlackWebhookURLEnv = &v
	}
	if m.get("base_url") != nil {
		v, line := m.str("base_url")
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				p.addf(line, "settings.base_url", "%q is not an http or https URL such as https://roster.example.com", v)
			}
		}
		v = strings.TrimSuffix(v, "/")
		s.BaseURL = &v
	}
	if v := m.get("notifications"); v != nil {
		p.notifications(v, s)
	}
	return s
}

// notifications reads settings.notifications into s.
func (p *parser) notifications(n *yaml.Node, s *roster.SettingsPatch) {
	const path = "settings.notifications"
	m, ok := p.mapping(n, path, "email", "slack", "remind_after", "escalate_after")
	if !ok {
		return
	}
	for _, key := range []string{"remind_after", "escalate_after"} {
		if m.get(key) == nil {
			continue
		}
		v, line := m.str(key)
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			p.addf(line, join(path, key), "%q is not a duration such as \"24h\"", v)
			continue
		case d < time.Minute:
			p.addf(line, join(path, key), "must be at least 1m, got %s", d)
			continue
		}
		rd := roster.Duration(d)
		if key == "remind_after" {
			s.RemindAfter = &rd
		} else {
			s.EscalateAfter = &rd
		}
	}
	if s.RemindAfter != nil && s.EscalateAfter != nil && *s.EscalateAfter <= *s.RemindAfter {
		_, line := m.str("escalate_after")
		p.addf(line, join(path, "escalate_after"), "must be longer than remind_after (%s), got %s", *s.RemindAfter, *s.EscalateAfter)
	}
	p.slack(m, path, s)
	if raw := m.raw("email"); raw != nil && isNull(p.deref(raw)) {
		s.Email = &roster.EmailSettings{}
	}
	v := m.get("email")
	if v == nil {
		return
	}
	epath := join(path, "email")
	em, ok := p.mapping(v, epath, "smtp_host", "smtp_port", "from", "username_env", "password_env", "starttls")
	if !ok {
		return
	}
	e := roster.EmailSettings{SMTPPort: 25}
	var line int
	if e.SMTPHost, line = em.str("smtp_host"); e.SMTPHost == "" {
		p.addf(line, join(epath, "smtp_host"), "missing: the SMTP server's host name or address")
	} else if strings.ContainsAny(e.SMTPHost, " /@") {
		p.addf(line, join(epath, "smtp_host"), "%q is not a host name or address", e.SMTPHost)
	}
	if port, line, ok := em.integer("smtp_port"); ok {
		if port < 1 || port > 65535 {
			p.addf(line, join(epath, "smtp_port"), "must be a port between 1 and 65535, got %d", port)
		}
		e.SMTPPort = port
	}
	if e.From, line = em.str("from"); e.From == "" {
		p.addf(line, join(epath, "from"), "missing: the address messages come from")
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		p.addf(line, join(epath, "from"), "%q is not an email address", e.From)
	}
	e.UsernameEnv, line = em.str("username_env")
	if e.UsernameEnv != "" && !envName.MatchString(e.UsernameEnv) {
		p.addf(line, join(epath, "username_env"), "%q is not an environment variable name", e.UsernameEnv)
	}
	e.PasswordEnv, line = em.str("password_env")
	if e.PasswordEnv != "" && !envName.MatchString(e.PasswordEnv) {
		p.addf(line, join(epath, "password_env"), "%q is not an environment variable name", e.PasswordEnv)
	}
	if (e.UsernameEnv == "") != (e.PasswordEnv == "") {
		p.addf(em.line(), epath, "username_env and password_env go together: give both, or neither to send without AUTH")
	}
	e.StartTLS = em.boolean("starttls", false)
	s.Email = &e
}

// slack reads settings.notifications.slack: {bot_token_env: NAME}, or null
// to remove it.
func (p *parser) slack(m *mapping, path string, s *roster.SettingsPatch) {
	if raw := m.raw("slack"); raw != nil && isNull(p.deref(raw)) {
		s.Slack = &roster.SlackSettings{}
	}
	v := m.get("slack")
	if v == nil {
		return
	}
	spath := join(path, "slack")
	sm, ok := p.mapping(v, spath, "bot_token_env")
	if !ok {
		return
	}
	var sl roster.SlackSettings
	var line int
	if sl.BotTokenEnv, line = sm.str("bot_token_env"); sl.BotTokenEnv == "" {
		p.addf(sm.line(), join(spath, "bot_token_env"), "missing: the environment variable that holds the Slack bot's token")
	} else if !envName.MatchString(sl.BotTokenEnv) {
		p.addf(line, join(spath, "bot_token_env"), "%q is not an environment variable name", sl.BotTokenEnv)
	}
	s.Slack = &sl
}

// envName is the form of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// policy reads one entry of policies.
func (p *parser) policy(n *yaml.Node, path string) (roster.Policy, bool) {
	m, ok := p.mapping(n, path, "id", "steps")
	if !ok {
		return roster.Policy{}, false
	}
	id, _, ok := p.id(m, "policy", slugID, slugRule, p.policies)
	pol := roster.Policy{ID: id, Steps: []roster.Step{}}
	for i, sn := range m.seq("steps") {
		if st, ok := p.step(sn, index(join(path, "steps"), i)); ok {
			pol.Steps = append(pol.Steps, st)
		}
	}
	return pol, ok
}

// step reads one approval step of a policy.
func (p *parser) step(n *yaml.Node, path string) (roster.Step, bool) {
	m, ok := p.mapping(n, path, "approvers", "users", "entitlement", "fallback")
	if !ok {
		return roster.Step{}, false
	}
	var st roster.Step
	kinds := strings.Join(roster.ApproverKinds, ", ")
	if m.get("approvers") == nil {
		p.addf(m.line(), path, "missing approvers (one of %s)", kinds)
	} else {
		st.Approvers = m.enum("approvers", "", roster.ApproverKinds...)
	}
	users := m.strList("users")
	for _, it := range users {
		p.refer(refUser, it.val, it.line, it.path)
	}
	if len(users) > 0 {
		st.Users = values(users)
	}
	switch {
	case st.Approvers == roster.ApproverUsers && len(users) == 0 && m.raw("users") == nil:
		p.addf(m.line(), path, "approvers: users needs a users list")
	case st.Approvers == roster.ApproverUsers && len(users) == 0:
		p.addf(m.raw("users").Line, join(path, "users"), "approvers: users needs at least one user")
	case st.Approvers != "" && st.Approvers != roster.ApproverUsers && m.get("users") != nil:
		p.addf(m.get("users").Line, join(path, "users"), "users are only used with approvers: users, not %s", st.Approvers)
	}
	if v := m.get("entitlement"); v != nil {
		e, line := m.str("entitlement")
		if st.Approvers != "" && st.Approvers != roster.ApproverEntitlementMembers {
			p.addf(v.Line, join(path, "entitlement"), "entitlement is only used with approvers: entitlement_members, not %s", st.Approvers)
		} else if e != "" {
			st.Entitlement = e
			p.entitlementRefKey(e, line, path, "entitlement")
		}
	} else if st.Approvers == roster.ApproverEntitlementMembers {
		p.addf(m.line(), path, "approvers: entitlement_members needs an entitlement (APP/ENT) whose holders approve")
	}
	fallback := m.strList("fallback")
	for _, it := range fallback {
		p.refer(refUser, it.val, it.line, it.path)
	}
	if len(fallback) > 0 {
		st.Fallback = values(fallback)
	}
	return st, true
}

// user reads one entry of users.
func (p *parser) user(n *yaml.Node, path string) (roster.User, bool) {
	m, ok := p.mapping(n, path, "id", "email", "name", "manager", "department", "title", "location",
		"employment_type", "start_date", "end_date", "status", "role", "kind", "notify", "attributes")
	if !ok {
		return roster.User{}, false
	}
	id, line, ok := p.id(m, "user", dottedID, dottedRule, p.users)
	if id == roster.AdminUser {
		p.addf(line, join(path, "id"), "user %q is built in and cannot be declared", roster.AdminUser)
	}
	u := roster.User{ID: id}
	u.Email, line = m.str("email")
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || a.Name != "" {
			p.addf(line, join(path, "email"), "%q is not an email address", u.Email)
		}
	}
	u.Name, _ = m.str("name")
	u.Manager, line = m.str("manager")
	if u.Manager != "" {
		if u.Manager == id {
			p.addf(line, join(path, "manager"), "a user cannot be their own manager")
		} else {
			p.referKey(refUser, u.Manager, line, path, "manager")
		}
	}
	u.Department, _ = m.str("department")
	u.Title, _ = m.str("title")
	u.Location, _ = m.str("location")
	u.EmploymentType, _ = m.str("employment_type")
	u.StartDate = p.date(m, path, "start_date")
	u.EndDate = p.date(m, path, "end_date")
	if u.StartDate != "" && u.EndDate != "" && u.EndDate < u.StartDate {
		_, line := m.str("end_date")
		p.addf(line, join(path, "end_date"), "end_date %s is before start_date %s", u.EndDate, u.StartDate)
	}
	u.Status = m.enum("status", roster.UserActive, roster.UserActive, roster.UserDisabled)
	u.Role = m.enum("role", roster.RoleUser, roster.RoleUser, roster.RoleAdmin, roster.RoleAuditor)
	u.Kind = m.enum("kind", roster.UserPerson, roster.UserPerson, roster.UserService)
	u.Notify = m.enum("notify", roster.NotifyEmail, roster.NotifyEmail, roster.NotifySlack, roster.NotifyNone)
	if v := m.get("attributes"); v != nil {
		attrs, ok := p.mapping(v, join(path, "attributes"))
		if ok {
			u.Attributes = map[string]string{}
			for _, f := range attrs.fields() {
				k, an := f.key, p.deref(f.val)
				if isNull(an) {
					u.Attributes[k] = ""
					continue
				}
				if s, ok := p.scalarString(an, join(join(path, "attributes"), k)); ok {
					u.Attributes[k] = s
				}
			}
		}
	}
	return u, ok
}

// date returns key's value, a civil date in roster.DateLayout, or "" when
// absent.
func (p *parser) date(m *mapping, path, key string) string {
	var s string
	var line int
	if v := m.get(key); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!timestamp" {
		s, line = v.Value, v.Line // unquoted, as YAML writers leave dates
	} else {
		s, line = m.str(key)
	}
	if s == "" {
		return ""
	}
	if _, err := time.Parse(roster.DateLayout, s); err != nil {
		p.addf(line, join(path, key), "%q is not a date: write it as YYYY-MM-DD", s)
		return ""
	}
	return s
}

// app reads one entry of apps and its entitlements.
func (p *parser) app(n *yaml.Node, path string) (roster.App, []roster.Entitlement, bool) {
	m, ok := p.mapping(n, path, "id", "name", "owners", "entitlements")
	if !ok {
		return roster.App{}, nil, false
	}
	id, line, ok := p.id(m, "app", dottedID, dottedRule, p.apps)
	if id == roster.BuiltinApp {
		p.addf(line, join(path, "id"), "app id %q is reserved for the built-in app of access profiles", id)
	}
	app := roster.App{ID: id}
	app.Name, _ = m.str("name")
	if app.Name == "" {
		app.Name = id
	}
	owners := m.strList("owners")
	for _, it := range owners {
		p.refer(refUser, it.val, it.line, it.path)
	}
	app.Owners = values(owners)
	var ents []roster.Entitlement
	for i, en := range m.seq("entitlements") {
		if e, ok := p.entitlement(en, index(join(path, "entitlements"), i), id); ok {
			ents = append(ents, e)
		}
	}
	return app, ents, ok
}

// entitlement reads one entitlement of app.
func (p *parser) entitlement(n *yaml.Node, path, app string) (roster.Entitlement, bool) {
	m, ok := p.mapping(n, path, "id", "name", "request_policy", "revoke_policy", "provisioning", "provisioners", "risk")
	if !ok {
		return roster.Entitlement{}, false
	}
	var local string
	var line int
	if m.get("id") == nil {
		p.addf(m.line(), path, "missing id")
		ok = false
	} else {
		local, line = m.str("id")
		ok = local != ""
		if ok && !localEntID.MatchString(local) {
			p.addf(line, join(path, "id"), "invalid entitlement id %q: %s", local, localRule)
		}
	}
	e := roster.Entitlement{ID: roster.EntitlementID(app, local), App: app, Name: local}
	if ok && app != "" {
		if first, dup := p.ents[e.ID]; dup {
			p.addf(line, join(path, "id"), "duplicate entitlement %q (first declared at line %d)", e.ID, first)
		} else {
			p.ents[e.ID] = line
		}
	}
	if name, _ := m.str("name"); name != "" {
		e.Name = name
	}
	for _, key := range []string{"request_policy", "revoke_policy"} {
		v, line := m.str(key)
		if v != "" {
			p.referKey(refPolicy, v, line, path, key)
		}
		if key == "request_policy" {
			e.RequestPolicy = v
		} else {
			e.RevokePolicy = v
		}
	}
	e.Provisioning = m.enum("provisioning", roster.ProvisionAuto, roster.ProvisionAuto, roster.ProvisionManual, roster.ProvisionConnector)
	provisioners := m.strList("provisioners")
	if len(provisioners) > 0 && m.get("provisioning") != nil && e.Provisioning != roster.ProvisionManual {
		p.addf(m.get("provisioners").Line, join(path, "provisioners"), "provisioners are only used with provisioning: manual, not %s", e.Provisioning)
	} else if len(provisioners) > 0 && e.Provisioning != roster.ProvisionManual {
		p.addf(m.get("provisioners").Line, join(path, "provisioners"), "provisioners are only used with provisioning: manual (the default is auto)")
	}
	for _, it := range provisioners {
		p.refer(refUser, it.val, it.line, it.path)
	}
	e.Provisioners = values(provisioners)
	e.Risk = m.enum("risk", roster.RiskLow, roster.RiskLow, roster.RiskMedium, roster.RiskHigh)
	return e, ok && app != ""
}

// grant reads one entry of grants.
func (p *parser) grant(n *yaml.Node, path string) (roster.Grant, int, bool) {
	m, ok := p.mapping(n, path, "user", "entitlement")
	if !ok {
		return roster.Grant{}, 0, false
	}
	g := roster.Grant{Sources: []string{roster.SourceDirect}}
	var uline, eline int
	if v := m.get("user"); v == nil {
		p.addf(m.line(), path, "missing user")
		ok = false
	} else {
		g.User, uline = m.strOf(v, "user")
		if g.User != "" {
			p.referKey(refUser, g.User, uline, path, "user")
		}
	}
	if v := m.get("entitlement"); v == nil {
		p.addf(m.line(), path, "missing entitlement")
		ok = false
	} else {
		g.Entitlement, eline = m.strOf(v, "entitlement")
		if app, _, _ := roster.SplitEntitlementID(g.Entitlement); app == roster.BuiltinApp {
			p.addf(eline, join(path, "entitlement"), "%q cannot be granted directly: profile membership comes from enrollment", g.Entitlement)
		} else if g.Entitlement != "" {
			p.entitlementRefKey(g.Entitlement, eline, path, "entitlement")
		}
	}
	return g, m.line(), ok && g.User != "" && g.Entitlement != ""
}

// profile reads one entry of profiles.
func (p *parser) profile(n *yaml.Node, path string) (roster.Profile, bool) {
	m, ok := p.mapping(n, path, "id", "name", "description", "entitlements", "allow_enrollment_requests",
		"enrollment", "unenrollment", "automation")
	if !ok {
		return roster.Profile{}, false
	}
	rule := slugRule
	if s, _ := m.str("id"); strings.Contains(s, ".") {
		rule = `profile ids cannot contain "." (access-profiles/P.excluded is a profile's exclusion entitlement); ` + slugRule
	}
	id, _, ok := p.id(m, "profile", slugID, rule, p.profiles)
	prof := roster.Profile{ID: id}
	prof.Name, _ = m.str("name")
	if prof.Name == "" {
		prof.Name = id
	}
	prof.Description, _ = m.str("description")

	ents := m.strList("entitlements")
	for _, it := range ents {
		app, local, _ := roster.SplitEntitlementID(it.val)
		switch {
		case app == roster.BuiltinApp && id != "" && local == id:
			p.addf(it.line, it.path, "a profile cannot contain its own enrollment entitlement %q", it.val)
		case app == roster.BuiltinApp:
			p.addf(it.line, it.path, "a profile cannot contain %q: access-profiles entitlements come from enrollment (to key on another profile's members, use automation.any_entitlement)", it.val)
		default:
			p.entitlementRef(it)
		}
	}
	prof.Entitlements = values(ents)
	prof.AllowEnrollmentRequests = m.boolean("allow_enrollment_requests", false)

	if en, ok := p.mapping(m.get("enrollment"), join(path, "enrollment"), "policy", "bypass_entitlement_policies"); ok {
		prof.Enrollment.Policy = p.policyRef(en, "policy")
		prof.Enrollment.BypassEntitlementPolicies = en.boolean("bypass_entitlement_policies", false)
	}
	if un, ok := p.mapping(m.get("unenrollment"), join(path, "unenrollment"), "policy", "access", "bypass_entitlement_policies"); ok {
		prof.Unenrollment.Policy = p.policyRef(un, "policy")
		prof.Unenrollment.Access = un.enum("access", roster.AccessRevokeUnjustified,
			roster.AccessLeave, roster.AccessRevokeAll, roster.AccessRevokeUnjustified)
		prof.Unenrollment.BypassEntitlementPolicies = un.boolean("bypass_entitlement_policies", false)
	}
	prof.Automation = p.automation(m.get("automation"), join(path, "automation"), id)
	return prof, ok
}

// policyRef reads an optional policy reference under key.
func (p *parser) policyRef(m *mapping, key string) string {
	v, line := m.str(key)
	if v != "" {
		p.referKey(refPolicy, v, line, m.path, key)
	}
	return v
}

// automation reads a profile's automation; profile is the profile's id.
func (p *parser) automation(n *yaml.Node, path, profile string) roster.Automation {
	a := roster.Automation{
		Mode:           roster.ModeSyncAndAct,
		AnyEntitlement: []string{},
		ExcludedUsers:  []string{},
		Safeguard:      true,
	}
	m, ok := p.mapping(n, path, "enabled", "mode", "any_entitlement", "expression", "excluded_users", "exclusion_policy", "safeguard")
	if !ok {
		return a
	}
	a.Expression, a.Reads = p.expression(m, path, profile)
	a.Enabled = m.boolean("enabled", false)
	a.Mode = m.enum("mode", roster.ModeSyncAndAct, roster.ModeSyncMembersOnly, roster.ModeSyncAndAct)
	anyEnt := m.strList("any_entitlement")
	for _, it := range anyEnt {
		switch {
		case profile != "" && it.val == roster.EnrollmentEntitlement(profile):
			p.addf(it.line, it.path, "a profile's rule cannot key on its own membership %q", it.val)
		case profile != "" && it.val == roster.ExclusionEntitlement(profile):
			p.addf(it.line, it.path, "a profile's rule cannot key on its own exclusion entitlement %q", it.val)
		default:
			p.entitlementRef(it)
		}
	}
	a.AnyEntitlement = values(anyEnt)
	if raw := m.get("any_entitlement"); a.Enabled && a.Expression == "" && m.get("expression") == nil &&
		(raw == nil || raw.Kind == yaml.SequenceNode && len(raw.Content) == 0) {
		line := m.line()
		if raw != nil {
			line = raw.Line
		}
		p.addf(line, join(path, "any_entitlement"), "automation is enabled but names neither any_entitlement nor an expression: the rule would match nobody")
	}
	excluded := m.strList("excluded_users")
	for _, it := range excluded {
		p.refer(refUser, it.val, it.line, it.path)
	}
	a.ExcludedUsers = values(excluded)
	a.ExclusionPolicy = p.policyRef(m, "exclusion_policy")
	a.Safeguard = m.boolean("safeguard", true)
	return a
}

// entitlementRef checks the form of an "APP/ENT" reference and queues the
// check that it exists.
func (p *parser) entitlementRef(it item) {
	if _, _, ok := roster.SplitEntitlementID(it.val); !ok {
		p.addf(it.line, it.path, "%q is not an entitlement reference: write APP/ENT, for example %s", it.val, exampleEnt(it.val))
		return
	}
	p.refer(refEntitlement, it.val, it.line, it.path)
}

// entitlementRefKey is entitlementRef for the value of key under path,
// joined only when a problem or a queued check needs it.
func (p *parser) entitlementRefKey(id string, line int, path, key string) {
	if _, _, ok := roster.SplitEntitlementID(id); !ok {
		p.addf(line, join(path, key), "%q is not an entitlement reference: write APP/ENT, for example %s", id, exampleEnt(id))
		return
	}
	p.referKey(refEntitlement, id, line, path, key)
}

func exampleEnt(s string) string {
	if s != "" && !strings.Contains(s, "/") {
		return fmt.Sprintf("okta/%s", s)
	}
	return "okta/engineering"
}
