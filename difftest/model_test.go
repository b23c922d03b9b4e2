package difftest

// The reference model: SPEC.md §1–2 written out over plain maps, with no code
// shared with the engine or the root package's planner. Only the root
// package's constants are used, to name things as the engine does.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Policies the organisations use: approved at once, or by the subject's
// manager (the admin when the subject has none).
const (
	policyAuto    = "auto"
	policyManager = "manager"
)

// appEnt is an entitlement of the organisation's app, with its policies.
type appEnt struct {
	id              string
	request, revoke string
}

// profile is a profile's configuration; ents and excluded change with steps.
type profile struct {
	id   string
	ents []string
	rule []string
	// expr is the rule's CEL expression, one of expressions ("" for none).
	expr           string
	enrollPolicy   string
	enrollBypass   bool
	unenrollPolicy string
	unenrollBypass bool
	access         string
	enabled        bool
	mode           string
	excluded       []string
	safeguard      bool
	allowRequests  bool
	// excludedAsSaved writes the excluded users in the order they were
	// added, not sorted (see excludedOrder).
	excludedAsSaved bool
	// exclusionPolicy is empty when the profile sets none.
	exclusionPolicy string
}

func (p *profile) contains(e string) bool { return slices.Contains(p.ents, e) }

// runs reports whether p's automation may sync: enabled, and the tenant's
// kill switch off.
func (o *org) runs(p *profile) bool { return p.enabled && !o.automationsOff }

// exclusionTaskPolicy is the policy an exclusion's record runs under: the
// profile's exclusion_policy, auto when unset (SPEC §2 Automation).
func (p *profile) exclusionTaskPolicy() string {
	if p.exclusionPolicy == "" {
		return policyAuto
	}
	return p.exclusionPolicy
}

// org is a generated organisation: who, what, and how the profiles are set.
type org struct {
	workers  []string
	bosses   []string
	manager  map[string]string
	ruleEnts []string
	appEnts  []appEnt
	profiles []*profile
	// defaultPolicy is the tenant's default request and revoke policy.
	defaultPolicy string
	minMembers    int
	maxPercent    int
	// initial lists the grants the organisation starts with (direct).
	initial [][2]string
	// automationsOff is the tenant's kill switch
	// (settings.automations_enabled: false).
	automationsOff bool
	// dept is each worker's department as last applied ("" for none).
	dept map[string]string
}

func (o *org) users() []string { return append(slices.Clone(o.bosses), o.workers...) }

func (o *org) appEnt(id string) appEnt {
	for _, e := range o.appEnts {
		if e.id == id {
			return e
		}
	}
	return appEnt{id: id, request: policyAuto, revoke: policyAuto} // rule entitlements
}

func (o *org) profile(id string) *profile {
	for _, p := range o.profiles {
		if p.id == id {
			return p
		}
	}
	return nil
}

// clone copies the organisation, so that a replay starts from its first state.
func (o *org) clone() *org {
	c := *o
	c.dept = maps.Clone(o.dept)
	c.profiles = nil
	for _, p := range o.profiles {
		q := *p
		q.ents, q.rule, q.excluded = slices.Clone(p.ents), slices.Clone(p.rule), slices.Clone(p.excluded)
		c.profiles = append(c.profiles, &q)
	}
	return &c
}

type gkey struct{ user, ent string }

// mtask is a task as the model knows it.
type mtask struct {
	id     int
	kind   roster.TaskKind
	user   string
	ent    string
	state  roster.TaskState
	origin roster.Origin
	// profile is the profile the task is for; a profile's request for its
	// access passes to another profile when it no longer gives it (withdraw).
	profile  string
	approver string
}

type dkey struct {
	profile, user string
	kind          roster.TaskKind
}

// staged is a paused profile's staged plan.
type staged struct{ enroll, unenroll []string }

