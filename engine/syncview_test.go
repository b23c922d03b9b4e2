package engine

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/engine/internal/syncview"
)

// TestSyncViewPlanInput checks that the shared view of a pass (syncview.View)
// gives every profile exactly the PlanInput that op.planInput reads from the
// store one profile at a time, on a generated organisation bent out of its
// steady state in every way the planner cares about: disabled users,
// exclusions, manual members, members who stopped matching, holders unknown
// to the users table, open enrollments and unenrollments (automation and
// manual, of disabled users too), denials, removals inside and outside the
// safeguard's hour, a paused profile, a profile never synced and one with an
// empty rule. It then syncs every profile and checks again.
func TestSyncViewPlanInput(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSyncViewPlanInput(t, open(t))
		})
	}
}

func testSyncViewPlanInput(t *testing.T, store roster.Store) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	clock := roster.NewManualClock(now)
	e := New(Config{Store: store, Clock: clock})
	org := gen.Generate(gen.Config{Users: 400, Apps: 4, Entitlements: 40, Profiles: 16, GrantsPerUser: 6, Seed: 3, DisabledPercent: 4})
	if err := org.LoadWith(ctx, store, clock, gen.LoadOptions{State: gen.Synced}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bootstrap(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	members := org.Members()
	// member returns the k-th member of profile p (a user who matches it).
	member := func(p, k int) string { return gen.UserID(int(members[p][k%len(members[p])])) }
	rule := func(p int) string { return org.EntitlementID(int(org.Profiles[p].Rule[0])) }
	err := store.Update(ctx, func(tx roster.Tx) error {
		profile := func(p int, change func(*roster.Profile)) error {
			pr, err := tx.Profile(ctx, gen.ProfileID(p))
			if err != nil {
				return err
			}
			change(pr)
			return tx.PutProfile(ctx, pr)
		}
		task := func(p int, user, kind, origin, state string) error {
			return tx.CreateTask(ctx, &roster.Task{Kind: roster.TaskKind(kind), User: user, Entitlement: roster.EnrollmentEntitlement(gen.ProfileID(p)),
				State: roster.TaskState(state), Origin: roster.Origin(origin), Profile: gen.ProfileID(p), Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{},
				History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now})
		}
		steps := []func() error{
			func() error {
				return profile(0, func(p *roster.Profile) { p.Sync.State = roster.AutomationPaused })
			},
			func() error {
				return profile(1, func(p *roster.Profile) {
					p.Automation.ExcludedUsers = []string{member(1, 0), member(1, 3), "nobody"}
				})
			},
			func() error {
				return profile(2, func(p *roster.Profile) { p.Automation.Mode = roster.ModeSyncMembersOnly })
			},
			func() error {
				return profile(3, func(p *roster.Profile) { p.Automation.AnyEntitlement = []string{} })
			},
			// Disabled members, of several profiles.
			func() error {
				for _, u := range []string{member(4, 0), member(5, 1), member(6, 2)} {
					usr, err := tx.User(ctx, u)
					if err != nil {
						return err
					}
					usr.Status = roster.UserDisabled
					if err := tx.PutUser(ctx, usr); err != nil {
						return err
					}
				}
				return nil
			},
			// Holders the users table does not know, sorting before and after
			// every user.
			func() error {
				for _, u := range []string{"a-ghost", "zz-ghost"} {
					g := roster.Grant{User: u, Entitlement: rule(5), Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}
					if err := tx.PutGrant(ctx, &g); err != nil {
						return err
					}
				}
				return nil
			},
			// A manual member who does not match, and members who stopped
			// matching.
			func() error {
				m := roster.Member{Profile: gen.ProfileID(7), User: "m-manual", Source: roster.MemberManual, Since: now.Add(-time.Minute)}
				if err := tx.PutMember(ctx, &m); err != nil {
					return err
				}
				for k := 0; k < 2; k++ {
					u := member(8, k)
					for _, ent := range org.Profiles[8].Rule {
						if err := tx.DeleteGrant(ctx, u, org.EntitlementID(int(ent))); err != nil {
							return err
						}
					}
				}
				return nil
			},
			// Open tasks of both kinds and origins, a closed one, and one of
			// another entitlement.
			func() error {
				for _, tk := range []struct {
					p                         int
					user, kind, origin, state string
				}{
					{9, "t-newcomer", string(roster.TaskGrant), string(roster.OriginAutomation), string(roster.StatePendingApproval)},
					{9, member(9, 0), string(roster.TaskRevoke), string(roster.OriginAutomation), string(roster.StatePendingApproval)},
					{9, member(9, 1), string(roster.TaskRevoke), string(roster.OriginManual), string(roster.StatePendingProvisioning)},
					{9, member(4, 0), string(roster.TaskGrant), string(roster.OriginManual), string(roster.StatePendingApproval)},
					{10, "t-other", string(roster.TaskGrant), string(roster.OriginManual), string(roster.StatePendingProvisioning)},
					{10, "t-closed", string(roster.TaskGrant), string(roster.OriginAutomation), string(roster.StateDone)},
				} {
					if err := task(tk.p, tk.user, tk.kind, tk.origin, tk.state); err != nil {
						return err
					}
				}
				return tx.CreateTask(ctx, &roster.Task{Kind: roster.TaskGrant, User: "t-x", Entitlement: rule(10), State: roster.StatePendingApproval,
					Origin: roster.OriginManual, Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now})
			},
			func() error {
				for _, d := range []roster.Denial{
					{Profile: gen.ProfileID(11), User: member(11, 2), Kind: roster.TaskRevoke, At: now},
					{Profile: gen.ProfileID(11), User: member(11, 2), Kind: roster.TaskGrant, At: now},
					{Profile: gen.ProfileID(11), User: member(11, 0), Kind: roster.TaskGrant, At: now.Add(-time.Hour)},
					{Profile: gen.ProfileID(12), User: "d-someone", Kind: roster.TaskRevoke, At: now},
				} {
					if err := tx.PutDenial(ctx, &d); err != nil {
						return err
					}
				}
				return nil
			},
			func() error {
				for _, r := range []struct {
					p   int
					ago time.Duration
				}{{12, time.Minute}, {12, 59 * time.Minute}, {12, time.Hour}, {12, 2 * time.Hour}, {13, 3 * time.Hour}} {
					if err := tx.AddRemoval(ctx, gen.ProfileID(r.p), "r-user", now.Add(-r.ago)); err != nil {
						return err
					}
				}
				return nil
			},
			// A profile never synced.
			func() error {
				p := org.Profile(14, now)
				p.ID, p.Name = "p-new", "p-new"
				for _, ent := range gen.Builtins(p, now) {
					if err := tx.PutEntitlement(ctx, &ent); err != nil {
						return err
					}
				}
				return tx.PutProfile(ctx, p)
			},
		}
		for i, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	compare := func(t *testing.T) (totals roster.PlanInput) {
		t.Helper()
		err := e.view(ctx, func(o *op) error {
			all, err := o.tx.Profiles(ctx)
			if err != nil {
				return err
			}
			var ps []*roster.Profile
			for i := range all {
				if all[i].Sync.State != roster.AutomationPaused {
					ps = append(ps, &all[i])
				}
			}
			if len(ps) != len(all)-1 {
				t.Errorf("%d profiles not paused of %d, want one paused", len(ps), len(all))
			}
			s, err := o.tenant()
			if err != nil {
				return err
			}
			v, err := syncview.Read(o.ctx, o.tx, s, ps, o.now, nil, nil)
			if err != nil {
				return err
			}
			var reused roster.PlanInput
			for i, p := range ps {
				want, err := o.planInput(p)
				if err != nil {
					return err
				}
				if got := v.PlanInput(i); !reflect.DeepEqual(got, want) {
					t.Errorf("profile %s: the view's plan input differs from the store's\n got %+v\nwant %+v", p.ID, got, want)
				}
				// Filling one PlanInput over and over, as planMany does, plans
				// the same.
				v.Fill(i, &reused)
				if got, want := roster.PlanSync(reused), roster.PlanSync(want); !reflect.DeepEqual(got, want) {
					t.Errorf("profile %s: planned from a reused input\n got %+v\nwant %+v", p.ID, got, want)
				}
				totals.Matching = append(totals.Matching, want.Matching...)
				totals.Disabled = append(totals.Disabled, want.Disabled...)
				totals.Members = append(totals.Members, want.Members...)
				totals.OpenEnrollments = append(totals.OpenEnrollments, want.OpenEnrollments...)
				totals.OpenUnenrollments = append(totals.OpenUnenrollments, want.OpenUnenrollments...)
				totals.Denials = append(totals.Denials, want.Denials...)
				totals.RecentRemovals += want.RecentRemovals
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return totals
	}
	totals := compare(t)
	// The organisation exercises what it is meant to.
	if len(totals.Disabled) == 0 || len(totals.OpenEnrollments) < 3 || len(totals.OpenUnenrollments) < 2 ||
		len(totals.Denials) < 4 || totals.RecentRemovals < 2 || len(totals.Members) == 0 {
		t.Fatalf("the organisation misses a case: %d disabled, %d open enrollments, %d open unenrollments, %d denials, %d removals, %d members",
			len(totals.Disabled), len(totals.OpenEnrollments), len(totals.OpenUnenrollments), len(totals.Denials), totals.RecentRemovals, len(totals.Members))
	}
	for _, ghost := range []string{"a-ghost", "zz-ghost"} {
		if !contains(totals.Matching, ghost) {
			t.Fatalf("%s, a holder the users table does not know, matches no profile", ghost)
		}
	}

	// After a sync of every profile (some pass through the write path, the
	// others are quiet), the view still agrees, and a second pass finds
	// nothing to do.
	admin := roster.NewContext(ctx, roster.AdminUser)
	results, err := e.SyncAll(admin)
	if err != nil {
		t.Fatal(err)
	}
	busy := 0
	for _, r := range results {
		if len(r.Enrolled)+len(r.Unenrolled)+len(r.Cancelled)+r.TasksCreated > 0 {
			busy++
		}
	}
	if busy == 0 {
		t.Fatal("the first sync changed nothing")
	}
	compare(t)
	if results, err = e.SyncAll(admin); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if len(r.Enrolled)+len(r.Unenrolled)+len(r.Cancelled)+r.TasksCreated > 0 {
			t.Errorf("second sync of %s was not quiet: %+v", r.Profile, r)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
