package difftest

// Random organisations and random steps, and the declarative documents that
// tell the engine about them.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// Known discrepancies between SPEC.md and the engine. Each constant keeps
// out of the random organisations and steps what would show the discrepancy
// on every run; turn it on once the engine is fixed (see doc.go and the
// report of issue 14). The first three were fixed on main while this test
// was written (the first two were known; the third it found too); the other
// five in the engine after it (branch difftest). All are on;
// TestDiscrepancies replays each in a few steps.
const (
	// exclusionPolicies: SPEC §2 runs an exclusion's task under the
	// profile's exclusion_policy (default auto), and a denied exclusion is
	// withdrawn (the user leaves excluded_users and the profile re-syncs).
	// Before the fix the engine ran the task under the tenant's default
	// request or revoke policy and left a denied exclusion in place. Off, the
	// tenant's default policies stay auto and no profile sets
	// exclusion_policy, so no exclusion task waits for a decision.
	exclusionPolicies = true

	// membersOnlySources: SPEC §1 makes a grant's profile:P sources exactly
	// the profiles the user is a member of, in either automation mode, that
	// contain the entitlement. Before the fix the engine left the source
	// alone when a sync_members_only profile added or removed a member. Off,
	// members-only profiles contain no entitlements.
	membersOnlySources = true

	// unenrollRefusal: SPEC §2 refuses (409) an admin's unenrollment of an
	// automation member whom the rule still matches, since the next sync
	// would enroll them again, unless they are excluded too (--exclude).
	// Before the fix the engine started the unenrollment. Off, no manual
	// unenrollment without --exclude targets such a member.
	unenrollRefusal = true

	// pendingRevokeSources: SPEC §1 makes a grant's profile:P sources exactly
	// the profiles the user is a member of that contain the entitlement, so
	// P's source goes when the user leaves P or P drops the entitlement, even
	// while the revoke task that revoke_all or revoke_unjustified started
	// waits for approval (the grant is then left with no source: direct).
	// The engine kept profile:P on the grant until the revoke was done, and
	// for good if it was denied; it now drops it when it starts the revoke.
	// While false, app entitlements' revoke policies are auto, so no such
	// revoke task waits.
	pendingRevokeSources = true

	// sharedRequests: SPEC §2 gives a member of P a grant task for each of
	// P's entitlements they lack. The engine does not start a second task
	// when one is open for the same access (that one "will do"), but when the
	// profile that started that task lost the user (unenrollment) or the
	// entitlement (contents), it cancelled the task, although the other
	// profile still wanted it: the user stayed a member of the other profile
	// without its access and nothing asked for it again. The task now passes
	// to the other profile (task.transferred). While false, an app
	// entitlement that needs approval to be granted is in one profile at a
	// time.
	sharedRequests = true

	// manualMemberUnenroll: SPEC §2 refuses an admin's unenrollment of an
	// *automation* member whom the rule still matches; of a manual member it
	// says nothing. The engine refuses it too, for any member the rule
	// matches (409, "unenroll with --exclude"): the next sync would enroll
	// them again, by the rule, the same trap. The model first let it start;
	// it now agrees with the engine (docs/reference.md says so). While
	// false, no manual unenrollment without --exclude targets a manual
	// member whom the enabled rule matches.
	manualMemberUnenroll = true

	// excludedOrder: excluded_users is a set, so saving a profile whose
	// excluded users are the same in another order is no edit of its
	// automation. The engine took it for one: it synced the profile and, if
	// paused, discarded the staged plan and lifted the pause. It now stores
	// the list sorted after an apply too, as after unenroll --exclude.
	// While false, the profiles' files list excluded users sorted.
	excludedOrder = true

	// lateGrantSources: SPEC §1 makes a grant's profile:P sources exactly
	// the profiles the user is a member of that contain the entitlement. A
	// sync_members_only profile removes a member directly and leaves their
	// open grant tasks for its entitlements open (no tasks, no access
	// changes); when such a task was approved later, the engine recorded
	// profile:P on the new grant although the user was no longer a member of
	// P (the model: no profile source, so direct); it now gives the grant
	// the sources of the user's profiles at that moment. While false, members-only
	// profiles contain only entitlements granted without approval, and a
	// profile turns members-only only when none of its grant requests is
	// open.
	lateGrantSources = true

	// attributeRules: SPEC §5 Rules on attributes. Profiles' rules are an
	// expression on the user's department and grants, alone or beside
	// any_entitlement, and workers move between departments. While false,
	// rules name entitlements only and nobody has a department.
	attributeRules = true
)

