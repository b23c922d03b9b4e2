package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// sweepOrg is an organisation of 60 people whose apply switches on six
// profiles that depend on one another: eng enrolls the holders of hr/eng
// and grants app/x, which the rule of tools reads; leads reads
// membership of eng (user.member_of) and the department; review asks each
// enrollment of the manager; members is members only; sales excludes a
// user and meets disabled ones. Every profile comes after those it reads,
// except early, which reads app/x before eng grants it.
func sweepOrg() string {
	var b strings.Builder
	b.WriteString(`policies:
  - {id: auto, steps: []}
  - {id: manager, steps: [{approvers: manager, fallback: [boss]}]}
users:
  - {id: boss, email: boss@example.com}
`)
	var grants []string
	for i := range 60 {
		u := fmt.Sprintf("u%02d", i)
		dept, status := "Sales", "active"
		if i%2 == 0 {
			dept = "Engineering"
			grants = append(grants, u+" hr/eng")
		}
		if i%3 == 0 {
			grants = append(grants, u+" hr/sales")
		}
		if i%11 == 5 {
			status = "disabled"
		}
		if i%7 == 0 {
			grants = append(grants, u+" app/x")
		}
		fmt.Fprintf(&b, "  - {id: %s, email: %s@example.com, manager: boss, department: %s, status: %s}\n", u, u, dept, status)
	}
	// The last ranges hold people only ops enrolls: nothing there grants
	// what early's rule reads.
	for i := range 12 {
		u := fmt.Sprintf("z%02d", i)
		grants = append(grants, u+" hr/ops")
		fmt.Fprintf(&b, "  - {id: %s, email: %s@example.com, manager: boss, department: Operations}\n", u, u)
	}
	b.WriteString(`apps:
  - id: hr
    entitlements:
      - {id: eng, request_policy: auto, revoke_policy: auto}
      - {id: sales, request_policy: auto, revoke_policy: auto}
      - {id: ops, request_policy: auto, revoke_policy: auto}
  - id: app
    entitlements:
      - {id: x, request_policy: auto, revoke_policy: auto}
      - {id: y, request_policy: auto, revoke_policy: auto}
      - {id: z, request_policy: manager, revoke_policy: auto}
grants:
`)
	for _, g := range grants {
		u, e, _ := strings.Cut(g, " ")
		fmt.Fprintf(&b, "  - {user: %s, entitlement: %s}\n", u, e)
	}
	b.WriteString(`profiles:
  - {id: early, name: early, entitlements: [app/y], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [app/x]}}
  - {id: eng, name: eng, entitlements: [app/x, app/y], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}}
  - {id: tools, name: tools, entitlements: [app/z], enrollment: {policy: auto}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [app/x]}}
  - {id: leads, name: leads, entitlements: [app/y], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, expression: 'user.member_of("eng") && user.department == "Engineering"'}}
  - {id: review, name: review, entitlements: [app/y], enrollment: {policy: manager}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/sales]}}
  - {id: members, name: members, entitlements: [app/y], automation: {enabled: true, mode: sync_members_only, any_entitlement: [hr/eng, hr/sales]}}
  - {id: sales, name: sales, entitlements: [app/x], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/sales], excluded_users: [u03]}}
  - {id: ops, name: ops, entitlements: [app/y], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/ops]}}
`)
	return b.String()
}

