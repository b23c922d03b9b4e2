package engine

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

func TestDeleteThreshold(t *testing.T) {
	for _, tc := range []struct {
		name              string
		activeFed, grants int
		disabled, removed int
		limit             int
		want              string
	}{
		{"nothing removed", 10, 100, 0, 0, 20, ""},
		{"exactly the limit is allowed", 10, 100, 2, 20, 20, ""},
		{"one user over", 10, 100, 3, 0, 20, "disable 3 of the 10 active users"},
		{"grants over", 10, 100, 0, 21, 20, "remove 21 of the 100 grants"},
		{"users checked first", 10, 100, 5, 50, 20, "disable 5 of the 10"},
		{"nothing fed yet", 0, 0, 3, 4, 20, ""},
		{"zero tolerates nothing", 10, 100, 0, 1, 0, "remove 1 of the 100 grants"},
		{"100 tolerates everything", 10, 100, 10, 100, 100, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := &snapshotPlan{res: &roster.ConnectorSyncResult{}, activeFed: tc.activeFed, grants: tc.grants}
			pl.res.Users.Disabled, pl.res.Grants.Removed = tc.disabled, tc.removed
			got := pl.overThreshold(tc.limit)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("overThreshold(%d) = %q, want %q", tc.limit, got, tc.want)
			}
		})
	}
}