// model is the state the spec says the organisation is in.
type model struct {
	org    *org
	active map[string]bool
	// grants holds every grant but the enrollment ones (membership is in
	// members); the value is whether the grant has the direct source.
	grants  map[gkey]bool
	members map[string]map[string]roster.MemberSource
	tasks   []*mtask
	denials map[dkey]bool
	paused  map[string]*staged
	// removals are the times automation removed someone from a profile.
	removals map[string][]time.Time
	now      time.Time
}

func newModel(o *org, now time.Time) *model {
	m := &model{org: o, active: map[string]bool{}, grants: map[gkey]bool{}, members: map[string]map[string]roster.MemberSource{},
		denials: map[dkey]bool{}, paused: map[string]*staged{}, removals: map[string][]time.Time{}, now: now}
	for _, u := range o.users() {
		m.active[u] = true
	}
	for _, p := range o.profiles {
		m.members[p.id] = map[string]roster.MemberSource{}
	}
	return m
}

// --- reads ---

func (m *model) member(p, u string) bool { _, ok := m.members[p][u]; return ok }

func (m *model) holds(u, e string) bool { _, ok := m.grants[gkey{u, e}]; return ok }

// matches is the rule (SPEC §5 Rules on attributes): active, not excluded,
// holding any of the rule's entitlements when it names some, and its
// expression true when it has one.
func (m *model) matches(p *profile, u string) bool {
	if !m.active[u] || slices.Contains(p.excluded, u) {
		return false
	}
	if len(p.rule) > 0 && !slices.ContainsFunc(p.rule, func(e string) bool { return m.holds(u, e) }) {
		return false
	}
	return p.expr == "" || m.eval(p.expr, u)
}

// expressions are the CEL rules the organisations use; eval says what each
// is for a user, written out by hand.
var expressions = []string{
	`user.department == "eng"`,
	`user.department != "ops" && user.id.startsWith("w")`, // not the engine's admin
	`user.department in ["eng", "ops"] && user.has("hr/r2")`,
	`user.has("hr/r1") || user.department == "sales"`,
}

// departments are what workers' departments are drawn from ("" for none).
var departments = []string{"eng", "ops", "sales", ""}

func (m *model) eval(expr, u string) bool {
	d := m.org.dept[u]
	switch expr {
	case expressions[0]:
		return d == "eng"
	case expressions[1]:
		return d != "ops" && strings.HasPrefix(u, "w")
	case expressions[2]:
		return (d == "eng" || d == "ops") && m.holds(u, "hr/r2")
	case expressions[3]:
		return m.holds(u, "hr/r1") || d == "sales"
	}
	panic("no such expression: " + expr)
}

func (m *model) open(kind roster.TaskKind, u, e string) *mtask {
	for _, t := range m.tasks {
		if t.kind == kind && t.user == u && t.ent == e && t.state.Open() {
			return t
		}
	}
	return nil
}

// sources are a grant's sources: profile:Q for every profile Q the user is
// a member of that contains it (SPEC §1: level-based), and direct.
func (m *model) sources(u, e string) []string {
	var out []string
	if m.grants[gkey{u, e}] {
		out = append(out, roster.SourceDirect)
	}
	for _, p := range m.org.profiles {
		if m.member(p.id, u) && p.contains(e) {
			out = append(out, roster.ProfileSource(p.id))
		}
	}
	sort.Strings(out)
	return out
}

// normalize gives the direct source to every grant left with none (SPEC §2:
// a grant left with no source counts as direct). It runs after every change
// of memberships or contents.
func (m *model) normalize() {
	for k, direct := range m.grants {
		if !direct && !strings.HasPrefix(k.ent, roster.BuiltinApp+"/") && len(m.sources(k.user, k.ent)) == 0 {
			m.grants[k] = true
		}
	}
}

// approverOf is who decides a task under policy manager: the subject's
// manager, or the admins when there is none (SPEC §1 policy).
func (m *model) approverOf(u string) string {
	if mgr := m.org.manager[u]; mgr != "" && mgr != u && m.active[mgr] {
		return mgr
	}
	return roster.AdminUser
}

// --- the task workflow ---

