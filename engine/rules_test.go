package engine_test

// Black-box tests of the rules of SPEC.md §1–2 that the end-to-end suite
// (e2e/) does not pin down: each drives an engine on a fresh SQLite database
// through roster.Service only, as the admin or as the person who acts.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
	"github.com/rosterhq/roster/sqlite"
)

// world is an engine on a fresh SQLite database, seen through roster.Service.
type world struct {
	t   *testing.T
	svc roster.Service
	// changes is the change-driven sync, run by hand.
	changes *engine.ChangeSync
}

// newWorld starts an engine on a new SQLite database, bootstraps its admin
// and applies doc as the admin. It is engine's bootstrapped helper seen from
// outside the package.
func newWorld(t *testing.T, doc string) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := engine.New(engine.Config{Store: store, Clock: roster.NewManualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))})
	if _, err := e.Bootstrap(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, svc: e, changes: engine.NewChangeSync(e, time.Hour)}
	w.apply(doc)
	return w
}

// as is a context in which user acts.
func (w *world) as(user string) context.Context {
	return roster.NewContext(context.Background(), user)
}

// admin is a context in which the built-in admin acts.
func (w *world) admin() context.Context { return w.as(roster.AdminUser) }

func (w *world) apply(doc string) {
	w.t.Helper()
	if _, err := w.svc.Apply(w.admin(), roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)}); err != nil {
		w.t.Fatalf("apply: %v\n%s", err, doc)
	}
}

func (w *world) sync(profile string) *roster.SyncResult {
	w.t.Helper()
	r, err := w.svc.Sync(w.admin(), profile)
	if err != nil {
		w.t.Fatalf("sync %s: %v", profile, err)
	}
	return r
}

