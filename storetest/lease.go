package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

func testLeases(t *testing.T, s roster.Store) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	acquire := func(holder string, at time.Time) bool {
		t.Helper()
		var ok bool
		update(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
			ok, err = tx.AcquireLease(ctx, "scheduler", holder, at, time.Minute)
			return err
		})
		return ok
	}
	steps := []struct {
		holder string
		at     time.Duration
		want   bool
	}{
		{"a", 0, true},                  // free
		{"b", 30 * time.Second, false},  // held by a
		{"a", 50 * time.Second, true},   // a renews until 1m50s
		{"b", 100 * time.Second, false}, // still held by a
		{"b", 110 * time.Second, true},  // expired: b takes it
		{"a", 111 * time.Second, false}, // now held by b
	}
	for _, st := range steps {
		if got := acquire(st.holder, t0.Add(st.at)); got != st.want {
			t.Fatalf("%s at +%v: acquired = %v, want %v", st.holder, st.at, got, st.want)
		}
	}
	// Only its holder releases a lease; once released, another takes it
	// at once, long before it would have expired.
	release := func(holder string) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx roster.Tx) error {
			return tx.ReleaseLease(ctx, "scheduler", holder)
		})
	}
	release("a") // held by b: left as it is
	if acquire("a", t0.Add(112*time.Second)) {
		t.Fatal("a took the lease b holds after a released it")
	}
	release("b")
	if !acquire("a", t0.Add(113*time.Second)) {
		t.Fatal("a could not take the lease b released")
	}
	release("c") // never held: nothing to do
	if acquire("b", t0.Add(114*time.Second)) {
		t.Fatal("b took the lease a holds after c released it")
	}
	// Leases are independent by name.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		ok, err := tx.AcquireLease(ctx, "notifier", "a", t0.Add(111*time.Second), time.Minute)
		if err == nil && !ok {
			t.Fatal("a could not take a different, free lease")
		}
		return err
	})
}