// createTask starts a task unless one is open for the same access, in which
// case that one will do.
func (m *model) createTask(kind roster.TaskKind, u, e string, origin roster.Origin, p, policy string) {
	if t := m.open(kind, u, e); t != nil {
		return
	}
	t := &mtask{id: len(m.tasks) + 1, kind: kind, user: u, ent: e, state: roster.StatePendingApproval, origin: origin, profile: p}
	m.tasks = append(m.tasks, t)
	if policy == policyAuto {
		m.done(t)
		return
	}
	t.approver = m.approverOf(u)
}

func (m *model) cancel(t *mtask) { t.state = roster.StateCancelled }

// done completes a task and carries out its effect.
func (m *model) done(t *mtask) {
	t.state = roster.StateDone
	switch {
	case t.ent == roster.EnrollmentEntitlement(t.profile) && t.kind == roster.TaskGrant:
		m.enrolled(t)
	case t.ent == roster.EnrollmentEntitlement(t.profile):
		m.unenrolled(t)
	case t.kind == roster.TaskGrant:
		if _, ok := m.grants[gkey{t.user, t.ent}]; !ok {
			m.grants[gkey{t.user, t.ent}] = false
			m.normalize()
		}
	default:
		delete(m.grants, gkey{t.user, t.ent})
	}
}

func (m *model) policyFor(kind roster.TaskKind, e string, bypass bool) string {
	if bypass {
		return policyAuto
	}
	if kind == roster.TaskGrant {
		return m.org.appEnt(e).request
	}
	return m.org.appEnt(e).revoke
}

// enrolled: the user becomes a member and gets the profile's access
// (SPEC §2 Enrollment).
func (m *model) enrolled(t *mtask) {
	p := m.org.profile(t.profile)
	src := roster.MemberManual
	if t.origin == roster.OriginAutomation {
		src = roster.MemberAutomation
	}
	m.addMember(p, t.user, src)
	for _, e := range p.ents {
		if !m.holds(t.user, e) {
			m.createTask(roster.TaskGrant, t.user, e, roster.OriginEnrollment, p.id, m.policyFor(roster.TaskGrant, e, p.enrollBypass))
		}
	}
}

func (m *model) addMember(p *profile, u string, src roster.MemberSource) {
	m.members[p.id][u] = src
	m.normalize()
}

func (m *model) removeMember(p *profile, u string) {
	delete(m.members[p.id], u)
	m.normalize()
}

// unenrolled: the user is removed and the access setting applied
// (SPEC §2 Unenrollment).
func (m *model) unenrolled(t *mtask) {
	p := m.org.profile(t.profile)
	m.withdraw(p, t.user, p.ents, roster.OriginUnenrollment, p.unenrollBypass, func() { m.removeMember(p, t.user) })
}

// withdraw applies p's access setting to ents for user, whom p no longer
// justifies them for; drop takes p's source off (ends the membership, or
// takes the entitlements out of p). An open request p made for one of them
// (enrollment or new contents) passes to another profile the user is a
// member of that contains it, the first by id, or is withdrawn when there
// is none.
func (m *model) withdraw(p *profile, u string, ents []string, origin roster.Origin, bypass bool, drop func()) {
	var revoke []string
	for _, e := range ents {
		if t := m.open(roster.TaskGrant, u, e); t != nil && t.profile == p.id &&
			(t.origin == roster.OriginEnrollment || t.origin == roster.OriginProfileContent) {
			t.profile = ""
			for _, q := range m.org.profiles {
				if q.id != p.id && m.member(q.id, u) && q.contains(e) && (t.profile == "" || q.id < t.profile) {
					t.profile = q.id
				}
			}
			if t.profile == "" {
				m.cancel(t)
			}
		}
		direct, ok := m.grants[gkey{u, e}]
		if !ok || direct {
			continue
		}
		switch p.access {
		case roster.AccessRevokeAll:
			revoke = append(revoke, e)
		case roster.AccessRevokeUnjustified:
			justified := false
			for _, q := range m.org.profiles {
				if q.id != p.id && m.member(q.id, u) && q.contains(e) {
					justified = true
				}
			}
			if !justified {
				revoke = append(revoke, e)
			}
		}
	}
	drop()
	for _, e := range revoke {
		m.createTask(roster.TaskRevoke, u, e, origin, p.id, m.policyFor(roster.TaskRevoke, e, bypass))
	}
}

