package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/rule"
	"github.com/rosterhq/roster/sqlite"
)

// openStores opens an empty database of each store: SQLite, and PostgreSQL
// where a test server is at hand.
func openStores() map[string]func(t *testing.T) roster.Store {
	return map[string]func(t *testing.T) roster.Store{
		"sqlite": func(t *testing.T) roster.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) roster.Store {
			db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
}

// countingStore is a PostgreSQL store that counts, by profile, the reads
// of a profile's whole membership: what a sync's plan reads.
type countingStore struct {
	*postgres.DB
	members map[string]*atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(roster.Tx) error) error {
	return s.DB.View(ctx, func(tx roster.Tx) error { return fn(countingTx{tx, s}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	return s.DB.Update(ctx, func(tx roster.Tx) error { return fn(countingTx{tx, s}) })
}

type countingTx struct {
	roster.Tx
	s *countingStore
}

func (t countingTx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	if n := t.s.members[profile]; n != nil {
		n.Add(1)
	}
	return t.Tx.Members(ctx, profile)
}

// TestChangeSyncPlansOnce checks that a change-driven sync on PostgreSQL,
// whose transactions lock the profile and the users its plan changes
// rather than run alone, reads its profile's state once: it plans inside
// its transaction, then locks the users the plan names and reads only
// theirs again — not a whole plan in a view to learn whom to lock and
// another in the transaction. The grant added still enrolls its user.
func TestChangeSyncPlansOnce(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{DB: db, members: map[string]*atomic.Int64{"staff": {}}}
	e := New(Config{Store: store})
	if _, err := e.Bootstrap(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	admin := roster.NewContext(ctx, roster.AdminUser)
	doc := "policies: [{id: auto, steps: []}]\n" +
		"apps: [{id: okta, entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]}]\n" +
		"users: [{id: alice, email: alice@example.com}, {id: bob, email: bob@example.com}, {id: carol, email: carol@example.com}]\n" +
		"grants: [{user: alice, entitlement: okta/staff}]\n" +
		"profiles: [{id: staff, enrollment: {policy: auto}, automation: {enabled: true, any_entitlement: [okta/staff]}}]\n"
	if _, err := e.Apply(admin, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	changes := NewChangeSync(e, time.Hour)
	if _, err := changes.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bob", "carol"} {
		if _, err := e.AddGrant(admin, user, "okta/staff"); err != nil {
			t.Fatal(err)
		}
		store.members["staff"].Store(0)
		synced, err := changes.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if synced != 1 {
			t.Fatalf("after %s's grant, the change sync synced %d profiles, want 1", user, synced)
		}
		if n := store.members["staff"].Load(); n != 1 {
			t.Errorf("the change sync after %s's grant read the profile's members %d times, want once", user, n)
		}
		var m *roster.Member
		err = store.View(ctx, func(tx roster.Tx) (err error) {
			ms, err := tx.MembershipsOf(ctx, []string{user})
			if len(ms) == 1 {
				m = &ms[0]
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if m == nil || m.Profile != "staff" {
			t.Fatalf("%s is not a member of staff after the change sync: %+v", user, m)
		}
	}
}

// TestRefreshedPlanInput checks refreshPlanInput, what a sync uses once it
// has locked the users its plan changes, against op.planInput, on random
// organisations on both stores: a profile's input read before some users
// changed in every way the planner reads (grants of the rule's
// entitlements and others, status, membership of the profile and of
// another, open enrollment and unenrollment tasks of the profile, of either
// origin, closed ones, denials, the fields an expression reads), brought up
// to date for those users, must equal the input read afresh.
func TestRefreshedPlanInput(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rounds := 12
			if name == "postgres" {
				rounds = 4
			}
			for round := range rounds {
				testRefreshedPlanInput(t, open(t), round)
			}
		})
	}
}

func testRefreshedPlanInput(t *testing.T, store roster.Store, round int) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	e := New(Config{Store: store, Clock: roster.NewManualClock(now)})
	r := rand.New(rand.NewPCG(uint64(round), 11))
	const users, ents = 30, 4
	ids := make([]string, users)
	for u := range ids {
		ids[u] = fmt.Sprintf("u%02d", u)
	}
	ent := func() string { return fmt.Sprintf("a/e%d", r.IntN(ents)) }
	depts := []string{"Eng", "Sales"}
	c, err := rule.Compile(`user.department == "Eng"`)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*roster.Profile
	for pi := range 6 {
		p := &roster.Profile{ID: fmt.Sprintf("p%d", pi), Name: "p", Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct, Safeguard: pi%2 == 0}}
		switch {
		case pi == 5:
			p.Automation.Expression, p.Automation.Reads = `user.department == "Eng"`, &roster.ExpressionReads{Fields: c.Reads().Fields}
		case pi == 4:
			p.Automation.AnyEntitlement = []string{ent()}
			p.Automation.Expression, p.Automation.Reads = `user.department == "Eng"`, &roster.ExpressionReads{Fields: c.Reads().Fields}
		default:
			p.Automation.AnyEntitlement = []string{ent(), ent()}
		}
		if r.IntN(2) == 0 {
			p.Automation.ExcludedUsers = []string{ids[r.IntN(users)]}
		}
		ps = append(ps, p)
	}
	// disturb changes user id in every way the planner reads, at random.
	disturb := func(tx roster.Tx, id string) error {
		status := roster.UserActive
		if r.IntN(5) == 0 {
			status = roster.UserDisabled
		}
		if err := tx.PutUser(ctx, &roster.User{ID: id, Email: id + "@example.com", Department: depts[r.IntN(2)], Status: status,
			Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for range 2 {
			g := ent()
			if r.IntN(2) == 0 {
				if err := tx.DeleteGrant(ctx, id, g); err != nil {
					return err
				}
			} else if err := tx.PutGrant(ctx, &roster.Grant{User: id, Entitlement: g, Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for _, p := range ps {
			switch r.IntN(4) {
			case 0:
				source := roster.MemberAutomation
				if r.IntN(3) == 0 {
					source = roster.MemberManual
				}
				if err := tx.PutMember(ctx, &roster.Member{Profile: p.ID, User: id, Source: source, Since: now.Add(-time.Hour)}); err != nil {
					return err
				}
			case 1:
				if err := tx.DeleteMember(ctx, p.ID, id); err != nil {
					return err
				}
			}
			if r.IntN(4) == 0 {
				kind := []roster.TaskKind{roster.TaskGrant, roster.TaskRevoke}[r.IntN(2)]
				origin := []roster.Origin{roster.OriginAutomation, roster.OriginManual}[r.IntN(2)]
				state := []roster.TaskState{roster.StatePendingApproval, roster.StatePendingProvisioning, roster.StateDone}[r.IntN(3)]
				// One open task of a kind to a user and entitlement: a second
				// is refused, and the transaction goes on.
				err := tx.CreateTask(ctx, &roster.Task{Kind: kind, User: id, Entitlement: roster.EnrollmentEntitlement(p.ID), State: state, Origin: origin, Profile: p.ID,
					Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now})
				if err != nil && roster.ErrorCode(err) != roster.ECONFLICT {
					return err
				}
			}
			if r.IntN(5) == 0 {
				kind := []roster.TaskKind{roster.TaskGrant, roster.TaskRevoke}[r.IntN(2)]
				if err := tx.PutDenial(ctx, &roster.Denial{Profile: p.ID, User: id, Kind: kind, At: now}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err = store.Update(ctx, func(tx roster.Tx) error {
		for _, p := range ps {
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if err := disturb(tx, id); err != nil {
				return err
			}
		}
		return tx.AddRemoval(ctx, ps[0].ID, ids[0], now.Add(-time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func() (ins []roster.PlanInput) {
		t.Helper()
		err := e.view(ctx, func(o *op) error {
			for _, p := range ps {
				in, err := o.planInput(p)
				if err != nil {
					return err
				}
				ins = append(ins, in)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ins
	}
	before := read()
	// Some users change, and a user the users table does not know gains
	// grants.
	changed := []string{"ghost"}
	for _, id := range ids {
		if r.IntN(4) == 0 {
			changed = append(changed, id)
		}
	}
	err = store.Update(ctx, func(tx roster.Tx) error {
		for _, id := range changed[1:] {
			if err := disturb(tx, id); err != nil {
				return err
			}
		}
		for e := range ents {
			if err := tx.PutGrant(ctx, &roster.Grant{User: "ghost", Entitlement: fmt.Sprintf("a/e%d", e), Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := read()
	moved := 0
	err = e.view(ctx, func(o *op) error {
		for i, p := range ps {
			in := before[i]
			if err := o.refreshPlanInput(p, &in, changed); err != nil {
				return err
			}
			if !reflect.DeepEqual(normalInput(in), normalInput(after[i])) {
				t.Errorf("round %d, profile %s (users %v changed): refreshed input\n got %+v\nwant %+v", round, p.ID, changed, normalInput(in), normalInput(after[i]))
			}
			if !reflect.DeepEqual(normalInput(before[i]), normalInput(after[i])) {
				moved++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if moved == 0 {
		t.Fatalf("round %d: the changes moved no profile's input", round)
	}
}

// normalInput returns in with its empty lists nil, for comparing.
func normalInput(in roster.PlanInput) roster.PlanInput {
	in.Matching = slices.Clip(nilIfEmpty(in.Matching))
	in.Disabled = nilIfEmpty(in.Disabled)
	in.Members = nilIfEmpty(in.Members)
	in.OpenEnrollments = nilIfEmpty(in.OpenEnrollments)
	in.OpenUnenrollments = nilIfEmpty(in.OpenUnenrollments)
	in.Denials = nilIfEmpty(in.Denials)
	return in
}

func nilIfEmpty[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}