// genOrg makes a small organisation: 5–10 workers under two bosses, two rule
// entitlements, three or four app entitlements with auto or manager
// policies, and two to four profiles.
func genOrg(r *rand.Rand) *org {
	o := &org{manager: map[string]string{}, dept: map[string]string{}, ruleEnts: []string{"hr/r1", "hr/r2"}, bosses: []string{"b1", "b2"},
		defaultPolicy: policyAuto, minMembers: 1 + r.IntN(4), maxPercent: 10 + 5*r.IntN(9)}
	for i := range 5 + r.IntN(6) {
		w := fmt.Sprintf("w%02d", i+1)
		o.workers = append(o.workers, w)
		if r.IntN(8) > 0 {
			o.manager[w] = o.bosses[r.IntN(2)]
		}
		if attributeRules {
			o.dept[w] = departments[r.IntN(len(departments))]
		}
	}
	pol := func() string { return pol(r) }
	for i := range 3 + r.IntN(2) {
		e := appEnt{id: fmt.Sprintf("app/a%d", i+1), request: pol(), revoke: pol()}
		if !pendingRevokeSources {
			e.revoke = policyAuto
		}
		o.appEnts = append(o.appEnts, e)
	}
	if exclusionPolicies {
		o.defaultPolicy = pol()
	}
	for i := range 2 + r.IntN(3) {
		p := &profile{id: fmt.Sprintf("p%d", i+1), enrollPolicy: pol(), enrollBypass: r.IntN(2) == 0,
			unenrollPolicy: pol(), unenrollBypass: r.IntN(2) == 0, access: accesses[r.IntN(3)],
			enabled: r.IntN(8) > 0, mode: roster.ModeSyncAndAct, safeguard: r.IntN(4) > 0}
		if r.IntN(4) == 0 {
			p.mode = roster.ModeSyncMembersOnly
		}
		p.allowRequests = r.IntN(2) == 0
		p.excludedAsSaved = excludedOrder
		if exclusionPolicies {
			p.exclusionPolicy = []string{"", policyAuto, policyManager}[r.IntN(3)]
		}
		p.rule = []string{o.ruleEnts[r.IntN(2)]}
		if r.IntN(4) == 0 {
			p.rule = slices.Clone(o.ruleEnts)
		}
		p.rule, p.expr = withExpression(r, p.rule)
		if p.mode == roster.ModeSyncAndAct || membersOnlySources {
			for _, e := range o.appEnts {
				if r.IntN(2) == 0 && o.mayAdd(p, e.id) {
					p.ents = append(p.ents, e.id)
				}
			}
		}
		if r.IntN(3) == 0 {
			p.excluded = []string{o.workers[r.IntN(len(o.workers))]}
		}
		o.profiles = append(o.profiles, p)
	}
	for _, u := range o.users() {
		for _, e := range o.ruleEnts {
			if r.IntN(2) == 0 {
				o.initial = append(o.initial, [2]string{u, e})
			}
		}
		for _, e := range o.appEnts {
			if r.IntN(6) == 0 {
				o.initial = append(o.initial, [2]string{u, e.id})
			}
		}
	}
	return o
}