// --- sync ---

type plan struct {
	enroll, unenroll []string
	cancel           []*mtask
	clear            []dkey
}

func (m *model) plan(p *profile) plan {
	var pl plan
	for _, d := range sortedDenials(m.denials) {
		if d.profile != p.id {
			continue
		}
		match := m.matches(p, d.user)
		if (d.kind == roster.TaskGrant && !match) || (d.kind == roster.TaskRevoke && (match || !m.member(p.id, d.user))) {
			pl.clear = append(pl.clear, d)
		}
	}
	stands := func(u string, k roster.TaskKind) bool {
		d := dkey{p.id, u, k}
		return m.denials[d] && !slices.Contains(pl.clear, d)
	}
	enrollEnt := roster.EnrollmentEntitlement(p.id)
	for _, u := range m.org.users() {
		match := m.matches(p, u)
		src, member := m.members[p.id][u]
		switch {
		case match && !member && m.open(roster.TaskGrant, u, enrollEnt) == nil && !stands(u, roster.TaskGrant):
			pl.enroll = append(pl.enroll, u)
		case !match && member && (src == roster.MemberAutomation || !m.active[u]) &&
			m.open(roster.TaskRevoke, u, enrollEnt) == nil && !stands(u, roster.TaskRevoke):
			pl.unenroll = append(pl.unenroll, u)
		}
		if t := m.open(roster.TaskGrant, u, enrollEnt); t != nil && (!m.active[u] || (t.origin == roster.OriginAutomation && !match)) {
			pl.cancel = append(pl.cancel, t)
		}
		if t := m.open(roster.TaskRevoke, u, enrollEnt); t != nil && t.origin == roster.OriginAutomation && match {
			pl.cancel = append(pl.cancel, t)
		}
	}
	sort.Strings(pl.enroll)
	sort.Strings(pl.unenroll)
	return pl
}

