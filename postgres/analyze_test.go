package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// TestBulkWritesAreAnalyzed checks that a commit that wrote thousands of
// rows into a table has the planner's statistics of that table gathered at
// once (ANALYZE, which sets last_analyze; autovacuum's own, a minute later
// at best, sets last_autoanalyze), and that a small commit does not.
func TestBulkWritesAreAnalyzed(t *testing.T) {
	ctx := context.Background()
	db, conn := migrated(t)
	analyzed := func(table string) bool {
		var at *time.Time
		if err := conn.QueryRow(ctx, `SELECT last_analyze FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at != nil
	}
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	put := func(n int, prefix string) {
		t.Helper()
		err := db.Update(ctx, func(tx roster.Tx) error {
			for i := range n {
				if err := tx.PutUser(ctx, &roster.User{ID: fmt.Sprintf("%s%05d", prefix, i), Email: "u@example.com", Status: roster.UserActive,
					Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(100, "s")
	time.Sleep(time.Second)
	if analyzed("users") {
		t.Fatal("a commit of 100 users had users analyzed")
	}
	put(20000, "b")
	for deadline := time.Now().Add(30 * time.Second); !analyzed("users"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("30 s after a commit of 20,000 users, users has not been analyzed")
		}
	}
	if analyzed("grants") {
		t.Error("grants, which the commit did not write, was analyzed")
	}
}
