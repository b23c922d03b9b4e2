package e2e

import (
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// `roster event list --newest` lists the newest events first, and --until
// leaves out the events at or after a time.
func TestEventListNewestFirstAndUntil(t *testing.T) {
	e := start(t)
	e.apply(org)
	var oldest, newest []roster.Event
	e.json(&oldest, adminUser, "event", "list")
	e.json(&newest, adminUser, "event", "list", "--newest")
	if len(oldest) < 3 || len(newest) != len(oldest) {
		t.Fatalf("events: %d oldest first, %d newest first", len(oldest), len(newest))
	}
	for i := range oldest {
		if newest[i].ID != oldest[len(oldest)-1-i].ID {
			t.Fatalf("--newest event %d is #%d, want #%d", i, newest[i].ID, oldest[len(oldest)-1-i].ID)
		}
	}
	var none []roster.Event
	e.json(&none, adminUser, "event", "list", "--until", oldest[0].At.Add(-time.Second).Format(time.RFC3339))
	if len(none) != 0 {
		t.Fatalf("--until before the first event listed %d events", len(none))
	}
	e.fails("--until must be an RFC 3339 time", adminUser, "event", "list", "--until", "yesterday")
}