func sortedDenials(ds map[dkey]bool) []dkey {
	var out []dkey
	for d := range ds {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// recent counts the removals automation made from p in the past hour.
func (m *model) recent(p string) int {
	n := 0
	for _, at := range m.removals[p] {
		if at.After(m.now.Add(-time.Hour)) {
			n++
		}
	}
	return n
}

// syncResult is what a sync reports.
type syncResult struct {
	enrolled, unenrolled []string
	paused               bool
}

// sync syncs p (SPEC §2 Sync and Safeguard); the caller checked it may.
func (m *model) sync(p *profile) syncResult {
	if m.paused[p.id] != nil {
		return syncResult{paused: true}
	}
	pl := m.plan(p)
	members := len(m.members[p.id])
	if p.safeguard && members > m.org.minMembers && len(pl.unenroll) > 0 &&
		(len(pl.unenroll)+m.recent(p.id))*100 > m.org.maxPercent*members {
		m.paused[p.id] = &staged{enroll: pl.enroll, unenroll: pl.unenroll}
		return syncResult{paused: true}
	}
	m.apply(p, pl)
	return syncResult{enrolled: pl.enroll, unenrolled: pl.unenroll}
}

func (m *model) apply(p *profile, pl plan) {
	for _, t := range pl.cancel {
		m.cancel(t)
	}
	for _, d := range pl.clear {
		delete(m.denials, d)
	}
	enrollEnt := roster.EnrollmentEntitlement(p.id)
	for _, u := range pl.enroll {
		if p.mode == roster.ModeSyncMembersOnly {
			m.addMember(p, u, roster.MemberAutomation)
		} else {
			m.createTask(roster.TaskGrant, u, enrollEnt, roster.OriginAutomation, p.id, p.enrollPolicy)
		}
	}
	for _, u := range pl.unenroll {
		if p.mode == roster.ModeSyncMembersOnly {
			m.removeMember(p, u)
		} else {
			m.createTask(roster.TaskRevoke, u, enrollEnt, roster.OriginAutomation, p.id, p.unenrollPolicy)
		}
		m.removals[p.id] = append(m.removals[p.id], m.now)
	}
}

// resume applies what still holds of a paused profile's staged plan.
func (m *model) resume(p *profile) syncResult {
	st := m.paused[p.id]
	delete(m.paused, p.id)
	pl := m.plan(p)
	pl.enroll = intersect(pl.enroll, st.enroll)
	pl.unenroll = intersect(pl.unenroll, st.unenroll)
	m.apply(p, pl)
	return syncResult{enrolled: pl.enroll, unenrolled: pl.unenroll}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// --- changes of configuration ---

// automationSaved is what saving a profile's automation sets off: the
// staged plan is discarded, the pause lifted, and the profile synced.
func (m *model) automationSaved(p *profile) {
	delete(m.paused, p.id)
	if m.org.runs(p) {
		m.sync(p)
	}
}

// exclude adds u to p's excluded users (SPEC §2 Automation).
func (m *model) exclude(p *profile, u string) {
	p.excluded = append(p.excluded, u)
	m.recordExclusion(p, u)
	m.automationSaved(p)
}

func (m *model) recordExclusion(p *profile, u string) {
	ent := roster.ExclusionEntitlement(p.id)
	if t := m.open(roster.TaskRevoke, u, ent); t != nil {
		m.cancel(t)
	}
	m.createTask(roster.TaskGrant, u, ent, roster.OriginExclusion, p.id, p.exclusionTaskPolicy())
}

// include takes u off p's excluded users: the record is revoked.
func (m *model) include(p *profile, u string) {
	p.excluded = slices.DeleteFunc(p.excluded, func(x string) bool { return x == u })
	ent := roster.ExclusionEntitlement(p.id)
	if t := m.open(roster.TaskGrant, u, ent); t != nil {
		m.cancel(t)
	} else if m.holds(u, ent) {
		m.createTask(roster.TaskRevoke, u, ent, roster.OriginExclusion, p.id, p.exclusionTaskPolicy())
	}
	m.automationSaved(p)
}

// addContent adds e to p (SPEC §2 Profile contents).
func (m *model) addContent(p *profile, e string) {
	p.ents = append(p.ents, e)
	m.normalize()
	for _, u := range m.sortedMembers(p.id) {
		if !m.holds(u, e) {
			m.createTask(roster.TaskGrant, u, e, roster.OriginProfileContent, p.id, m.policyFor(roster.TaskGrant, e, false))
		}
	}
}

// removeContent takes e out of p: its access setting applies to e for
// each member, decided before e leaves p.
func (m *model) removeContent(p *profile, e string) {
	for _, u := range m.sortedMembers(p.id) {
		m.withdraw(p, u, []string{e}, roster.OriginContentRemoved, false, func() {})
	}
	p.ents = slices.DeleteFunc(p.ents, func(x string) bool { return x == e })
	m.normalize()
}

func (m *model) sortedMembers(p string) []string {
	var out []string
	for u := range m.members[p] {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// deny closes an open task as denied and remembers a denied automation
// enrollment or unenrollment; a denied exclusion is withdrawn.
func (m *model) deny(t *mtask) {
	t.state = roster.StateDenied
	p := m.org.profile(t.profile)
	switch {
	case t.ent == roster.EnrollmentEntitlement(t.profile) && t.origin == roster.OriginAutomation:
		m.denials[dkey{t.profile, t.user, t.kind}] = true
	case t.ent == roster.ExclusionEntitlement(t.profile) && t.kind == roster.TaskGrant:
		p.excluded = slices.DeleteFunc(p.excluded, func(x string) bool { return x == t.user })
		if m.org.runs(p) {
			m.sync(p)
		}
	}
}
