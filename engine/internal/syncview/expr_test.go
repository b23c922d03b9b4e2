package syncview

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/rule"
	"github.com/rosterhq/roster/sqlite"
)

// TestMatchesFollowChanges changes a random organisation step by step —
// users' fields and statuses, grants an expression reads through user.has
// and user.member_of, new users, an expression rewritten — and checks after
// each step that the views read with one Matches kept across them plan
// exactly as views that evaluate every expression afresh; and that a view
// read when nothing changed evaluates nothing. Some steps' changes are
// read by views inside their transaction, which then rolls back (as a plan
// does): the revs it gave are given again to the next changes, and the
// Matches must not keep what it read.
func TestMatchesFollowChanges(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := rand.New(rand.NewPCG(1, 2))
	depts := []string{"Eng", "Sales", "Ops"}
	places := []string{"Paris", "Berlin"}
	randomUser := func(id string) roster.User {
		u := roster.User{ID: id, Email: id + "@example.com", Department: depts[r.IntN(len(depts))], Location: places[r.IntN(len(places))],
			Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: now, UpdatedAt: now}
		if r.IntN(5) == 0 {
			u.Status = roster.UserDisabled
		}
		if r.IntN(2) == 0 {
			u.Attributes = map[string]string{"cc": fmt.Sprint(r.IntN(2))}
		}
		return u
	}
	profile := func(id, expr string, any ...string) *roster.Profile {
		p := &roster.Profile{ID: id, Name: id, Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct,
			AnyEntitlement: any, Expression: expr}}
		if expr != "" {
			c, err := rule.Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			rd := c.Reads()
			p.Automation.Reads = &roster.ExpressionReads{Fields: rd.Fields, Entitlements: rd.Entitlements, Profiles: rd.Profiles}
		}
		return p
	}
	ps := []*roster.Profile{
		profile("dept", `user.department == "Eng"`),
		profile("both", `user.location != "Paris"`, "a/x"),
		profile("has", `user.has("a/x") || user.member_of("q")`),
		profile("attr", `user.attributes["cc"] == "1"`),
		profile("plain", "", "a/x"),
	}
	users := 0
	grant := func(tx roster.Tx, user, ent string) error {
		return tx.PutGrant(ctx, &roster.Grant{User: user, Entitlement: ent, Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now})
	}
	err = db.Update(ctx, func(tx roster.Tx) error {
		for ; users < 40; users++ {
			u := randomUser(fmt.Sprintf("u%03d", users))
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
			if r.IntN(3) == 0 {
				if err := grant(tx, u.ID, "a/x"); err != nil {
					return err
				}
			}
		}
		for _, p := range ps {
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
		}
		return grant(tx, "ghost", "a/x") // a holder the users table lacks
	})
	if err != nil {
		t.Fatal(err)
	}
	s := roster.DefaultSettings()
	kept, alone := NewMatches(), NewMatches()
	check := func(step int, wantNoEvals bool) {
		t.Helper()
		err := db.View(ctx, func(tx roster.Tx) error {
			before := kept.Evaluations()
			cached, err := Read(ctx, tx, &s, ps, now, kept, nil)
			if err != nil {
				return err
			}
			if wantNoEvals && kept.Evaluations() != before {
				t.Errorf("step %d: nothing changed, yet %d evaluations", step, kept.Evaluations()-before)
			}
			fresh, err := Read(ctx, tx, &s, ps, now, nil, nil)
			if err != nil {
				return err
			}
			for i, p := range ps {
				want := fresh.PlanInput(i)
				if got := cached.PlanInput(i); !reflect.DeepEqual(got, want) {
					t.Errorf("step %d, profile %s:\nkept  %+v\nfresh %+v", step, p.ID, got, want)
				}
				// One profile's matches alone, as a single sync reads them,
				// with matches kept by those reads.
				matching, errs, err := Matching(ctx, tx, p, alone, nil)
				if err != nil {
					return err
				}
				if !slices.Equal(matching, want.Matching) || errs != want.Errors {
					t.Errorf("step %d, profile %s: Matching gives %v and %d errors, want %v and %d", step, p.ID, matching, errs, want.Matching, want.Errors)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(0, false)
	check(0, true)
	errRollback := fmt.Errorf("roll back")
	rolledBack := 0
	for step := 1; step <= 60; step++ {
		rollback := r.IntN(3) == 0
		var journals [2]Journal
		err := db.Update(ctx, func(tx roster.Tx) (err error) {
			if rollback {
				defer func() {
					if err == nil {
						// The views of the transaction read its changes.
						if _, err = Read(ctx, tx, &s, ps, now, kept, &journals[0]); err != nil {
							return
						}
						for _, p := range ps {
							if _, _, err = Matching(ctx, tx, p, alone, &journals[1]); err != nil {
								return
							}
						}
						err = errRollback
					}
				}()
			}
			for range 1 + r.IntN(4) {
				id := fmt.Sprintf("u%03d", r.IntN(users))
				switch r.IntN(6) {
				case 0, 1: // a user's fields or status change
					u := randomUser(id)
					if err := tx.PutUser(ctx, &u); err != nil {
						return err
					}
				case 2:
					if err := grant(tx, id, "a/x"); err != nil {
						return err
					}
				case 3:
					if err := tx.DeleteGrant(ctx, id, "a/x"); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
						return err
					}
				case 4:
					if err := grant(tx, id, roster.EnrollmentEntitlement("q")); err != nil {
						return err
					}
				case 5: // a new user
					u := randomUser(fmt.Sprintf("u%03d", users))
					users++
					if err := tx.PutUser(ctx, &u); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if rollback {
			if err != errRollback {
				t.Fatalf("step %d: %v", step, err)
			}
			journals[0].Undo()
			journals[1].Undo()
			rolledBack++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if step%10 == 0 {
			ps[0] = profile("dept", fmt.Sprintf(`user.department == %q`, depts[r.IntN(len(depts))]))
		}
		check(step, false)
	}
	if rolledBack == 0 {
		t.Fatal("no step rolled back")
	}
	if kept.Evaluations() == 0 {
		t.Fatal("no evaluation counted")
	}
}

// TestMatchesOlderSnapshot: a view whose transaction began before a user
// was added, read after a newer view taught the Matches that user, lacks
// them; the Matches must still give the new user to the views after.
func TestMatchesOlderSnapshot(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := rule.Compile(`user.department == "Eng"`)
	if err != nil {
		t.Fatal(err)
	}
	p := &roster.Profile{ID: "eng", Name: "eng", Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct,
		Expression: `user.department == "Eng"`, Reads: &roster.ExpressionReads{Fields: c.Reads().Fields}}}
	put := func(id string) {
		t.Helper()
		err := db.Update(ctx, func(tx roster.Tx) error {
			return tx.PutUser(ctx, &roster.User{ID: id, Email: id + "@example.com", Department: "Eng", Status: roster.UserActive,
				Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	m := NewMatches()
	matching := func(tx roster.Tx) []string {
		t.Helper()
		got, _, err := Matching(ctx, tx, p, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	err = db.View(ctx, func(old roster.Tx) error {
		if got := matching(old); !slices.Equal(got, []string{"a"}) { // the snapshot begins
			t.Fatalf("first: %v", got)
		}
		put("b")
		if err := db.View(ctx, func(tx roster.Tx) error {
			if got := matching(tx); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("after b was added: %v", got)
			}
			return nil
		}); err != nil {
			return err
		}
		// The older snapshot lacks b: a full view forgets them.
		_, err := Read(ctx, old, &roster.Settings{}, []*roster.Profile{p}, now, m, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx roster.Tx) error {
		if got := matching(tx); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("after a view of an older snapshot: %v, want [a b]", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
