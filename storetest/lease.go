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

	// Leases lists those held under a prefix, without it: not the expired
	// ones, nor those of another prefix, whatever their holder.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, l := range []struct {
			name, holder string
			at           time.Duration
		}{
			{"claim/p2", "a", 200 * time.Second}, {"claim/p1", "b", 200 * time.Second},
			{"claim/old", "a", 0}, {"claim_x", "a", 200 * time.Second}, {"claims", "a", 200 * time.Second},
			{"claim/é/ü", "c", 200 * time.Second},
		} {
			if ok, err := tx.AcquireLease(ctx, l.name, l.holder, t0.Add(l.at), time.Minute); err != nil || !ok {
				t.Fatalf("lease %s: %v, %v", l.name, ok, err)
			}
		}
		return nil
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) {
		return tx.Leases(ctx, "claim/", t0.Add(210*time.Second))
	})
	equal(t, "leases under claim/", []string{"p1", "p2", "é/ü"}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) {
		return tx.Leases(ctx, "claim/", t0.Add(260*time.Second))
	})
	equal(t, "leases under claim/ once expired", []string{}, got)
}
