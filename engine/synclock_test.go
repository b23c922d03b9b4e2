package engine

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
	"github.com/rosterhq/roster/engine/internal/syncview"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/rule"
	"github.com/rosterhq/roster/sqlite"
)

// pruneAccessLog prunes the access log to one past the mark now (on
// PostgreSQL a transaction running elsewhere may hold the mark back to an
// earlier one): no earlier mark reaches it any more.
func pruneAccessLog(t *testing.T, store roster.Store) {
	t.Helper()
	ctx := context.Background()
	err := store.Update(ctx, func(tx roster.Tx) error {
		mark, err := tx.AccessMark(ctx)
		if err == nil {
			err = tx.PruneAccessLog(ctx, mark+1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// awaitMarkReaches waits until a mark taken now reaches the access log
// (see pruneAccessLog). On SQLite the first write after a pruning logs past
// it; on PostgreSQL a mark is the oldest transaction running anywhere on
// the server, so another database's (another package's tests) can hold it
// at the pruned one for a while, and a view read meanwhile would read whole
// again at its next refresh.
func awaitMarkReaches(t *testing.T, store roster.Store) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var mark int64
		var reaches bool
		err := store.View(ctx, func(tx roster.Tx) (err error) {
			if mark, err = tx.AccessMark(ctx); err == nil {
				_, reaches, err = tx.AccessChangedSince(ctx, mark)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if reaches {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a mark taken now (%d) still does not reach the pruned access log a minute later: a transaction on the server runs that long", mark)
		}
	}
}

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

// staffOrg returns an engine on store holding alice, bob and carol and the
// profile staff, whose rule is okta/staff, auto-approved; alice holds it
// (and is enrolled by the apply's sync). It returns the admin's context.
func staffOrg(t *testing.T, store roster.Store) (*Engine, context.Context) {
	t.Helper()
	ctx := context.Background()
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
	return e, admin
}

// TestChangeSyncReadsOnlyChanges checks that a change-driven sync reads
// only what changed since the profile's last change-driven sync (an
// apply's keeps nothing): the users the access log names, not the profile's members, holders and open tasks again —
// nor, on PostgreSQL, whose transactions lock the profile and the users
// its plan changes rather than run alone, a whole plan in a view to learn
// whom to lock and another in the transaction. The grant added still
// enrolls its user, and one removed unenrolls its user.
func TestChangeSyncReadsOnlyChanges(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := &countingStore{Store: open(t)}
			e, admin := staffOrg(t, store)
			// An apply's syncs keep no input (they would only hold memory
			// for profiles that may never change); a change sync's does.
			if e.kept.has("staff") {
				t.Error("the apply's sync of staff kept its plan input")
			}
			changes := NewChangeSync(e, time.Hour)
			member := func(user string) bool {
				var ms []roster.Member
				err := store.View(ctx, func(tx roster.Tx) (err error) {
					ms, err = tx.MembershipsAmong(ctx, []string{user}, []string{"staff"})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return len(ms) == 1
			}
			for i, step := range []struct {
				user   string
				change func() error
				member bool
			}{
				{"bob", func() error { _, err := e.AddGrant(admin, "bob", "okta/staff"); return err }, true},
				{"carol", func() error { _, err := e.AddGrant(admin, "carol", "okta/staff"); return err }, true},
				{"bob", func() error { return e.RemoveGrant(admin, "bob", "okta/staff") }, false},
			} {
				if err := step.change(); err != nil {
					t.Fatal(err)
				}
				store.reset()
				synced, err := changes.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if synced != 1 {
					t.Fatalf("after %s's change, the change sync synced %d profiles, want 1", step.user, synced)
				}
				// The first reads the profile whole, and keeps it.
				if n := store.count(wholeProfile...); i == 0 && n == 0 || i > 0 && n != 0 {
					t.Errorf("change sync %d, after %s's change, read the whole profile %d times", i+1, step.user, n)
				}
				if !e.kept.has("staff") {
					t.Errorf("change sync %d kept no plan input", i+1)
				}
				if got := member(step.user); got != step.member {
					t.Fatalf("after the change sync, %s a member of staff: %v, want %v", step.user, got, step.member)
				}
			}
			// Once the log no longer reaches back to the kept input's
			// mark, the sync reads the profile whole.
			pruneAccessLog(t, store)
			if err := e.RemoveGrant(admin, "carol", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			store.reset()
			if _, err := changes.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := store.count(wholeProfile...); n == 0 {
				t.Error("the change sync after the access log was pruned read the profile from its kept input")
			}
			if member("carol") {
				t.Error("carol is still a member of staff after her grant was removed")
			}
		})
	}
}

// TestRefreshedPlanInput checks refreshPlanInput, what a sync uses once it
// has locked the users its plan changes, and keptPlanInput, which finds
// them from the access log, against op.planInput, on random
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

// TestSteadyPassReadsOnlyChanges: a pass of every profile's sync reads the
// organisation whole once, and then only what the access log says changed
// (kept.go's keptView) — and still acts on those changes — until the log
// no longer reaches back to the kept view.
func TestSteadyPassReadsOnlyChanges(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := &countingStore{Store: open(t)}
			e, admin := staffOrg(t, store)
			pass := func(what string, whole bool, enrolled, unenrolled []string) {
				t.Helper()
				store.reset()
				results, err := e.SyncAll(admin)
				if err != nil {
					t.Fatal(err)
				}
				if n := store.count("ScanSync.whole"); (n > 0) != whole {
					t.Errorf("%s: the pass read the organisation whole %d times, want whole: %v", what, n, whole)
				}
				if len(results) != 1 || !slices.Equal(orEmpty(results[0].Enrolled), orEmpty(enrolled)) || !slices.Equal(orEmpty(results[0].Unenrolled), orEmpty(unenrolled)) {
					t.Errorf("%s: the pass gave %+v, want %v enrolled and %v unenrolled", what, results, enrolled, unenrolled)
				}
			}
			pass("the first pass", true, nil, nil)
			pass("a steady pass", false, nil, nil)
			if _, err := e.AddGrant(admin, "bob", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			pass("the pass after bob's grant", false, []string{"bob"}, nil)
			if err := e.RemoveGrant(admin, "alice", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			pass("the pass after alice's grant was removed", false, nil, []string{"alice"})
			pass("a steady pass again", false, nil, nil)
			pruneAccessLog(t, store)
			if _, err := e.AddGrant(admin, "carol", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			awaitMarkReaches(t, store)
			pass("the pass after the log was pruned", true, []string{"carol"}, nil)

			// A change-driven sync with no input of its own kept takes
			// the profile's from the pass's view, and reads only what
			// changed since.
			if e.kept.has("staff") {
				t.Fatal("a plan input of staff is kept before any change sync")
			}
			if err := e.RemoveGrant(admin, "carol", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			store.reset()
			if synced, err := NewChangeSync(e, time.Hour).RunOnce(ctx); err != nil || synced != 1 {
				t.Fatalf("the change sync synced %d profiles (%v), want 1", synced, err)
			}
			if n := store.count(wholeProfile...); n != 0 {
				t.Errorf("the first change sync after a pass read the whole profile %d times, want none", n)
			}
			var ms []roster.Member
			err := store.View(ctx, func(tx roster.Tx) (err error) {
				ms, err = tx.MembershipsAmong(ctx, []string{"carol"}, []string{"staff"})
				return err
			})
			if err != nil || len(ms) != 0 {
				t.Errorf("after her grant was removed and the change sync ran, carol's memberships of staff: %+v (%v)", ms, err)
			}
		})
	}
}

func testRefreshedPlanInput(t *testing.T, store roster.Store, round int) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	counted := &countingStore{Store: store}
	e := New(Config{Store: counted, Clock: roster.NewManualClock(now)})
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
	// read reads every profile's input afresh, and keeps it (kept.go) with
	// a mark taken before.
	read := func() (ins []roster.PlanInput) {
		t.Helper()
		err := e.view(ctx, func(o *op) error {
			mark, err := o.tx.AccessMark(o.ctx)
			if err != nil {
				return err
			}
			for _, p := range ps {
				in, err := o.planInput(p)
				if err != nil {
					return err
				}
				ins = append(ins, in)
				e.kept.keep(p, mark, in)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ins
	}
	before := read()
	// views gives the inputs and quiet verdicts of the profiles sub from the
	// view planMany would plan them from (kept.go), and whether it read the
	// organisation whole; fresh gives them from a view read afresh.
	views := func(sub []*roster.Profile, fresh bool) (ins []roster.PlanInput, quiet []bool, whole bool) {
		t.Helper()
		counted.reset()
		err := e.view(ctx, func(o *op) error {
			settings, err := o.tenant()
			if err != nil {
				return err
			}
			var v *syncview.View
			if fresh {
				v, err = syncview.Read(o.ctx, o.tx, settings, sub, o.now, nil, nil)
			} else {
				var done func()
				v, done, err = o.syncView(settings, sub, ps)
				if done != nil {
					defer done()
				}
			}
			if err != nil {
				return err
			}
			for i := range sub {
				ins = append(ins, normalInput(v.PlanInput(i)))
				q, _ := v.Quiet(i)
				quiet = append(quiet, q)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ins, quiet, counted.count("ScanSync.whole") > 0
	}
	if _, _, whole := views(ps[:2], false); !whole {
		t.Fatalf("round %d: the first view was not read whole", round)
	}
	// A user the users table does not know gains grants in odd rounds: new
	// to the kept view, which is then read whole.
	ghost := round%2 == 1
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
		// Users whose department alone changes, whom neither refresh is
		// told of: an expression's matches tell.
		for _, id := range ids {
			if slices.Contains(changed, id) || r.IntN(3) != 0 {
				continue
			}
			u, err := tx.User(ctx, id)
			if err != nil {
				return err
			}
			u.Department = depts[(slices.Index(depts, u.Department)+1)%len(depts)]
			if err := tx.PutUser(ctx, u); err != nil {
				return err
			}
		}
		for e := range ents {
			if !ghost {
				break
			}
			if err := tx.PutGrant(ctx, &roster.Grant{User: "ghost", Entitlement: fmt.Sprintf("a/e%d", e), Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The kept view, brought up to date, for some profiles, all and some
	// again (a view read afresh is read for all): what a view read afresh
	// gives.
	for _, sub := range [][]*roster.Profile{ps[1:4], ps, ps[2:]} {
		got, gotQuiet, whole := views(sub, false)
		want, wantQuiet, _ := views(sub, true)
		if whole != ghost {
			t.Errorf("round %d: the kept view was read whole: %v, want %v (a new user: %v)", round, whole, ghost, ghost)
		}
		for i, p := range sub {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("round %d, profile %s (users %v changed): from the kept view\n got %+v\nwant %+v", round, p.ID, changed, got[i], want[i])
			}
			if gotQuiet[i] != wantQuiet[i] {
				t.Errorf("round %d, profile %s: quiet %v from the kept view, %v afresh", round, p.ID, gotQuiet[i], wantQuiet[i])
			}
		}
		ghost = false // read whole once, it is kept
	}
	// The kept inputs, brought up to date for the users the access log
	// names (not told changed), without reading any profile whole.
	counted.reset()
	var kept []roster.PlanInput
	err = e.view(ctx, func(o *op) error {
		for _, p := range ps {
			in, _, err := o.keptPlanInput(p)
			if err != nil {
				return err
			}
			kept = append(kept, in)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := counted.count(wholeProfile...); n != 0 {
		t.Errorf("round %d: the kept inputs were brought up to date with %d reads of a whole profile, want none", round, n)
	}
	after := read()
	for i, p := range ps {
		if !reflect.DeepEqual(normalInput(kept[i]), normalInput(after[i])) {
			t.Errorf("round %d, profile %s (users %v changed): kept input\n got %+v\nwant %+v", round, p.ID, changed, normalInput(kept[i]), normalInput(after[i]))
		}
	}
	moved := 0
	err = e.view(ctx, func(o *op) error {
		for i, p := range ps {
			in := before[i]
			if err := o.refreshPlanInput(p, &in, changed, nil); err != nil {
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

	// With no input kept, a sync's input comes from the last pass's view
	// (kept above), brought up to date for the users changed since: more
	// of them change now.
	err = store.Update(ctx, func(tx roster.Tx) error {
		for _, id := range ids {
			if r.IntN(4) == 0 {
				if err := disturb(tx, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.kept = keptInputs{}
	counted.reset()
	var fromView []roster.PlanInput
	err = e.view(ctx, func(o *op) error {
		for _, p := range ps {
			in, _, err := o.keptPlanInput(p)
			if err != nil {
				return err
			}
			fromView = append(fromView, normalInput(in))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := counted.count(wholeProfile...); n != 0 {
		t.Errorf("round %d: inputs from the kept view were brought up to date with %d reads of a whole profile, want none", round, n)
	}
	// A view lists as disabled the disabled users its rule's candidates
	// hold too (an expression true for them); the planner reads Disabled
	// only for members and the subjects of open tasks (roster.PlanInput).
	concerned := func(in roster.PlanInput) roster.PlanInput {
		in.Disabled = slices.DeleteFunc(slices.Clone(in.Disabled), func(u string) bool {
			return !slices.ContainsFunc(in.Members, func(m roster.Member) bool { return m.User == u }) &&
				!slices.ContainsFunc(in.OpenEnrollments, func(t roster.OpenTask) bool { return t.User == u }) &&
				!slices.ContainsFunc(in.OpenUnenrollments, func(t roster.OpenTask) bool { return t.User == u })
		})
		return normalInput(in)
	}
	for i, in := range read() {
		if got, want := concerned(fromView[i]), concerned(in); !reflect.DeepEqual(got, want) {
			t.Errorf("round %d, profile %s: input from the kept view\n got %+v\nwant %+v", round, ps[i].ID, got, want)
		}
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

// TestSchedulerPrunesTheAccessLog checks that the scheduler forgets the
// access log up to the newest mark it took at least accessLogKept ago, and
// no further.
func TestSchedulerPrunesTheAccessLog(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			e := New(Config{Store: store})
			if _, err := e.Bootstrap(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			admin := roster.NewContext(ctx, roster.AdminUser)
			mark := func() (m int64) {
				t.Helper()
				if err := store.View(ctx, func(tx roster.Tx) (err error) { m, err = tx.AccessMark(ctx); return err }); err != nil {
					t.Fatal(err)
				}
				return m
			}
			reaches := func(m int64) (ok bool) {
				t.Helper()
				if err := store.View(ctx, func(tx roster.Tx) (err error) { _, ok, err = tx.AccessChangedSince(ctx, m); return err }); err != nil {
					t.Fatal(err)
				}
				return ok
			}
			doc := "apps: [{id: okta, entitlements: [{id: staff}]}]\nusers: [{id: alice, email: alice@example.com}]\n"
			if _, err := e.Apply(admin, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(doc)}); err != nil {
				t.Fatal(err)
			}
			grant := func() {
				t.Helper()
				if _, err := e.AddGrant(admin, "alice", "okta/staff"); err != nil {
					t.Fatal(err)
				}
				if err := e.RemoveGrant(admin, "alice", "okta/staff"); err != nil {
					t.Fatal(err)
				}
			}
			s := NewScheduler(e, time.Hour)
			m0 := mark()
			grant()
			m1 := mark()
			grant()
			m2 := mark()
			if !(m0 < m1 && m1 < m2) && name == "sqlite" {
				t.Fatalf("marks %d, %d, %d do not grow with changes", m0, m1, m2)
			}
			// The log is kept for two sync intervals (the default one
			// hour): a pass one interval after the last one still finds
			// what changed since that pass's mark, even when the scheduler
			// took a mark of its own just after.
			now := time.Now()
			s.marks = []accessMark{{now.Add(-61 * time.Minute), m1}, {now.Add(-20 * time.Minute), m2}}
			if _, err := s.due(ctx); err != nil {
				t.Fatal(err)
			}
			if !reaches(m0) {
				t.Error("the log no longer reaches a mark taken 62 minutes ago, one sync interval and a minute")
			}
			s.marks = []accessMark{{now.Add(-5 * time.Hour), m0}, {now.Add(-150 * time.Minute), m1}, {now.Add(-20 * time.Minute), m2}}
			if _, err := s.due(ctx); err != nil {
				t.Fatal(err)
			}
			if m0 < m1 && reaches(m0) {
				t.Error("the log still reaches a mark older than the newest one taken two sync intervals ago")
			}
			if !reaches(m1) || !reaches(m2) {
				t.Error("the log no longer reaches the newest mark taken two sync intervals ago, or a later one")
			}
			if len(s.marks) != 2 || s.marks[0].mark != m2 {
				t.Errorf("marks kept after pruning: %+v, want the one 20 minutes old and a new one", s.marks)
			}
		})
	}
}

// TestChangeSyncLocksItsUsersFirst checks that on PostgreSQL a change-driven
// sync of a profile whose input is kept locks the users its plan changes
// with the profile, users first (the order every writer keeps), not the
// profile and then, out of that order, the users: a decision holding one
// of them and waiting for the profile would deadlock with it.
func TestChangeSyncLocksItsUsersFirst(t *testing.T) {
	open, ok := openStores()["postgres"]
	if !ok {
		t.Skip("needs PostgreSQL (ROSTER_TEST_DATABASE_URL)")
	}
	// The input comes from a first change sync's kept input, or, with
	// none kept, from a pass of every profile's sync (its kept view).
	for _, first := range []string{"change sync", "pass"} {
		t.Run(first, func(t *testing.T) {
			ctx := context.Background()
			store := &countingStore{Store: open(t)}
			e, admin := staffOrg(t, store)
			if e.lockKeys == 0 {
				t.Fatal("the engine does not lock keys on PostgreSQL behind countingStore")
			}
			changes := NewChangeSync(e, time.Hour)
			if err := e.RemoveGrant(admin, "alice", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			if first == "pass" {
				if _, err := e.SyncAll(admin); err != nil {
					t.Fatal(err)
				}
				if e.kept.has("staff") {
					t.Fatal("a plan input of staff is kept after a pass")
				}
			} else if _, err := changes.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := e.AddGrant(admin, "bob", "okta/staff"); err != nil {
				t.Fatal(err)
			}
			store.takeLocks()
			if _, err := changes.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			var syncs [][]roster.LockKey
			bobLater := false
			for _, keys := range store.takeLocks() {
				if slices.Contains(keys, roster.LockKey{Kind: "profile", ID: "staff"}) {
					syncs = append(syncs, keys)
				} else if len(syncs) > 0 && slices.Contains(keys, roster.LockKey{Kind: "user", ID: "bob"}) {
					bobLater = true
				}
			}
			want := []roster.LockKey{{Kind: "user", ID: "bob"}, {Kind: "profile", ID: "staff"}}
			if len(syncs) != 1 || !slices.Equal(syncs[0], want) || bobLater {
				t.Errorf("the change sync locked %v (and bob after the profile: %v), want %v at once", syncs, bobLater, want)
			}
			var ms []roster.Member
			if err := store.View(ctx, func(tx roster.Tx) (err error) {
				ms, err = tx.MembershipsAmong(ctx, []string{"bob"}, []string{"staff"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 {
				t.Error("bob is not a member of staff after the change sync")
			}
		})
	}
}
