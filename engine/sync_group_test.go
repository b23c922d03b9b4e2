package engine

import (
	"strings"
	"testing"
)

// TestSyncGroupFailure checks that when one profile's sync fails inside a
// transaction shared with others, the profiles synced before it still
// commit, as when each had its own transaction, the profiles after it are
// synced all the same, and the error names the failing one.
func TestSyncGroupFailure(t *testing.T) {
	w := newWorkerEngine(t)
	w.threeProfiles(t, false)
	res, err := w.e.SyncAll(w.admin)
	if err == nil || !strings.Contains(err.Error(), "sync p2") {
		t.Fatalf("SyncAll: %v, want the failure of p2", err)
	}
	if len(res) != 2 || res[0].Profile != "p1" || res[1].Profile != "p3" {
		t.Errorf("SyncAll's results: %+v, want p1's and p3's", res)
	}
	w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2})
}