// mayTurnMembersOnly reports whether p may turn sync_members_only while
// lateGrantSources is off: it contains only entitlements granted without
// approval, and none of its grant requests is open.
func (m *model) mayTurnMembersOnly(p *profile) bool {
	for _, e := range p.ents {
		if m.org.appEnt(e).request != policyAuto {
			return false
		}
	}
	for _, t := range m.tasks {
		if t.state.Open() && t.kind == roster.TaskGrant && t.profile == p.id &&
			(t.origin == roster.OriginEnrollment || t.origin == roster.OriginProfileContent) {
			return false
		}
	}
	return true
}

// withExpression gives a rule on entitlements an expression now and then:
// in place of the entitlements (one in four) or beside them (one in four).
func withExpression(r *rand.Rand, rule []string) ([]string, string) {
	if !attributeRules {
		return rule, ""
	}
	expr := expressions[r.IntN(len(expressions))]
	switch r.IntN(4) {
	case 0:
		return nil, expr
	case 1:
		return rule, expr
	}
	return rule, ""
}

// pol picks auto or manager.
func pol(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return policyAuto
	}
	return policyManager
}

// accesses are the unenrollment access settings.
var accesses = []string{roster.AccessLeave, roster.AccessRevokeAll, roster.AccessRevokeUnjustified}

// mayAdd reports whether e may go into p: a members-only profile holds no
// entitlements (membersOnlySources), and an entitlement that needs approval
// is in one profile at a time (sharedRequests).
func (o *org) mayAdd(p *profile, e string) bool {
	if p.contains(e) || (p.mode == roster.ModeSyncMembersOnly && !membersOnlySources) {
		return false
	}
	if p.mode == roster.ModeSyncMembersOnly && !lateGrantSources && o.appEnt(e).request != policyAuto {
		return false
	}
	if sharedRequests || o.appEnt(e).request == policyAuto {
		return true
	}
	for _, q := range o.profiles {
		if q != p && q.contains(e) {
			return false
		}
	}
	return true
}

// document is the organisation's declarative file.
func (o *org) document() string {
	var b strings.Builder
	fmt.Fprintf(&b, "settings:\n  default_request_policy: %s\n  default_revoke_policy: %s\n  safeguard: {min_members: %d, max_removal_percent: %d}\n",
		o.defaultPolicy, o.defaultPolicy, o.minMembers, o.maxPercent)
	b.WriteString("policies:\n  - {id: auto, steps: []}\n  - {id: manager, steps: [{approvers: manager}]}\n")
	b.WriteString("users:\n")
	for _, u := range o.users() {
		b.WriteString("  - " + o.userDoc(u, true) + "\n")
	}
	b.WriteString("apps:\n  - id: hr\n    owners: [b1]\n    entitlements:\n")
	for _, e := range o.ruleEnts {
		fmt.Fprintf(&b, "      - {id: %s, request_policy: auto, revoke_policy: auto}\n", strings.TrimPrefix(e, "hr/"))
	}
	b.WriteString("  - id: app\n    owners: [b1]\n    entitlements:\n")
	for _, e := range o.appEnts {
		fmt.Fprintf(&b, "      - {id: %s, request_policy: %s, revoke_policy: %s}\n", strings.TrimPrefix(e.id, "app/"), e.request, e.revoke)
	}
	if len(o.initial) > 0 {
		b.WriteString("grants:\n")
		for _, g := range o.initial {
			fmt.Fprintf(&b, "  - {user: %s, entitlement: %s}\n", g[0], g[1])
		}
	}
	b.WriteString("profiles:\n")
	for _, p := range o.profiles {
		b.WriteString(p.doc())
	}
	return b.String()
}

func (o *org) userDoc(u string, active bool) string {
	status := roster.UserActive
	if !active {
		status = roster.UserDisabled
	}
	mgr := ""
	if m := o.manager[u]; m != "" {
		mgr = ", manager: " + m
	}
	dept := ""
	if d := o.dept[u]; d != "" {
		dept = ", department: " + d
	}
	return fmt.Sprintf("{id: %s, email: %s@example.com, name: %s%s%s, status: %s}", u, u, strings.ToUpper(u), mgr, dept, status)
}

