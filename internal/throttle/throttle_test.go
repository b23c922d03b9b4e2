package throttle

import (
	"testing"
	"time"
)

func TestFailures(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New(3, 10*time.Second, func() time.Time { return now })
	for i := range 3 {
		if _, blocked := f.Blocked("1.2.3.4"); blocked {
			t.Fatalf("blocked after %d failures, want 3 allowed", i)
		}
		f.Fail("1.2.3.4")
	}
	wait, blocked := f.Blocked("1.2.3.4")
	if !blocked || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("after 3 failures: blocked %v, retry after %v", blocked, wait)
	}
	if _, blocked := f.Blocked("5.6.7.8"); blocked {
		t.Fatal("another client is blocked too")
	}
	now = now.Add(wait)
	if _, blocked := f.Blocked("1.2.3.4"); blocked {
		t.Fatalf("still blocked once the wait (%v) is over", wait)
	}
	f.Fail("1.2.3.4")
	if _, blocked := f.Blocked("1.2.3.4"); !blocked {
		t.Fatal("one more failure after the wait is not blocked again")
	}
	// A client whose budget is full again is forgotten when room is needed.
	now = now.Add(time.Minute)
	f.forget(now)
	if len(f.clients) != 0 {
		t.Fatalf("%d clients remembered after their budgets refilled", len(f.clients))
	}
}
