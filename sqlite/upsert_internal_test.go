package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// mixedGrants returns n grants, every third one of which (i%3 == 0) was
// created at t0 and is put again at t1 with another source, the others new
// at t1, plus the grants to create at t0 beforehand.
func mixedGrants(n int) (before, puts []roster.Grant) {
	t0, t1 := time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC()
	for i := range n {
		g := roster.Grant{User: fmt.Sprintf("u%05d", i), Entitlement: fmt.Sprintf("app/e%d", i%7), Sources: []string{"direct"}, CreatedAt: t1, UpdatedAt: t1}
		if i%3 == 0 {
			g.CreatedAt, g.UpdatedAt = t0, t0
			before = append(before, g)
			g.Sources = []string{"direct", "profile:p"}
			g.UpdatedAt = t1
		}
		puts = append(puts, g)
	}
	return before, puts
}

func putGrants(ctx context.Context, db *DB, gs []roster.Grant) error {
	return db.Update(ctx, func(rt roster.Tx) error {
		for i := range gs {
			if err := rt.PutGrant(ctx, &gs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestPutGrantsMixed checks the grants written behind where new grants and
// puts of existing ones alternate (issue 18 #1: a sync enrolling users who
// hold some of the profile's entitlements): each ends as put last, whether
// the put looks like an update (created before it was updated) or not, and
// including one that looks like an update but is new and a key put twice.
func TestPutGrantsMixed(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, puts := mixedGrants(3000)
	if err := putGrants(ctx, db, before); err != nil {
		t.Fatal(err)
	}
	// New, though created before it was updated (an import of old grants).
	old := roster.Grant{User: "ghost", Entitlement: "app/e1", Sources: []string{"direct"}, CreatedAt: time.Unix(50, 0).UTC(), UpdatedAt: time.Unix(200, 0).UTC()}
	puts = append(puts, old)
	// Put twice in the same transaction: the last put wins.
	twice := puts[3]
	twice.Sources = []string{"direct", "profile:p", "profile:q"}
	puts = append(puts, twice)
	if err := putGrants(ctx, db, puts); err != nil {
		t.Fatal(err)
	}
	want := map[string]roster.Grant{}
	for _, g := range puts {
		want[g.User+" "+g.Entitlement] = g
	}
	err = db.View(ctx, func(rt roster.Tx) error {
		for k, w := range want {
			g, err := rt.Grant(ctx, w.User, w.Entitlement)
			if err != nil {
				return fmt.Errorf("grant %s: %w", k, err)
			}
			if fmt.Sprint(g.Sources) != fmt.Sprint(w.Sources) || !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
				t.Errorf("grant %s: sources %v, created %v, updated %v; want %v, %v, %v", k, g.Sources, g.CreatedAt, g.UpdatedAt, w.Sources, w.CreatedAt, w.UpdatedAt)
			}
		}
		var n int
		if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM grants`).Scan(&n); err != nil {
			return err
		}
		if n != len(want) {
			t.Errorf("%d grants, want %d", n, len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPutGrantsMixed puts 8,192 grants in one transaction, a third of
// them existing ones, as a sync that justifies some grants and creates
// others does.
func BenchmarkPutGrantsMixed(b *testing.B) {
	ctx := context.Background()
	before, puts := mixedGrants(8192)
	for range b.N {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := putGrants(ctx, db, before); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := putGrants(ctx, db, puts); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
	}
}
