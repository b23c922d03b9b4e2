package syncview

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/sqlite"
)

// BenchmarkView reads the view of every profile of a generated organisation
// in its steady state, as a pass of syncs does, and fills each profile's
// plan input from it.
func BenchmarkView(b *testing.B) {
	db, now := steadyOrg(b)
	for b.Loop() {
		viewAll(b, db, now, func(v *View, ps []*roster.Profile) {
			var in roster.PlanInput
			for i := range ps {
				v.Fill(i, &in)
			}
		})
	}
}

// BenchmarkPlanPass plans every profile of the same organisation from one
// view, as planMany does: "planner" fills each profile's PlanInput and runs
// roster.PlanSync on it (what every pass did before View.Quiet), "quiet"
// asks Quiet first and plans only the profiles it cannot tell quiet.
func BenchmarkPlanPass(b *testing.B) {
	db, now := steadyOrg(b)
	for _, quietFirst := range []bool{false, true} {
		name := "planner"
		if quietFirst {
			name = "quiet"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				viewAll(b, db, now, func(v *View, ps []*roster.Profile) {
					var in roster.PlanInput
					for i := range ps {
						if quietFirst {
							if quiet, _ := v.Quiet(i); quiet {
								continue
							}
						}
						v.Fill(i, &in)
						if plan := roster.PlanSync(in); !plan.Empty() {
							b.Fatalf("profile %s is not in its steady state", ps[i].ID)
						}
					}
				})
			}
		})
	}
}

// steadyOrg loads a generated organisation of 20,000 users in its steady
// state into a new database, and returns it and the time it was loaded at.
func steadyOrg(b *testing.B) (*sqlite.DB, time.Time) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	clock := roster.NewManualClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	org := gen.Generate(gen.Config{Users: 20000, Apps: 10, Entitlements: 200, Profiles: 60, GrantsPerUser: 6, Seed: 1})
	if err := org.LoadWith(ctx, db, clock, gen.LoadOptions{State: gen.Synced}); err != nil {
		b.Fatal(err)
	}
	return db, clock.Now()
}

// viewAll reads the view of every profile of db and hands it to fn.
func viewAll(b *testing.B, db *sqlite.DB, now time.Time, fn func(v *View, ps []*roster.Profile)) {
	ctx := context.Background()
	err := db.View(ctx, func(tx roster.Tx) error {
		s, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		all, err := tx.Profiles(ctx)
		if err != nil {
			return err
		}
		ps := make([]*roster.Profile, len(all))
		for i := range all {
			ps[i] = &all[i]
		}
		v, err := Read(ctx, tx, s, ps, now, nil, nil)
		if err != nil {
			return err
		}
		fn(v, ps)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