// sweepOutcome applies sweepOrg on store with an engine whose sync chunk is
// chunk, and describes what came of it: every member, grant and task, and
// the profiles left marked for the change-driven sync. It also reports
// whether the syncs were interleaved: the tasks one profile's syncs created
// span ids another's created tasks between.
func sweepOutcome(t *testing.T, store roster.Store, chunk int) (state []string, interleaved bool) {
	t.Helper()
	ctx := context.Background()
	e := New(Config{Store: store, Clock: roster.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), SyncChunk: chunk})
	if _, err := e.Bootstrap(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	admin := roster.NewContext(ctx, roster.AdminUser)
	res, err := e.Apply(admin, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(sweepOrg())})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Synced {
		state = append(state, fmt.Sprintf("synced %s: enrolled %v unenrolled %v cancelled %d tasks %d paused %t errors %d",
			r.Profile, r.Enrolled, r.Unenrolled, len(r.Cancelled), r.TasksCreated, r.Paused, r.Errors))
	}
	// The ids of each profile's first and last task its syncs created.
	span := map[string][2]int64{}
	err = store.View(ctx, func(tx roster.Tx) error {
		ps, err := tx.Profiles(ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			ms, err := tx.Members(ctx, p.ID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				state = append(state, fmt.Sprintf("member %s %s %s", m.Profile, m.User, m.Source))
			}
		}
		err = everyItem(func(cursor string) (*roster.Page[roster.Grant], error) {
			return tx.Grants(ctx, roster.GrantFilter{Cursor: cursor, Limit: 500})
		}, func(g roster.Grant) {
			state = append(state, fmt.Sprintf("grant %s %s %v", g.User, g.Entitlement, g.Sources))
		})
		if err != nil {
			return err
		}
		err = everyItem(func(cursor string) (*roster.Page[roster.Task], error) {
			return tx.Tasks(ctx, roster.TaskFilter{Cursor: cursor, Limit: 500})
		}, func(k roster.Task) {
			state = append(state, fmt.Sprintf("task %s %s %s %s %s %s approvers %v", k.Kind, k.User, k.Entitlement, k.State, k.Origin, k.Profile, k.Approvers))
			if k.Origin != roster.OriginAutomation && k.Origin != roster.OriginEnrollment {
				return
			}
			s, ok := span[k.Profile]
			if !ok {
				s = [2]int64{k.ID, k.ID}
			}
			span[k.Profile] = [2]int64{min(s[0], k.ID), max(s[1], k.ID)}
		})
		if err != nil {
			return err
		}
		marked, err := tx.TriggeredProfiles(ctx, 100)
		if err != nil {
			return err
		}
		state = append(state, fmt.Sprintf("marked %v", marked))
		return nil
	})
	for p, a := range span {
		for q, b := range span {
			if p != q && a[0] < b[1] && b[0] < a[1] {
				interleaved = true
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(state)
	return state, interleaved
}

// TestSweepIsOneSyncAfterAnother checks that an apply switching on profiles
// with more work than two of a sweep's ranges, which syncs them a range of
// users at a time (sweep.go), does exactly what syncing them one after
// another does: the same members, grants with the same sources, tasks in
// the same states with the same approvers, results and profiles left
// marked — with rules that read what the profiles before them grant
// (app/x) and whom they enroll (member_of), members only, approvals,
// exclusions and disabled users; early, whose rule reads what eng grants in
// the earlier ranges only, stays marked. With a sync chunk of one unit, the sweep
// has ranges of 8 units and every part goes on in the next transaction.
func TestSweepIsOneSyncAfterAnother(t *testing.T) {
	// Sweeps are SQLite's (syncSaved): on PostgreSQL the access log's
	// marks date a transaction's snapshot, so a sweep's next transaction
	// would find its own last one's writes among other writers' changes.
	for name, open := range map[string]func(*testing.T) roster.Store{"sqlite": openStores()["sqlite"]} {
		t.Run(name, func(t *testing.T) {
			want, interleaved := sweepOutcome(t, open(t), 0)
			if interleaved {
				t.Fatal("with the default sync chunk the syncs were interleaved: the test's organisation is swept whole")
			}
			got, interleaved := sweepOutcome(t, open(t), 1)
			if !interleaved {
				t.Fatal("with a sync chunk of 1 the profiles' syncs were not interleaved: no sweep")
			}
			if d := diffSorted(want, got); d != "" {
				t.Errorf("swept, the apply differs from syncing one profile after another (- one after another, + swept):\n%s", d)
			}
			if !slices.ContainsFunc(want, func(s string) bool {
				return strings.HasPrefix(s, "task grant") && strings.Contains(s, "pending_approval")
			}) ||
				!slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "member members ") }) ||
				!slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "member leads ") }) ||
				!slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "member tools ") }) {
				t.Errorf("the organisation does not exercise what it should:\n%s", strings.Join(want, "\n"))
			}
		})
	}
}

// everyItem calls each for every item of the pages list gives, from the
// first (cursor "") to the last.
func everyItem[T any](list func(cursor string) (*roster.Page[T], error), each func(T)) error {
	for cursor, first := "", true; first || cursor != ""; first = false {
		page, err := list(cursor)
		if err != nil {
			return err
		}
		for _, x := range page.Items {
			each(x)
		}
		cursor = page.NextCursor
	}
	return nil
}

// diffSorted lists the lines only in want (-) or only in got (+), both
// sorted.
func diffSorted(want, got []string) string {
	var b strings.Builder
	for len(want) > 0 || len(got) > 0 {
		switch {
		case len(got) == 0 || len(want) > 0 && want[0] < got[0]:
			fmt.Fprintf(&b, "- %s\n", want[0])
			want = want[1:]
		case len(want) == 0 || got[0] < want[0]:
			fmt.Fprintf(&b, "+ %s\n", got[0])
			got = got[1:]
		default:
			want, got = want[1:], got[1:]
		}
	}
	return b.String()
}

// TestSweepFailureLeavesTheRestToSyncGroups: when a transaction of a sweep
// fails, what the sweep left is synced one profile after another: the
// failing profile's error is the apply's, and the others end fully synced,
// those with parts committed by the sweep included.
func TestSweepFailureLeavesTheRestToSyncGroups(t *testing.T) {
	w := newWorkerEngine(t)
	w.e.syncChunk = 1
	w.fail = func(call, key string) error {
		if call == "PutProfileSyncs" && key == "p2" {
			return errors.New("the disk is full")
		}
		return nil
	}
	doc := `policies: [{id: auto, steps: []}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
users:
`
	var grants string
	for i := range 20 {
		doc += fmt.Sprintf("  - {id: u%02d}\n", i)
		grants += fmt.Sprintf("  - {user: u%02d, entitlement: a/e1}\n", i)
	}
	doc += "grants:\n" + grants + "profiles:\n"
	for i := 1; i <= 4; i++ {
		doc += fmt.Sprintf("  - {id: p%d, name: p%d, entitlements: [], enrollment: {policy: auto}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [a/e1]}}\n", i, i)
	}
	res, err := w.e.Apply(w.admin, roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)})
	if err == nil || !strings.Contains(err.Error(), "the sync of profile p2 failed") || !strings.Contains(err.Error(), "the disk is full") {
		t.Fatalf("Apply: %v, want the failure of p2's sync", err)
	}
	if res == nil || len(res.Synced) != 3 {
		t.Fatalf("the apply's syncs: %+v, want p1's, p3's and p4's", res)
	}
	for _, r := range res.Synced {
		if len(r.Enrolled) != 20 {
			t.Errorf("%s's sync enrolled %d users, want 20: %v", r.Profile, len(r.Enrolled), r.Enrolled)
		}
	}
	w.members(t, map[string]int{"p1": 20, "p2": 0, "p3": 20, "p4": 20})
}