// doc is the profile's entry in a declarative file.
func (p *profile) doc() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n    name: Profile %s\n    entitlements: [%s]\n    allow_enrollment_requests: %t\n", p.id, p.id, strings.Join(p.ents, ", "), p.allowRequests)
	fmt.Fprintf(&b, "    enrollment: {policy: %s, bypass_entitlement_policies: %t}\n", p.enrollPolicy, p.enrollBypass)
	fmt.Fprintf(&b, "    unenrollment: {policy: %s, access: %s, bypass_entitlement_policies: %t}\n", p.unenrollPolicy, p.access, p.unenrollBypass)
	excluded := p.excluded
	if !p.excludedAsSaved {
		excluded = slices.Sorted(slices.Values(excluded))
	}
	policy := ""
	if p.exclusionPolicy != "" {
		policy = ", exclusion_policy: " + p.exclusionPolicy
	}
	if p.expr != "" {
		policy += ", expression: '" + p.expr + "'"
	}
	fmt.Fprintf(&b, "    automation: {enabled: %t, mode: %s, any_entitlement: [%s], excluded_users: [%s]%s, safeguard: %t}\n",
		p.enabled, p.mode, strings.Join(p.rule, ", "), strings.Join(excluded, ", "), policy, p.safeguard)
	return b.String()
}

// Step kinds.
const (
	opGrant         = "grant"          // AddGrant(user, ent)
	opRevoke        = "revoke-grant"   // RemoveGrant(user, ent)
	opDisable       = "disable"        // apply the user, disabled
	opEnable        = "enable"         // apply the user, active
	opExclude       = "exclude"        // apply the profile with user excluded
	opInclude       = "include"        // apply the profile without user excluded
	opAddContent    = "add-content"    // apply the profile with ent added
	opRemoveContent = "remove-content" // apply the profile without ent
	opEnroll        = "enroll"         // Enroll(profile, user)
	opUnenroll      = "unenroll"       // Unenroll(profile, user), with exclude when Exclude
	opApprove       = "approve"        // ApproveTask of the open task (kind, user, ent)
	opDeny          = "deny"           // DenyTask of the open task (kind, user, ent)
	opSync          = "sync"           // Sync(profile)
	opSyncAll       = "sync-all"       // SyncAll
	opResume        = "resume"         // Resume(profile)
	opTime          = "time"           // the clock moves Minutes on
	opRequest       = "request"        // RequestProfile(profile) as user
	opSettings      = "settings"       // apply the safeguard thresholds Minutes (min_members) and Percent
	opConfig        = "configure"      // apply the profile with the enrollment and unenrollment settings of Config
	opAutomation    = "automation"     // apply the profile with the automation of Config
	opKillSwitch    = "automations"    // apply settings.automations_enabled: On
	opDepartment    = "department"     // apply the user with department Dept
)

// step is one random step. It names what it acts on, never an id, so that
// a shrunk list still makes sense: a step whose object is gone is skipped.
type step struct {
	Op      string
	User    string
	Ent     string
	Profile string
	Kind    roster.TaskKind
	Minutes int
	// Exclude asks an unenrollment to exclude the user from the rule too.
	Exclude bool
	// Percent is the max_removal_percent a settings step applies.
	Percent int
	// On is what the kill switch step sets automations_enabled to.
	On bool
	// Dept is the department a department step moves the user to.
	Dept string
	// Actor, on a decision, is who tries it instead of the approver.
	Actor string
	// Config holds the settings a configure or automation step gives the
	// profile (only those the step changes are read).
	Config *profile
}