// tasks lists every task f selects, all pages.
func (w *world) tasks(f roster.TaskFilter) []roster.Task {
	w.t.Helper()
	var out []roster.Task
	for {
		page, err := w.svc.Tasks(w.admin(), f)
		if err != nil {
			w.t.Fatalf("tasks %+v: %v", f, err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
}

// task returns the one task f selects.
func (w *world) task(f roster.TaskFilter) roster.Task {
	w.t.Helper()
	ts := w.tasks(f)
	if len(ts) != 1 {
		w.t.Fatalf("tasks %+v: %d of them (%+v), want one", f, len(ts), ts)
	}
	return ts[0]
}

// grants returns the user's grants by entitlement.
func (w *world) grants(user string) map[string]roster.Grant {
	w.t.Helper()
	out := map[string]roster.Grant{}
	f := roster.GrantFilter{User: user}
	for {
		page, err := w.svc.Grants(w.admin(), f)
		if err != nil {
			w.t.Fatalf("grants of %s: %v", user, err)
		}
		for _, g := range page.Items {
			out[g.Entitlement] = g
		}
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
}

// members returns the profile's members as "user:source", sorted.
func (w *world) members(profile string) []string {
	w.t.Helper()
	v, err := w.svc.Profile(w.admin(), profile)
	if err != nil {
		w.t.Fatalf("profile %s: %v", profile, err)
	}
	out := []string{}
	for _, m := range v.Members {
		out = append(out, fmt.Sprintf("%s:%s", m.User, m.Source))
	}
	slices.Sort(out)
	return out
}

// byRule is how members lists a member the profile's rule enrolled.
func byRule(user string) string {
	return fmt.Sprintf("%s:%s", user, roster.MemberAutomation)
}

// events returns every audit event f selects.
func (w *world) events(f roster.EventFilter) []roster.Event {
	w.t.Helper()
	var out []roster.Event
	for {
		page, err := w.svc.Events(w.admin(), f)
		if err != nil {
			w.t.Fatalf("events %+v: %v", f, err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
}

// sources returns a grant's sources as one sorted, comma-separated string,
// for comparison whatever their Go type.
func sources(g roster.Grant) string {
	var s []string
	for _, src := range g.Sources {
		s = append(s, fmt.Sprint(src))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// sourcesOf joins the expected sources as sources does.
func sourcesOf(src ...any) string {
	var s []string
	for _, x := range src {
		s = append(s, fmt.Sprint(x))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// rulesOrg is the organisation the tests start from: carol manages alice and
// bob; sam and tess are the security team; ivan owns the apps. hr/eng and
// hr/ops are rule entitlements; the app entitlements are auto-approved and
// auto-provisioned, so what a test watches is the profiles' rules.
const rulesOrg = `
settings:
  default_request_policy: manager
  default_revoke_policy: auto
policies:
  - id: auto
    steps: []
  - id: manager
    steps: [{approvers: manager}]
users:
  - {id: carol, email: carol@example.com, name: Carol}
  - {id: alice, email: alice@example.com, name: Alice, manager: carol}
  - {id: bob, email: bob@example.com, name: Bob, manager: carol}
  - {id: sam, email: sam@example.com, name: Sam}
  - {id: tess, email: tess@example.com, name: Tess}
  - {id: ivan, email: ivan@example.com, name: Ivan}
apps:
  - id: hr
    owners: [ivan]
    entitlements:
      - {id: eng, request_policy: auto, revoke_policy: auto}
      - {id: ops, request_policy: auto, revoke_policy: auto}
      - {id: security, request_policy: auto, revoke_policy: auto}
  - id: app
    owners: [ivan]
    entitlements:
      - {id: shared, request_policy: auto, revoke_policy: auto}
      - {id: only, request_policy: auto, revoke_policy: auto}
      - {id: direct, request_policy: auto, revoke_policy: auto}
grants:
  - {user: sam, entitlement: hr/security}
  - {user: tess, entitlement: hr/security}
`

// unenrollOrg adds to rulesOrg profile eng (rule hr/eng; app/shared,
// app/only and app/direct; unenrollment access as given) and profile ops
// (rule hr/ops; app/shared) with ops's enrollment policy and mode as given.
// alice holds hr/eng, hr/ops and app/direct (direct).
func unenrollOrg(access any, opsPolicy, opsMode string) string {
	return rulesOrg + `
  - {user: alice, entitlement: hr/eng}
  - {user: alice, entitlement: hr/ops}
  - {user: alice, entitlement: app/direct}
profiles:
  - id: eng
    name: Engineering
    entitlements: [app/shared, app/only, app/direct]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: ` + fmt.Sprint(access) + `, bypass_entitlement_policies: true}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}
  - id: ops
    name: Operations
    entitlements: [app/shared]
    enrollment: {policy: ` + opsPolicy + `}
    unenrollment: {policy: auto, access: revoke_all}
    automation: {enabled: true, mode: ` + opsMode + `, any_entitlement: [hr/ops]}
`
}

// unenrollAliceFromEng makes alice stop matching eng and syncs it; the
// unenrollment policy is auto, so the unenrollment is confirmed at once.
func unenrollAliceFromEng(w *world) {
	w.t.Helper()
	if err := w.svc.RemoveGrant(w.admin(), "alice", "hr/eng"); err != nil {
		w.t.Fatal(err)
	}
	if r := w.sync("eng"); !slices.Equal(r.Unenrolled, []string{"alice"}) {
		w.t.Fatalf("sync eng unenrolled %v, want alice", r.Unenrolled)
	}
	u := w.task(roster.TaskFilter{User: "alice", Entitlement: roster.EnrollmentEntitlement("eng"), Kind: roster.TaskRevoke})
	if u.State != roster.StateDone || u.Origin != roster.OriginAutomation {
		w.t.Fatalf("unenrollment task: %s, origin %s; want done (policy auto), automation", u.State, u.Origin)
	}
	if got := w.members("eng"); len(got) != 0 {
		w.t.Fatalf("eng members after the confirmed unenrollment: %v", got)
	}
}

// TestUnenrollmentAccess checks SPEC §2 Unenrollment, the profile's access
// setting on confirmation, for a grant only eng justified (app/only), one
// that also has a direct source (app/direct) and one that ops, of which alice
// stays a member, also contains (app/shared):
//   - leave keeps all three and drops profile:eng from their sources; the
//     grant left with no source counts as direct;
//   - revoke_all revokes app/only and app/shared (though ops lists it) and
//     keeps app/direct;
//   - revoke_unjustified revokes app/only only.
func TestUnenrollmentAccess(t *testing.T) {
	eng, ops := roster.ProfileSource("eng"), roster.ProfileSource("ops")
	tests := []struct {
		access  any
		kept    map[string]string // entitlement: its sources afterwards
		revoked []string
	}{
		{roster.AccessLeave, map[string]string{
			"app/only":   sourcesOf(roster.SourceDirect),
			"app/direct": sourcesOf(roster.SourceDirect),
			"app/shared": sourcesOf(ops),
		}, nil},
		{roster.AccessRevokeAll, map[string]string{
			"app/direct": sourcesOf(roster.SourceDirect),
		}, []string{"app/only", "app/shared"}},
		{roster.AccessRevokeUnjustified, map[string]string{
			"app/direct": sourcesOf(roster.SourceDirect),
			"app/shared": sourcesOf(ops),
		}, []string{"app/only"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.access), func(t *testing.T) {
			w := newWorld(t, unenrollOrg(tt.access, "auto", "sync_and_act"))
			before := w.grants("alice")
			for ent, want := range map[string]string{
				"app/only":   sourcesOf(eng),
				"app/direct": sourcesOf(roster.SourceDirect, eng),
				"app/shared": sourcesOf(eng, ops),
			} {
				if got := sources(before[ent]); got != want {
					t.Fatalf("before: %s sources %q, want %q", ent, got, want)
				}
			}

			unenrollAliceFromEng(w)
			if got, want := w.members("ops"), []string{byRule("alice")}; !slices.Equal(got, want) {
				t.Fatalf("ops members %v, want %v", got, want)
			}
			after := w.grants("alice")
			for ent, want := range tt.kept {
				g, ok := after[ent]
				if !ok {
					t.Errorf("%s was revoked; want it kept", ent)
				} else if got := sources(g); got != want {
					t.Errorf("%s sources %q, want %q", ent, got, want)
				}
			}
			var revoked []string
			for _, task := range w.tasks(roster.TaskFilter{User: "alice", Kind: roster.TaskRevoke, Origin: roster.OriginUnenrollment}) {
				if task.State != roster.StateDone || task.Profile != "eng" {
					t.Errorf("revoke task of %s: %s, profile %s; want done (bypass, revoke policy auto), eng", task.Entitlement, task.State, task.Profile)
				}
				revoked = append(revoked, task.Entitlement)
				if _, ok := after[task.Entitlement]; ok {
					t.Errorf("%s: its revoke task is done, yet alice holds it", task.Entitlement)
				}
			}
			slices.Sort(revoked)
			if !slices.Equal(revoked, tt.revoked) {
				t.Errorf("revoke tasks for %v, want %v", revoked, tt.revoked)
			}
		})
	}
}

// TestUnenrollmentRevokeUnjustifiedPendingElsewhere checks which other
// profiles justify a grant under revoke_unjustified (SPEC §2 Unenrollment:
// "another profile the user remains a member of"): one where the user's
// enrollment is still pending does not, so the grant is revoked.
func TestUnenrollmentRevokeUnjustifiedPendingElsewhere(t *testing.T) {
	w := newWorld(t, unenrollOrg(roster.AccessRevokeUnjustified, "manager", "sync_and_act"))
	if got := w.members("ops"); len(got) != 0 {
		t.Fatalf("ops members %v before carol approves, want none", got)
	}
	w.task(roster.TaskFilter{User: "alice", Entitlement: roster.EnrollmentEntitlement("ops"), State: roster.StatePendingApproval})
	unenrollAliceFromEng(w)
	if _, ok := w.grants("alice")["app/shared"]; ok {
		t.Fatal("app/shared kept: a pending enrollment in ops does not justify it")
	}
}

// approverPolicies are applied after rulesOrg: a policy for each kind of
// step; the caller appends profiles that use them.
const approverPolicies = `
apps:
  - id: wiki
    owners: [ivan, alice]
    entitlements:
      - {id: page, request_policy: owners, revoke_policy: auto}
policies:
  - id: owners
    steps: [{approvers: app_owner}]
  - id: owners-fallback
    steps: [{approvers: app_owner, fallback: [tess]}]
  - id: security
    steps: [{approvers: entitlement_members, entitlement: hr/security}]
  - id: listed
    steps: [{approvers: users, users: [alice, sam]}]
  - id: self
    steps: [{approvers: self}]
  - id: two-steps
    steps:
      - {approvers: users, users: [sam, tess]}
      - {approvers: entitlement_members, entitlement: hr/security, fallback: [carol]}
profiles:
`

// TestApproverResolution checks SPEC §1 policy: who the approvers of a task
// are for each kind of step, that the subject is never among them unless the
// step is self, that a step resolving to nobody goes to its fallback, and
// with no fallback to the admins with an event saying why.
func TestApproverResolution(t *testing.T) {
	// A profile per policy, each open to enrollment requests, so that a
	// request by its subject makes a task under that policy.
	doc := approverPolicies
	for _, p := range []string{"manager", "owners", "owners-fallback", "security", "listed", "self", "two-steps"} {
		doc += fmt.Sprintf("  - {id: p-%s, name: %s, entitlements: [], allow_enrollment_requests: true, enrollment: {policy: %s}}\n", p, p, p)
	}
	tests := []struct {
		name, policy, subject string
		approvers             []string
		toAdmins              bool
	}{
		{"manager", "manager", "alice", []string{"carol"}, false},
		{"manager: none, no fallback", "manager", "carol", []string{roster.AdminUser}, true},
		// The built-in app access-profiles has no owners.
		{"app owner: none, no fallback", "owners", "alice", []string{roster.AdminUser}, true},
		{"app owner: none, fallback", "owners-fallback", "alice", []string{"tess"}, false},
		{"entitlement members", "security", "alice", []string{"sam", "tess"}, false},
		{"entitlement members without the subject", "security", "sam", []string{"tess"}, false},
		{"listed users", "listed", "bob", []string{"alice", "sam"}, false},
		{"listed users without the subject", "listed", "alice", []string{"sam"}, false},
		{"self", "self", "bob", []string{"bob"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, rulesOrg)
			w.apply(doc)
			task, err := w.svc.RequestProfile(w.as(tt.subject), "p-"+tt.policy, "")
			if err != nil {
				t.Fatal(err)
			}
			if task.State != roster.StatePendingApproval || !slices.Equal(task.Approvers, tt.approvers) {
				t.Fatalf("task: %s, approvers %v; want pending approval by %v", task.State, task.Approvers, tt.approvers)
			}
			routed := w.events(roster.EventFilter{Action: roster.ActionTaskRoutedToAdmins})
			if tt.toAdmins != (len(routed) == 1) || len(routed) > 1 {
				t.Fatalf("task.routed_to_admins events %+v, want one: %v", routed, tt.toAdmins)
			}
			if tt.toAdmins && !strings.Contains(routed[0].Reason, "admins") {
				t.Errorf("task.routed_to_admins says %q: want why the admins decide", routed[0].Reason)
			}
			// Each approver may decide; the first approves, and the task
			// moves on (the profile has no entitlements, so to done).
			approver := tt.approvers[0]
			if _, err := w.svc.ApproveTask(w.as(approver), task.ID, ""); err != nil {
				t.Fatalf("approval by %s: %v", approver, err)
			}
			if got, _ := w.svc.Task(w.admin(), task.ID); got.State != roster.StateDone {
				t.Errorf("after %s approved: %s, want done", approver, got.State)
			}
		})
	}

	// app_owner on an app with owners: the owners of the entitlement's app,
	// less the subject. The task is the content task of an enrollment.
	t.Run("app owner", func(t *testing.T) {
		w := newWorld(t, rulesOrg)
		w.apply(doc + "  - {id: wiki, name: Wiki, entitlements: [wiki/page], allow_enrollment_requests: true, enrollment: {policy: auto}}\n")
		if _, err := w.svc.RequestProfile(w.as("alice"), "wiki", ""); err != nil {
			t.Fatal(err)
		}
		task := w.task(roster.TaskFilter{User: "alice", Entitlement: "wiki/page"})
		if task.State != roster.StatePendingApproval || !slices.Equal(task.Approvers, []string{"ivan"}) {
			t.Fatalf("wiki/page task: %s, approvers %v; want pending approval by ivan (alice, an owner, is the subject)", task.State, task.Approvers)
		}
	})

	// A subject who is not an approver may not decide, unless the step is self.
	t.Run("subject refused", func(t *testing.T) {
		w := newWorld(t, rulesOrg)
		w.apply(doc)
		task, err := w.svc.RequestProfile(w.as("alice"), "p-listed", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.ApproveTask(w.as("alice"), task.ID, ""); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("alice approving her own task: %v, want forbidden", err)
		}
	})

	// The second step is resolved when the first is approved: whoever
	// approved step 1 is left out, and when nobody is left, the fallback.
	t.Run("two steps", func(t *testing.T) {
		w := newWorld(t, rulesOrg)
		w.apply(doc)
		task, err := w.svc.RequestProfile(w.as("alice"), "p-two-steps", "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(task.Approvers, []string{"sam", "tess"}) {
			t.Fatalf("step 1 approvers %v, want sam and tess", task.Approvers)
		}
		task, err = w.svc.ApproveTask(w.as("sam"), task.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if task.Step != 1 || !slices.Equal(task.Approvers, []string{"tess"}) {
			t.Fatalf("after sam: step %d, approvers %v; want step 2 by tess (sam approved step 1)", task.Step+1, task.Approvers)
		}

		// tess requests it: step 1 is sam alone; step 2 has no security
		// member left but tess (the subject) and sam (step 1): its fallback.
		task, err = w.svc.RequestProfile(w.as("tess"), "p-two-steps", "")
		if err != nil {
			t.Fatal(err)
		}
		task, err = w.svc.ApproveTask(w.as("sam"), task.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if task.Step != 1 || !slices.Equal(task.Approvers, []string{"carol"}) {
			t.Fatalf("tess's task after sam: step %d, approvers %v; want step 2 by carol, the fallback", task.Step+1, task.Approvers)
		}
	})
}

// snapshot is what a decision could change: the task, every grant, the
// members of each profile and the number of audit events.
type snapshot struct {
	task    string
	grants  map[string]string
	members map[string][]string
	events  int
}

func (w *world) snapshot(id int64, profiles ...string) snapshot {
	w.t.Helper()
	task, err := w.svc.Task(w.admin(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	s := snapshot{task: fmt.Sprintf("%+v", *task), grants: map[string]string{}, members: map[string][]string{}, events: len(w.events(roster.EventFilter{}))}
	for _, u := range []string{"alice", "bob", "carol", "sam", "tess"} {
		for ent, g := range w.grants(u) {
			s.grants[u+" "+ent] = sources(g)
		}
	}
	for _, p := range profiles {
		s.members[p] = w.members(p)
	}
	return s
}

func (s snapshot) diff(o snapshot) string {
	switch {
	case s.task != o.task:
		return fmt.Sprintf("the task changed:\n%s\n->\n%s", s.task, o.task)
	case fmt.Sprint(s.grants) != fmt.Sprint(o.grants):
		return fmt.Sprintf("grants changed: %v -> %v", s.grants, o.grants)
	case fmt.Sprint(s.members) != fmt.Sprint(o.members):
		return fmt.Sprintf("members changed: %v -> %v", s.members, o.members)
	case s.events != o.events:
		return fmt.Sprintf("%d audit events -> %d", s.events, o.events)
	}
	return ""
}

// TestDecisionsAreIdempotent checks the task workflow (SPEC §1 task: a task
// ends done, denied or cancelled): a decision repeated by whoever made it
// answers with the task and changes nothing; any other decision on a task
// that is no longer pending approval is refused with a conflict, and
// changes nothing either.
func TestDecisionsAreIdempotent(t *testing.T) {
	doc := approverPolicies + `
  - id: eng
    name: Engineering
    entitlements: [app/only]
    enrollment: {policy: two-steps}
    unenrollment: {policy: auto, access: revoke_all}
    allow_enrollment_requests: true
`
	type decide func(w *world, user string, id int64) (*roster.Task, error)
	approve := func(w *world, user string, id int64) (*roster.Task, error) {
		return w.svc.ApproveTask(w.as(user), id, "again")
	}
	deny := func(w *world, user string, id int64) (*roster.Task, error) {
		return w.svc.DenyTask(w.as(user), id, "again")
	}
	cancel := func(w *world, user string, id int64) (*roster.Task, error) {
		return w.svc.CancelTask(w.as(user), id, "again")
	}
	type action struct {
		do decide
		by string
	}
	approved := []action{{approve, "sam"}, {approve, "tess"}} // done: the profile has auto access
	denied := []action{{deny, "sam"}}
	cancelled := []action{{cancel, "alice"}} // the requester
	tests := []struct {
		name     string
		setup    []action
		then     action
		conflict bool // refused with a conflict; otherwise answered with the task
		state    roster.TaskState
		// forbidden: refused as not concerning the caller, who is then not
		// told the task's state (issue 14).
		forbidden bool
	}{
		{"approving step 1 twice", []action{{approve, "sam"}}, action{approve, "sam"}, false, roster.StatePendingApproval, false},
		{"approving a done task again", approved, action{approve, "tess"}, false, roster.StateDone, false},
		{"approving a done task again, step 1's approver", approved, action{approve, "sam"}, false, roster.StateDone, false},
		{"approving a done task, not an approver of it", approved, action{approve, "carol"}, false, roster.StateDone, true},
		{"denying an approved (done) task", approved, action{deny, "tess"}, true, roster.StateDone, false},
		{"denying a denied task again", denied, action{deny, "sam"}, false, roster.StateDenied, false},
		{"denying a denied task, another approver", denied, action{deny, "tess"}, true, roster.StateDenied, false},
		{"approving a denied task", denied, action{approve, "sam"}, true, roster.StateDenied, false},
		{"approving a cancelled task", cancelled, action{approve, "sam"}, true, roster.StateCancelled, false},
		{"denying a cancelled task", cancelled, action{deny, "sam"}, true, roster.StateCancelled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, rulesOrg)
			w.apply(doc)
			task, err := w.svc.RequestProfile(w.as("alice"), "eng", "")
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range tt.setup {
				if _, err := a.do(w, a.by, task.ID); err != nil {
					t.Fatalf("setup step %d by %s: %v", i+1, a.by, err)
				}
			}
			before := w.snapshot(task.ID, "eng")
			got, err := tt.then.do(w, tt.then.by, task.ID)
			switch {
			case tt.forbidden:
				if roster.ErrorCode(err) != roster.EFORBIDDEN || strings.Contains(roster.ErrorMessage(err), fmt.Sprint(tt.state)) {
					t.Fatalf("error %v, want forbidden without the task's state", err)
				}
			case tt.conflict && roster.ErrorCode(err) != roster.ECONFLICT:
				t.Fatalf("error %v, want a conflict", err)
			case !tt.conflict && err != nil:
				t.Fatalf("error %v, want the task", err)
			}
			if tt.conflict && !strings.Contains(roster.ErrorMessage(err), fmt.Sprint(tt.state)) {
				t.Errorf("refusal %q does not name the task's state %v", roster.ErrorMessage(err), tt.state)
			}
			if !tt.conflict && !tt.forbidden && (got == nil || got.ID != task.ID || got.State != tt.state) {
				t.Errorf("answered %+v, want task %d in state %v", got, task.ID, tt.state)
			}
			if d := before.diff(w.snapshot(task.ID, "eng")); d != "" {
				t.Errorf("the repeat changed something: %s", d)
			}
			if final, _ := w.svc.Task(w.admin(), task.ID); final.State != tt.state {
				t.Errorf("task state %s, want %v", final.State, tt.state)
			}
		})
	}
}

// exclusionOrg adds to rulesOrg profile eng (rule hr/eng) with the given
// excluded users; alice and bob hold hr/eng.
func exclusionOrg(excluded string) string {
	return rulesOrg + `
  - {user: alice, entitlement: hr/eng}
  - {user: bob, entitlement: hr/eng}
profiles:
  - id: eng
    name: Engineering
    entitlements: [app/only]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_all, bypass_entitlement_policies: true}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng], excluded_users: [` + excluded + `]}
`
}

// TestExclusions checks SPEC §2 Automation's exclusions: an excluded user is
// not enrolled, by this sync or the next; the exclusion is recorded as a
// grant task on access-profiles/P.excluded (origin exclusion, profile P);
// a member excluded later stops matching from the moment it is saved and
// is unenrolled; removing the exclusion revokes the record and lets the
// user enroll on the next sync.
func TestExclusions(t *testing.T) {
	excludedEnt := roster.ExclusionEntitlement("eng")
	w := newWorld(t, exclusionOrg("bob"))
	if got, want := w.members("eng"), []string{byRule("alice")}; !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v (bob is excluded)", got, want)
	}
	if r := w.sync("eng"); slices.Contains(r.Enrolled, "bob") {
		t.Fatal("the next sync enrolled excluded bob")
	}
	if ts := w.tasks(roster.TaskFilter{User: "bob", Entitlement: roster.EnrollmentEntitlement("eng")}); len(ts) != 0 {
		t.Fatalf("excluded bob has enrollment tasks: %+v", ts)
	}
	if _, ok := w.grants("bob")["app/only"]; ok {
		t.Fatal("excluded bob got the profile's access")
	}
	record := w.task(roster.TaskFilter{User: "bob", Entitlement: excludedEnt})
	if record.Kind != roster.TaskGrant || record.Origin != roster.OriginExclusion || record.Profile != "eng" {
		t.Fatalf("exclusion record: kind %s, origin %s, profile %s; want a grant task, origin exclusion, profile eng", record.Kind, record.Origin, record.Profile)
	}

	// Excluding alice, a member, takes effect when it is saved: the sync the
	// apply starts unenrolls her.
	w.apply(exclusionOrg("bob, alice"))
	unenroll := w.task(roster.TaskFilter{User: "alice", Entitlement: roster.EnrollmentEntitlement("eng"), Kind: roster.TaskRevoke})
	if unenroll.State != roster.StateDone || unenroll.Origin != roster.OriginAutomation {
		t.Fatalf("alice's unenrollment: %s, origin %s; want done, automation", unenroll.State, unenroll.Origin)
	}
	if got := w.members("eng"); len(got) != 0 {
		t.Fatalf("members %v after excluding alice too, want none", got)
	}
	if _, ok := w.grants("alice")["app/only"]; ok {
		t.Fatal("alice kept app/only after her unenrollment (revoke_all)")
	}
	w.task(roster.TaskFilter{User: "alice", Entitlement: excludedEnt, Kind: roster.TaskGrant})

	// Lifting bob's exclusion: the next sync enrolls him, and the record of
	// the exclusion is closed (its open task cancelled, or its grant revoked).
	w.apply(exclusionOrg("alice"))
	w.sync("eng")
	if got, want := w.members("eng"), []string{byRule("bob")}; !slices.Equal(got, want) {
		t.Fatalf("members %v once bob's exclusion is lifted, want %v", got, want)
	}
	if _, ok := w.grants("bob")["app/only"]; !ok {
		t.Error("bob, enrolled, lacks the profile's app/only")
	}
	if _, ok := w.grants("bob")[excludedEnt]; ok {
		t.Errorf("bob still holds %s after his exclusion was lifted", excludedEnt)
	}
	for _, task := range w.tasks(roster.TaskFilter{User: "bob", Entitlement: excludedEnt}) {
		if task.Open() {
			t.Errorf("bob's exclusion task %d (%s) is still open after it was lifted", task.ID, task.Kind)
		}
	}
}

// TestUnenrollmentWithoutBypass checks SPEC §2 Unenrollment's last line,
// "bypass_entitlement_policies works as for enrollment": without it, the
// revoke tasks a confirmed unenrollment starts run under each entitlement's
// own revoke policy, and the access stays until they are approved.
func TestUnenrollmentWithoutBypass(t *testing.T) {
	doc := strings.Replace(unenrollOrg(roster.AccessRevokeAll, "auto", "sync_and_act"),
		"bypass_entitlement_policies: true}\n    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}",
		"bypass_entitlement_policies: false}\n    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}", 1)
	doc = strings.Replace(doc, "{id: only, request_policy: auto, revoke_policy: auto}", "{id: only, request_policy: auto, revoke_policy: manager}", 1)
	w := newWorld(t, doc)
	unenrollAliceFromEng(w)
	only := w.task(roster.TaskFilter{User: "alice", Entitlement: "app/only", Kind: roster.TaskRevoke})
	if only.State != roster.StatePendingApproval || !slices.Equal(only.Approvers, []string{"carol"}) || only.Bypass != "" {
		t.Fatalf("revoke of app/only: %s, approvers %v, bypass %q; want pending approval by carol (its revoke policy: manager)", only.State, only.Approvers, only.Bypass)
	}
	if _, ok := w.grants("alice")["app/only"]; !ok {
		t.Fatal("app/only is gone before its revoke task is approved")
	}
	if _, err := w.svc.ApproveTask(w.as("carol"), only.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.grants("alice")["app/only"]; ok {
		t.Fatal("app/only stays after carol approved its revocation")
	}
}

// TestExclusionCancelsPendingEnrollment checks SPEC §2 Automation and Sync
// together: a user is excluded from the moment the exclusion is saved, so
// the sync that saving starts cancels their open enrollment task (an open
// enrollment whose user no longer matches is cancelled).
func TestExclusionCancelsPendingEnrollment(t *testing.T) {
	manager := func(excluded string) string {
		return strings.Replace(exclusionOrg(excluded), "enrollment: {policy: auto, bypass_entitlement_policies: true}", "enrollment: {policy: manager}", 1)
	}
	w := newWorld(t, manager(""))
	enroll := w.task(roster.TaskFilter{User: "bob", Entitlement: roster.EnrollmentEntitlement("eng")})
	if enroll.State != roster.StatePendingApproval {
		t.Fatalf("bob's enrollment: %s, want pending approval by his manager", enroll.State)
	}
	w.apply(manager("bob"))
	if got, _ := w.svc.Task(w.admin(), enroll.ID); got.State != roster.StateCancelled {
		t.Fatalf("bob's enrollment after his exclusion was saved: %s, want cancelled", got.State)
	}
	if _, err := w.svc.ApproveTask(w.as("carol"), enroll.ID, ""); roster.ErrorCode(err) != roster.ECONFLICT {
		t.Fatalf("carol approving the cancelled enrollment: %v, want a conflict", err)
	}
	if got := w.members("eng"); slices.Contains(got, byRule("bob")) {
		t.Fatalf("members %v: excluded bob was enrolled", got)
	}
}
