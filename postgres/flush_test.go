package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

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

// TestFewHeldRowsGoInOneStatement: the grants a transaction holds, fewer
// than COPY is worth, are written by one statement, which runs the grants'
// statement trigger once: the access log gets each user once, where a
// statement a row logged alice once for each of her grants. A grant put
// twice keeps its last sources.
func TestFewHeldRowsGoInOneStatement(t *testing.T) {
	ctx := context.Background()
	db, conn := migrated(t)
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	grant := func(user, ent, source string) *roster.Grant {
		return &roster.Grant{User: user, Entitlement: ent, Sources: []string{source}, CreatedAt: at, UpdatedAt: at}
	}
	err := db.Update(ctx, func(tx roster.Tx) error {
		for _, g := range []*roster.Grant{grant("alice", "app/a", "direct"), grant("alice", "app/b", "direct"),
			grant("bob", "app/a", "direct"), grant("alice", "app/a", "profile:eng")} {
			if err := tx.PutGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var logged int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE user_id = 'alice'`).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if logged != 1 {
		t.Errorf("the access log holds alice %d times after one transaction's grants, want once (one statement)", logged)
	}
	var gs []roster.Grant
	if err := db.View(ctx, func(tx roster.Tx) (err error) { gs, err = tx.UserGrants(ctx, "alice"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Entitlement != "app/a" || !slices.Equal(gs[0].Sources, []string{"profile:eng"}) || gs[1].Entitlement != "app/b" {
		t.Errorf("alice's grants: %+v, want app/a from eng (its last put) and app/b", gs)
	}
}
