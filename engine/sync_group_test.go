package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestSyncGroupFailure checks that when one profile's sync fails inside a
// transaction shared with others, the profiles synced before it still
// commit, as when each had its own transaction, the profiles after it are
// synced all the same, and the error names the failing one.
func TestSyncGroupFailure(t *testing.T) {
	w := newWorkerEngine(t)
	w.profiles(t, 3, false)
	res, err := w.e.SyncAll(w.admin)
	if err == nil || !strings.Contains(err.Error(), "sync p2") {
		t.Fatalf("SyncAll: %v, want the failure of p2", err)
	}
	if len(res) != 2 || res[0].Profile != "p1" || res[1].Profile != "p3" {
		t.Errorf("SyncAll's results: %+v, want p1's and p3's", res)
	}
	w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2})
}

// TestSyncRegroupsAfterFailure checks that the profiles after a failed
// group share a transaction again: p1 and p2 fail together, are redone one
// each, and p3 to p5 are synced in one transaction.
func TestSyncRegroupsAfterFailure(t *testing.T) {
	w := newWorkerEngine(t)
	w.profiles(t, 5, false)
	before := w.updates.Load()
	res, err := w.e.SyncAll(w.admin)
	if err == nil || len(res) != 4 {
		t.Fatalf("SyncAll: %d results, %v; want 4 and the failure of p2", len(res), err)
	}
	if got := w.updates.Load() - before; got != 4 {
		t.Errorf("%d transactions, want 4: p1 and p2, p1, p2, p3 to p5", got)
	}
	w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2, "p4": 2, "p5": 2})
}

// A profile's sync comes after the syncs of the profiles whose members its
// rule reads.
func TestDependencyOrder(t *testing.T) {
	byID := map[string]*roster.Profile{
		"a": {ID: "a", Automation: roster.Automation{Expression: `user.member_of("c")`, Reads: &roster.ExpressionReads{Profiles: []string{"c"}}}},
		"b": {ID: "b", Automation: roster.Automation{AnyEntitlement: []string{"access-profiles/a", "okta/x"}}},
		"c": {ID: "c", Automation: roster.Automation{AnyEntitlement: []string{"okta/y"}}},
		"d": {ID: "d", Automation: roster.Automation{AnyEntitlement: []string{"access-profiles/zz"}}},
	}
	if got, want := dependencyOrder([]string{"a", "b", "c", "d"}, byID), []string{"c", "a", "b", "d"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

// TestApplySyncsTheProfilesItEnablesTogether: the first syncs of the
// profiles an apply turns on share transactions, as a pass's do; one that
// fails is named in the apply's error, the apply itself stays committed,
// and the profiles after it are synced all the same.
func TestApplySyncsTheProfilesItEnablesTogether(t *testing.T) {
	file := func(n int) string {
		doc := `policies: [{id: auto, steps: []}]
users: [{id: u1}, {id: u2}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
grants: [{user: u1, entitlement: a/e1}, {user: u2, entitlement: a/e1}]
profiles:
`
		for i := 1; i <= n; i++ {
			doc += fmt.Sprintf("  - {id: p%d, name: p%d, entitlements: [], enrollment: {policy: auto}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [a/e1]}}\n", i, i)
		}
		return doc
	}
	t.Run("together", func(t *testing.T) {
		w := newWorkerEngine(t)
		before := w.updates.Load()
		res, err := w.e.Apply(w.admin, roster.ApplyRequest{Filename: "t.yaml", Document: []byte(file(5))})
		if err != nil {
			t.Fatal(err)
		}
		if got := w.updates.Load() - before; got != 3 {
			t.Errorf("%d transactions, want 3: the apply, the five syncs, and giving up their claims", got)
		}
		if len(res.Synced) != 5 || res.Synced[0].Profile != "p1" || res.Synced[4].Profile != "p5" || !slices.Equal(res.Synced[2].Enrolled, []string{"u1", "u2"}) {
			t.Errorf("the apply's syncs: %+v, want p1 to p5, each enrolling u1 and u2", res.Synced)
		}
		w.members(t, map[string]int{"p1": 2, "p3": 2, "p5": 2})
	})
	t.Run("one fails", func(t *testing.T) {
		w := newWorkerEngine(t)
		w.fail = func(call, key string) error {
			if call == "PutProfileSyncs" && key == "p2" {
				return errors.New("the disk is full")
			}
			return nil
		}
		res, err := w.e.Apply(w.admin, roster.ApplyRequest{Filename: "t.yaml", Document: []byte(file(3))})
		if err == nil || !strings.Contains(err.Error(), "applied, but the sync of profile p2 failed") || !strings.Contains(err.Error(), "the disk is full") {
			t.Fatalf("Apply: %v, want the failure of p2's sync", err)
		}
		if res == nil || len(res.Synced) != 2 || res.Synced[0].Profile != "p1" || res.Synced[1].Profile != "p3" {
			t.Errorf("the apply's syncs: %+v, want p1's and p3's", res)
		}
		// The apply committed: p2 exists with its rule, and p3 after the
		// failure was synced.
		if p := w.profile(t, "p2"); !p.Automation.Enabled {
			t.Error("p2's automation is not saved enabled")
		}
		w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2})
	})
}

// TestGroupedSyncsLeaveNoMarks: a profile whose rule reads another's
// members, synced after it in the same transaction, has seen that
// profile's enrollments, so nothing is left marked for the change-driven
// sync — after an apply's first syncs and after a pass.
func TestGroupedSyncsLeaveNoMarks(t *testing.T) {
	w := newWorkerEngine(t)
	w.apply(t, `policies: [{id: auto, steps: []}]
users: [{id: u1}, {id: u2}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
grants: [{user: u1, entitlement: a/e1}]
profiles:
  - {id: base, name: base, entitlements: [], enrollment: {policy: auto}, automation: {enabled: true, any_entitlement: [a/e1]}}
  - {id: lead, name: lead, entitlements: [], enrollment: {policy: auto}, automation: {enabled: true, any_entitlement: [access-profiles/base]}}
`)
	marked := func(when string) {
		t.Helper()
		var ids []string
		err := w.store.View(context.Background(), func(tx roster.Tx) (err error) {
			ids, err = tx.TriggeredProfiles(context.Background(), 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 0 {
			t.Errorf("%s: profiles %v are marked for the change-driven sync, want none", when, ids)
		}
	}
	marked("after the apply")
	w.members(t, map[string]int{"base": 1, "lead": 1})
	if _, err := w.e.AddGrant(w.admin, "u2", "a/e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.e.SyncAll(w.admin); err != nil {
		t.Fatal(err)
	}
	marked("after the pass")
	w.members(t, map[string]int{"base": 2, "lead": 2})
}