func (s step) String() string {
	parts := []string{s.Op}
	for _, x := range []string{s.Profile, string(s.Kind), s.User, s.Ent} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	if s.Minutes > 0 {
		parts = append(parts, fmt.Sprintf("+%dm", s.Minutes))
	}
	if s.Exclude {
		parts = append(parts, "--exclude")
	}
	if s.Actor != "" {
		parts = append(parts, "by "+s.Actor)
	}
	if s.Op == opKillSwitch {
		parts = append(parts, fmt.Sprintf("enabled %t", s.On))
	}
	if s.Op == opDepartment {
		parts = append(parts, fmt.Sprintf("to %q", s.Dept))
	}
	if s.Op == opSettings {
		parts = []string{s.Op, fmt.Sprintf("min_members %d max_removal_percent %d", s.Minutes, s.Percent)}
	}
	if c := s.Config; c != nil && s.Op == opConfig {
		parts = append(parts, fmt.Sprintf("enrollment {%s bypass %t} unenrollment {%s %s bypass %t}", c.enrollPolicy, c.enrollBypass, c.unenrollPolicy, c.access, c.unenrollBypass))
	}
	if c := s.Config; c != nil && s.Op == opAutomation {
		parts = append(parts, fmt.Sprintf("{enabled %t, mode %s, rule %v, expression %q, safeguard %t, exclusion_policy %q}", c.enabled, c.mode, c.rule, c.expr, c.safeguard, c.exclusionPolicy))
	}
	return strings.Join(parts, " ")
}

