package syncview

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
)

// TestQuietIsAnEmptyPlan checks View.Quiet against the planner on random
// organisations: most profiles are in sync (their members are the users
// their rule matches), and each is then disturbed at random — a member
// added, dropped or made manual, a holder disabled or excluded, open
// enrollment and unenrollment tasks of either origin, for users on either
// side, a denial. Quiet must say true exactly when roster.PlanSync of the
// profile's PlanInput is empty and does not pause, but for a profile with
// denials, for which it may say false; and give PlanInput's Errors.
func TestQuietIsAnEmptyPlan(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	settings := roster.DefaultSettings()
	var quiet, busy int
	for round := range 40 {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatal(err)
		}
		var ps []*roster.Profile
		err = db.Update(ctx, func(tx roster.Tx) error {
			return randomOrg(ctx, tx, r, now, &ps)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(ctx, func(tx roster.Tx) error {
			v, err := Read(ctx, tx, &settings, ps, now, nil, nil)
			if err != nil {
				return err
			}
			for i, p := range ps {
				in := v.PlanInput(i)
				plan := roster.PlanSync(in)
				empty := plan.Empty() && !plan.Pause
				got, errs := v.Quiet(i)
				switch {
				case got && !empty:
					t.Errorf("round %d, profile %s: Quiet says true, the plan is %+v\ninput %+v", round, p.ID, plan, in)
				case !got && empty && len(in.Denials) == 0:
					t.Errorf("round %d, profile %s: Quiet says false, the plan is empty\ninput %+v", round, p.ID, in)
				}
				if errs != in.Errors {
					t.Errorf("round %d, profile %s: Quiet gives %d errors, PlanInput %d", round, p.ID, errs, in.Errors)
				}
				if got {
					quiet++
				} else {
					busy++
				}
			}
			return nil
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Both answers must have been put to the test.
	t.Logf("%d quiet, %d busy", quiet, busy)
	if quiet < 20 || busy < 20 {
		t.Fatalf("%d quiet and %d busy profiles: the organisations do not try both", quiet, busy)
	}
}

// randomOrg writes a random organisation into tx (see TestQuietIsAnEmptyPlan)
// and sets *ps to its profiles.
func randomOrg(ctx context.Context, tx roster.Tx, r *rand.Rand, now time.Time, ps *[]*roster.Profile) error {
	const users, ents = 40, 4
	active := map[string]bool{}
	var ids []string
	for u := range users {
		id := fmt.Sprintf("u%02d", u)
		ids = append(ids, id)
		status := roster.UserActive
		if r.IntN(8) == 0 {
			status = roster.UserDisabled
		}
		active[id] = status == roster.UserActive
		if err := tx.PutUser(ctx, &roster.User{ID: id, Status: status, Role: roster.RoleUser}); err != nil {
			return err
		}
	}
	holds := map[[2]string]bool{}
	for _, id := range append(slices.Clone(ids), "ghost") {
		for e := range ents {
			ent := fmt.Sprintf("a/e%d", e)
			if r.IntN(3) == 0 {
				holds[[2]string{id, ent}] = true
				if err := tx.PutGrant(ctx, &roster.Grant{User: id, Entitlement: ent, Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
		}
	}
	// with disturbs a profile one time in n.
	with := func(n int) bool { return r.IntN(n) == 0 }
	since := now.Add(-time.Hour)
	for pi := range 8 {
		p := &roster.Profile{ID: fmt.Sprintf("p%d", pi), Name: "p", Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct, Safeguard: r.IntN(2) == 0}}
		for e := range ents {
			if r.IntN(3) == 0 {
				p.Automation.AnyEntitlement = append(p.Automation.AnyEntitlement, fmt.Sprintf("a/e%d", e))
			}
		}
		if with(3) {
			p.Automation.ExcludedUsers = []string{ids[r.IntN(users)], "nobody"}
		}
		if err := tx.PutProfile(ctx, p); err != nil {
			return err
		}
		*ps = append(*ps, p)
		matches := func(id string) bool {
			if (id != "ghost" && !active[id]) || slices.Contains(p.Automation.ExcludedUsers, id) {
				return false
			}
			for _, ent := range p.Automation.AnyEntitlement {
				if holds[[2]string{id, ent}] {
					return true
				}
			}
			return false
		}
		member := func(id string, source roster.MemberSource) error {
			return tx.PutMember(ctx, &roster.Member{Profile: p.ID, User: id, Source: source, Since: since})
		}
		task := func(id string, kind roster.TaskKind, origin roster.Origin) error {
			return tx.CreateTask(ctx, &roster.Task{Kind: kind, User: id, Entitlement: roster.EnrollmentEntitlement(p.ID), State: roster.StatePendingApproval,
				Origin: origin, Profile: p.ID, Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now})
		}
		origin := func() roster.Origin {
			if r.IntN(2) == 0 {
				return roster.OriginAutomation
			}
			return roster.OriginManual
		}
		// In sync: every matching user is a member, or pending when
		// disturbed.
		for _, id := range append(slices.Clone(ids), "ghost") {
			in := matches(id)
			var err error
			switch {
			case in && with(12):
				// a matching user left out, or pending
				if with(2) {
					err = task(id, roster.TaskGrant, origin())
				}
			case in:
				source := roster.MemberAutomation
				if with(10) {
					source = roster.MemberManual
				}
				err = member(id, source)
				if err == nil && with(25) {
					err = task(id, roster.TaskRevoke, origin())
				}
			case with(15):
				// a member who does not match, of either source, perhaps
				// leaving already
				source := roster.MemberAutomation
				if with(2) {
					source = roster.MemberManual
				}
				err = member(id, source)
				if err == nil && with(2) {
					err = task(id, roster.TaskRevoke, origin())
				}
			case with(25):
				err = task(id, roster.TaskGrant, origin())
			}
			if err != nil {
				return err
			}
		}
		if with(10) {
			kind := roster.TaskGrant
			if with(2) {
				kind = roster.TaskRevoke
			}
			if err := tx.PutDenial(ctx, &roster.Denial{Profile: p.ID, User: ids[r.IntN(users)], Kind: kind, At: since}); err != nil {
				return err
			}
		}
	}
	return nil
}
