package engine

import (
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