// genStep picks a step that suits the model's state: mostly steps that do
// something, sometimes ones the engine must refuse.
func genStep(r *rand.Rand, m *model) step {
	o := m.org
	users := o.users()
	anyUser := func() string { return users[r.IntN(len(users))] }
	worker := func() string { return o.workers[r.IntN(len(o.workers))] }
	prof := func() *profile { return o.profiles[r.IntN(len(o.profiles))] }
	// The kill switch stays off for a dozen steps or so.
	if o.automationsOff && r.IntN(12) == 0 {
		return step{Op: opKillSwitch, On: true}
	}
	for {
		switch n := r.IntN(117); {
		case n < 16:
			return step{Op: opGrant, User: anyUser(), Ent: o.ruleEnts[r.IntN(len(o.ruleEnts))]}
		case n < 19:
			if r.IntN(10) == 0 {
				return step{Op: opGrant, User: anyUser(), Ent: roster.EnrollmentEntitlement(prof().id)}
			}
			return step{Op: opGrant, User: anyUser(), Ent: o.appEnts[r.IntN(len(o.appEnts))].id}
		case n < 31:
			var held []gkey
			for k := range m.grants {
				if !strings.HasPrefix(k.ent, roster.BuiltinApp+"/") {
					held = append(held, k)
				}
			}
			if len(held) == 0 || r.IntN(10) == 0 {
				return step{Op: opRevoke, User: anyUser(), Ent: o.ruleEnts[r.IntN(len(o.ruleEnts))]}
			}
			slices.SortFunc(held, func(a, b gkey) int { return strings.Compare(a.user+" "+a.ent, b.user+" "+b.ent) })
			k := held[r.IntN(len(held))]
			return step{Op: opRevoke, User: k.user, Ent: k.ent}
		case n < 35:
			return step{Op: opDisable, User: worker()}
		case n < 39:
			return step{Op: opEnable, User: worker()}
		case n < 43:
			return step{Op: opExclude, Profile: prof().id, User: worker()}
		case n < 47:
			p := prof()
			if len(p.excluded) == 0 {
				continue
			}
			return step{Op: opInclude, Profile: p.id, User: p.excluded[r.IntN(len(p.excluded))]}
		case n < 50:
			p, e := prof(), o.appEnts[r.IntN(len(o.appEnts))].id
			if !o.mayAdd(p, e) {
				continue
			}
			return step{Op: opAddContent, Profile: p.id, Ent: e}
		case n < 53:
			p := prof()
			if len(p.ents) == 0 {
				continue
			}
			return step{Op: opRemoveContent, Profile: p.id, Ent: p.ents[r.IntN(len(p.ents))]}
		case n < 58:
			return step{Op: opEnroll, Profile: prof().id, User: anyUser()}
		case n < 63:
			p := prof()
			ms := m.sortedMembers(p.id)
			u := anyUser()
			if len(ms) > 0 && r.IntN(8) > 0 {
				u = ms[r.IntN(len(ms))]
			}
			exclude := r.IntN(3) == 0
			src, member := m.members[p.id][u]
			if !exclude && member && p.enabled && m.matches(p, u) &&
				((!unenrollRefusal && src == roster.MemberAutomation) || (!manualMemberUnenroll && src == roster.MemberManual)) {
				continue
			}
			return step{Op: opUnenroll, Profile: p.id, User: u, Exclude: exclude}
		case n < 81:
			var open []*mtask
			for _, t := range m.tasks {
				if t.state.Open() {
					open = append(open, t)
				}
			}
			if len(open) == 0 {
				continue
			}
			t := open[r.IntN(len(open))]
			op := opApprove
			if n >= 75 {
				op = opDeny
			}
			s := step{Op: op, Kind: t.kind, User: t.user, Ent: t.ent}
			// Now and then someone else tries: the subject, or anyone.
			if r.IntN(8) == 0 {
				s.Actor = t.user
				if r.IntN(2) == 0 {
					s.Actor = anyUser()
				}
				if s.Actor == t.approver {
					continue
				}
			}
			return s
		case n < 92:
			return step{Op: opSync, Profile: prof().id}
		case n < 94:
			return step{Op: opSyncAll}
		case n < 97:
			var paused []string
			for _, p := range o.profiles {
				if m.paused[p.id] != nil {
					paused = append(paused, p.id)
				}
			}
			if len(paused) == 0 {
				continue
			}
			return step{Op: opResume, Profile: paused[r.IntN(len(paused))]}
		case n < 100:
			return step{Op: opRequest, Profile: prof().id, User: anyUser()}
		case n < 101:
			return step{Op: opSettings, Minutes: 1 + r.IntN(4), Percent: 10 + 5*r.IntN(9)}
		case n < 103:
			c := *prof()
			c.enrollPolicy, c.enrollBypass = pol(r), r.IntN(2) == 0
			c.unenrollPolicy, c.unenrollBypass = pol(r), r.IntN(2) == 0
			c.access = accesses[r.IntN(3)]
			return step{Op: opConfig, Profile: c.id, Config: &c}
		case n < 106:
			c := *prof()
			switch r.IntN(5) {
			case 0:
				c.enabled = !c.enabled
			case 1:
				if c.mode == roster.ModeSyncAndAct && (membersOnlySources || len(c.ents) == 0) && (lateGrantSources || m.mayTurnMembersOnly(&c)) {
					c.mode = roster.ModeSyncMembersOnly
				} else {
					c.mode = roster.ModeSyncAndAct
				}
			case 2:
				c.rule, c.expr = withExpression(r, []string{o.ruleEnts[r.IntN(len(o.ruleEnts))]})
			case 3:
				c.safeguard = !c.safeguard
			default:
				if exclusionPolicies {
					c.exclusionPolicy = []string{"", policyAuto, policyManager}[r.IntN(3)]
				}
			}
			return step{Op: opAutomation, Profile: c.id, Config: &c}
		case n < 110:
			if o.automationsOff {
				continue
			}
			return step{Op: opKillSwitch, On: false}
		case n < 113:
			// 17 and 45 minutes: no sum of them is exactly the safeguard's
			// hour, so no removal sits on the window's edge.
			return step{Op: opTime, Minutes: []int{17, 45}[r.IntN(2)]}
		case n < 117:
			if !attributeRules {
				continue
			}
			return step{Op: opDepartment, User: worker(), Dept: departments[r.IntN(len(departments))]}
		}
	}
}
