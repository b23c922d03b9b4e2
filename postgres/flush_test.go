package postgres_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
)

// TestSkipFlushIsTheTransactions turns synchronous_commit off for the
// transaction that calls SkipFlush, and for no other.
func TestSkipFlushIsTheTransactions(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	setting := func(tx roster.Tx) string {
		v, err := postgres.Setting(ctx, tx, "synchronous_commit")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := db.Update(ctx, func(tx roster.Tx) error {
		if got := setting(tx); got != "on" {
			t.Errorf("before SkipFlush: synchronous_commit = %q, want on", got)
		}
		if err := tx.SkipFlush(ctx); err != nil {
			return err
		}
		if got := setting(tx); got != "off" {
			t.Errorf("after SkipFlush: synchronous_commit = %q, want off", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the pool's connections, each in turn
		if err := db.Update(ctx, func(tx roster.Tx) error {
			if got := setting(tx); got != "on" {
				t.Errorf("a later transaction: synchronous_commit = %q, want on", got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
