package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
)

// inside runs fn in db.Update on its own goroutine, after Lock(keys) when
// keys is not nil, and reports on entered once the transaction has read the
// settings (so holds its locks), then waits for release.
func inside(db *postgres.DB, keys []roster.LockKey, entered chan<- string, name string, release <-chan struct{}) <-chan error {
	return insideThen(db, keys, nil, entered, name, release)
}

// TestLockedWritersRunBeside shows the two levels of locks: writers that
// lock different users run at once, on two replicas; one that locks the same
// user waits; and a writer that locks nothing waits for them all, and they
// for it.
func TestLockedWritersRunBeside(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a := connect(t, withPoolSize(url, 8))
	if err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := connect(t, withPoolSize(url, 8))
	user := func(id string) []roster.LockKey { return []roster.LockKey{{Kind: "user", ID: id}} }
	entered := make(chan string, 8)
	release := make(chan struct{})
	alice := inside(a, user("alice"), entered, "alice", release)
	bob := inside(b, user("bob"), entered, "bob", release)
	got := map[string]bool{}
	for range 2 {
		select {
		case n := <-entered:
			got[n] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("writers that lock different users did not run at once: only %v entered", got)
		}
	}
	// The same user again, and a writer that locks nothing: both wait.
	alice2 := inside(b, user("alice"), entered, "alice again", release)
	whole := inside(a, nil, entered, "unlocked", release)
	select {
	case n := <-entered:
		t.Fatalf("%s ran while alice's and bob's writers held their locks", n)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	for _, done := range []<-chan error{alice, bob, alice2, whole} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// A writer that locks nothing holds back the locked ones.
	entered = make(chan string, 8)
	release = make(chan struct{})
	whole = inside(a, nil, entered, "unlocked", release)
	if n := <-entered; n != "unlocked" {
		t.Fatal(n)
	}
	carol := inside(b, user("carol"), entered, "carol", release)
	select {
	case n := <-entered:
		t.Fatalf("%s ran while an unlocked writer held the writer lock", n)
	case <-time.After(500 * time.Millisecond):
	}
	// A sealer of audit events waits for none of them.
	sealer := inside(b, []roster.LockKey{roster.LockEvents}, entered, "sealer", release)
	select {
	case n := <-entered:
		if n != "sealer" {
			t.Fatal(n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a sealer waited for a writer")
	}
	close(release)
	for _, done := range []<-chan error{whole, carol, sealer} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLockTask: a task's key locks its subject, so two decisions on tasks
// of one person wait for each other, and decisions on two people's tasks of
// the same profile run at once — but not on two people's exclusions.
func TestLockTask(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := connect(t, withPoolSize(url, 8))
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, u := range []string{"alice", "alice", "bob", "carol", "dave"} {
		ent := fmt.Sprintf("app/e%d", len(ids))
		if len(ids) >= 3 {
			ent = roster.ExclusionEntitlement("eng")
		}
		task := roster.Task{Kind: roster.TaskGrant, User: u, Entitlement: ent, Profile: "eng", State: roster.StatePendingApproval}
		if err := db.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	entered := make(chan string, 4)
	release := make(chan struct{})
	first := inside(db, []roster.LockKey{roster.LockTask(ids[0])}, entered, "alice's first", release)
	if n := <-entered; n != "alice's first" {
		t.Fatal(n)
	}
	bob := inside(db, []roster.LockKey{roster.LockTask(ids[2])}, entered, "bob's", release)
	select {
	case n := <-entered:
		if n != "bob's" {
			t.Fatal(n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a decision on bob's task waited for one on alice's")
	}
	second := inside(db, []roster.LockKey{roster.LockTask(ids[1])}, entered, "alice's second", release)
	select {
	case n := <-entered:
		t.Fatalf("%s ran while a decision on alice's other task held her", n)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	for _, done := range []<-chan error{first, bob, second} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// A decision on an exclusion may change the profile itself (a denied
	// one leaves its excluded users), so its key holds the profile alone:
	// carol's and dave's exclusions from eng are decided one after the
	// other, or one would write back the excluded users the other changed.
	entered, release = make(chan string, 2), make(chan struct{})
	carol := inside(db, []roster.LockKey{roster.LockTask(ids[3])}, entered, "carol's exclusion", release)
	if n := <-entered; n != "carol's exclusion" {
		t.Fatal(n)
	}
	dave := inside(db, []roster.LockKey{roster.LockTask(ids[4])}, entered, "dave's exclusion", release)
	select {
	case n := <-entered:
		t.Errorf("%s ran while a decision on another exclusion from the same profile held it", n)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	for _, done := range []<-chan error{carol, dave} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSealEvents: writers on two replicas queue events beside one another
// while sealers on both seal them; in the end every event is in the chain
// once, with ids that follow one another and hashes that chain, and each
// transaction's events in their order.
func TestSealEvents(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	first := connect(t, withPoolSize(url, 8))
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	replicas := []*postgres.DB{first, connect(t, withPoolSize(url, 8))}
	const writers, txs, perTx = 6, 30, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	stop := make(chan struct{})
	var sealers sync.WaitGroup
	for _, db := range replicas {
		sealers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := db.Update(ctx, func(tx roster.Tx) error {
					if err := tx.Lock(ctx, roster.LockEvents); err != nil {
						return err
					}
					_, err := tx.SealEvents(ctx, 7)
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			db := replicas[w%len(replicas)]
			for i := range txs {
				err := db.Update(ctx, func(tx roster.Tx) error {
					if err := tx.Lock(ctx, roster.LockKey{Kind: "user", ID: fmt.Sprint(w)}); err != nil {
						return err
					}
					evs := make([]*roster.Event, perTx)
					for k := range evs {
						evs[k] = &roster.Event{At: time.Now(), Actor: fmt.Sprint(w), Action: "user.created", ObjectType: "user",
							ObjectID: fmt.Sprintf("%d-%d-%d", w, i, k), Data: []byte(fmt.Sprintf(`{"b": %d, "a": [1, 2]}`, k))}
					}
					queued, err := tx.QueueEvents(ctx, evs)
					if err == nil && !queued {
						err = fmt.Errorf("PostgreSQL appended events it should have queued")
					}
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sealers.Wait()
	// What the sealers left.
	if err := first.Update(ctx, func(tx roster.Tx) error {
		_, err := tx.SealEvents(ctx, 1000)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	prev, n := roster.GenesisHash, int64(0)
	seen := map[string]bool{}
	last := map[string]int{}
	for cursor := ""; ; {
		var page *roster.Page[roster.Event]
		if err := first.View(ctx, func(tx roster.Tx) (err error) {
			page, err = tx.Events(ctx, roster.EventFilter{Cursor: cursor, Limit: roster.MaxPageSize})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Items {
			n++
			if ev.ID != n {
				t.Fatalf("event %d has id %d", n, ev.ID)
			}
			want, err := roster.ChainHash(prev, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Hash != want {
				t.Fatalf("event %d: hash %s, recomputed %s", ev.ID, ev.Hash, want)
			}
			prev = ev.Hash
			if seen[ev.ObjectID] {
				t.Fatalf("event %s sealed twice", ev.ObjectID)
			}
			seen[ev.ObjectID] = true
			var w, i, k int
			fmt.Sscanf(ev.ObjectID, "%d-%d-%d", &w, &i, &k)
			key := fmt.Sprint(w, "-", i)
			if k != last[key] {
				t.Fatalf("event %s sealed out of its transaction's order", ev.ObjectID)
			}
			last[key] = k + 1
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if n != writers*txs*perTx {
		t.Fatalf("%d events in the chain, want %d", n, writers*txs*perTx)
	}
	var head int64
	if err := first.View(ctx, func(tx roster.Tx) (err error) {
		head, _, err = tx.EventChainHead(ctx)
		return err
	}); err != nil || head != n {
		t.Fatalf("head %d (%v), want %d", head, err, n)
	}
}

// TestLockTaskDecidesOnce: many decisions on one task, on two replicas at
// once, each reading the task after locking it and acting only when it is
// still pending, as the engine's decisions do: one acts, the others see it
// decided — at READ COMMITTED, only the lock makes that so.
func TestLockTaskDecidesOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a := connect(t, withPoolSize(url, 8))
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	replicas := []*postgres.DB{a, connect(t, withPoolSize(url, 8))}
	for round := range 5 {
		task := roster.Task{Kind: roster.TaskGrant, User: fmt.Sprint("u", round), Entitlement: "app/e", Profile: "eng", State: roster.StatePendingApproval}
		if err := a.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
			t.Fatal(err)
		}
		const deciders = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			decided []int
		)
		errs := make(chan error, deciders)
		for d := range deciders {
			wg.Go(func() {
				var mine bool
				err := replicas[d%2].Update(ctx, func(tx roster.Tx) error {
					mine = false
					if err := tx.Lock(ctx, roster.LockTask(task.ID)); err != nil {
						return err
					}
					tk, err := tx.Task(ctx, task.ID)
					if err != nil || tk.State != roster.StatePendingApproval {
						return err
					}
					time.Sleep(5 * time.Millisecond) // a decision takes a moment
					tk.State = roster.StateDone
					if err := tx.UpdateTask(ctx, tk); err != nil {
						return err
					}
					mine = true
					_, err = tx.QueueEvents(ctx, []*roster.Event{{At: time.Now(), Actor: fmt.Sprint(d), Action: "task.done", ObjectType: "task", ObjectID: fmt.Sprint(task.ID)}})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if mine {
					mu.Lock()
					decided = append(decided, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(decided) != 1 {
			t.Fatalf("round %d: %d deciders acted on the task (%v), want 1", round, len(decided), decided)
		}
	}
}

// TestLockKeyInSQL: a decision's locks are computed by PostgreSQL from its
// task's row (roster_lock_key), the other writers' in Go; both must name the
// same lock, or a decision would not wait for a writer that holds its
// subject or its profile.
func TestLockKeyInSQL(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := connect(t, withPoolSize(url, 8))
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	users := []string{"alice", "", "u000042", "zoë", "用户-ß", "a long id with spaces, and punctuation: 0123456789"}
	err := db.Update(ctx, func(tx roster.Tx) error {
		for _, u := range users {
			var got int32
			if err := postgres.QueryRowForTest(ctx, tx, `SELECT roster_lock_key($1)`, u).Scan(&got); err != nil {
				return err
			}
			if want := postgres.UserLockKey(u); got != want {
				t.Errorf("roster_lock_key(%q) = %d, Go's key is %d", u, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Through Lock: a decision on a task waits for a writer that holds its
	// subject, and for one that holds its profile exclusively.
	for _, c := range []struct {
		user string
		key  roster.LockKey
	}{
		{"zoë", roster.LockKey{Kind: "user", ID: "zoë"}},
		{"用户-ß", roster.LockKey{Kind: "user", ID: "用户-ß"}},
		{"bob", roster.LockKey{Kind: "profile", ID: "ëng"}},
	} {
		task := roster.Task{Kind: roster.TaskGrant, User: c.user, Entitlement: "app/" + c.key.ID, Profile: "ëng", State: roster.StatePendingApproval}
		if err := db.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
			t.Fatal(err)
		}
		entered := make(chan string, 2)
		release := make(chan struct{})
		holder := inside(db, []roster.LockKey{c.key}, entered, "holder", release)
		if n := <-entered; n != "holder" {
			t.Fatal(n)
		}
		decision := inside(db, []roster.LockKey{roster.LockTask(task.ID)}, entered, "decision", release)
		select {
		case n := <-entered:
			t.Errorf("the %s ran while a writer held %s %q", n, c.key.Kind, c.key.ID)
		case <-time.After(500 * time.Millisecond):
		}
		close(release)
		for _, done := range []<-chan error{holder, decision} {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// insideThen is inside for a transaction that locks first, reads, then
// locks more — as a sync does: its profile and the users its plan names,
// then the users a fresh plan adds. A nil first or then is not locked.
func insideThen(db *postgres.DB, first, then []roster.LockKey, entered chan<- string, name string, release <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- db.Update(context.Background(), func(tx roster.Tx) error {
			for _, keys := range [][]roster.LockKey{first, then} {
				if keys == nil {
					continue
				}
				if err := tx.Lock(context.Background(), keys...); err != nil {
					return err
				}
				if _, err := tx.Settings(context.Background()); err != nil {
					return err
				}
			}
			if first == nil {
				// No locks: the first statement takes the writer lock.
				if _, err := tx.Settings(context.Background()); err != nil {
					return err
				}
			}
			entered <- name
			<-release
			return nil
		})
	}()
	return done
}

// users returns the keys of n users named prefix0, prefix1, ....
func users(prefix string, n int) []roster.LockKey {
	keys := make([]roster.LockKey, n)
	for i := range keys {
		keys[i] = roster.LockKey{Kind: "user", ID: fmt.Sprint(prefix, i)}
	}
	return keys
}

// expectWait checks that nothing enters for a while: what was started
// waits on the locks held. (It fails with Errorf, as expectEnter does, so
// that the test goes on to release what it holds.)
func expectWait(t *testing.T, entered <-chan string, why string) {
	t.Helper()
	select {
	case n := <-entered:
		t.Errorf("%s ran while %s", n, why)
	case <-time.After(500 * time.Millisecond):
	}
}

// expectEnter checks that want enters.
func expectEnter(t *testing.T, entered <-chan string, want, why string) {
	t.Helper()
	select {
	case n := <-entered:
		if n != want {
			t.Errorf("%s entered, want %s", n, want)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not run: %s", want, why)
	}
}

// TestSyncLocks: a sync locks its profile, plans, then locks the users its
// plan changes. It runs beside a decision on another person's task of
// another profile; a decision on a person it locked later, or on a task of
// its profile, waits for it; and a sync whose keys pass the bound runs
// alone, whether the first call or a later one passes it.
func TestSyncLocks(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a := connect(t, withPoolSize(url, 8))
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := connect(t, withPoolSize(url, 8))
	task := func(user, profile string) roster.LockKey {
		tk := roster.Task{Kind: roster.TaskGrant, User: user, Entitlement: "app/e", Profile: profile, State: roster.StatePendingApproval}
		if err := a.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &tk) }); err != nil {
			t.Fatal(err)
		}
		return roster.LockTask(tk.ID)
	}
	bobsQ, alicesQ, carolsP := task("bob", "q"), task("alice", "q"), task("carol", "p")
	profile := func(id string) []roster.LockKey { return []roster.LockKey{{Kind: "profile", ID: id}} }

	entered := make(chan string, 8)
	release := make(chan struct{})
	sync := insideThen(a, profile("p"), []roster.LockKey{{Kind: "user", ID: "alice"}}, entered, "sync of p", release)
	expectEnter(t, entered, "sync of p", "nothing held its keys")
	bob := inside(b, []roster.LockKey{bobsQ}, entered, "bob's decision", release)
	expectEnter(t, entered, "bob's decision", "a decision on another person's task of another profile waited for a sync")
	alice := inside(b, []roster.LockKey{alicesQ}, entered, "alice's decision", release)
	carol := inside(b, []roster.LockKey{carolsP}, entered, "carol's decision", release)
	expectWait(t, entered, "a sync of p held alice, and p")
	close(release)
	for _, done := range []<-chan error{sync, bob, alice, carol} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// Past the bound, a sync runs alone: from its first call ...
	bound := a.MaxLockKeys()
	for _, c := range []struct {
		name        string
		first, then []roster.LockKey
	}{
		{"a sync locking too many users at once", append(profile("r"), users("u", bound)...), nil},
		{"a sync locking too many users at last", profile("r"), users("u", bound)},
	} {
		entered, release = make(chan string, 4), make(chan struct{})
		big := insideThen(a, c.first, c.then, entered, c.name, release)
		expectEnter(t, entered, c.name, "nothing held its keys")
		dave := inside(b, users("dave", 1), entered, "dave's decision", release)
		expectWait(t, entered, c.name+" held the writer lock")
		close(release)
		for _, done := range []<-chan error{big, dave} {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	// ... and a decision that holds its keys makes the later call wait.
	entered, release = make(chan string, 4), make(chan struct{})
	erin := inside(b, users("erin", 1), entered, "erin's decision", release)
	expectEnter(t, entered, "erin's decision", "nothing held its keys")
	big := insideThen(a, profile("r"), users("u", bound), entered, "a sync locking too many users at last", release)
	expectWait(t, entered, "erin's decision held the writer lock shared")
	close(release)
	for _, done := range []<-chan error{big, erin} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLockTaskReadsTheCaller: the round trip that takes a decision's locks
// also reads its caller, beside the task and its subject: Task and User
// answer from it, each user once, and a later User reads again.
func TestLockTaskReadsTheCaller(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	put := func(id, name string) error {
		u := &roster.User{ID: id, Email: id + "@example.com", Name: name, Status: roster.UserActive, Role: roster.RoleUser,
			Kind: roster.UserPerson, Notify: roster.NotifyEmail}
		return db.Update(ctx, func(tx roster.Tx) error {
			// Beside a decision, which holds the writer lock shared.
			if err := tx.Lock(ctx, roster.LockKey{Kind: "user", ID: id}); err != nil {
				return err
			}
			return tx.PutUser(ctx, u)
		})
	}
	for _, id := range []string{"alice", "carol"} {
		if err := put(id, strings.ToUpper(id[:1])+id[1:]); err != nil {
			t.Fatal(err)
		}
	}
	task := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "app/e", State: roster.StatePendingApproval}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
		t.Fatal(err)
	}
	asCarol := roster.WithActor(ctx, roster.Actor{User: "carol"})
	var names []string
	err := db.Update(asCarol, func(tx roster.Tx) error {
		names = names[:0]
		if err := tx.Lock(asCarol, roster.LockTask(task.ID)); err != nil {
			return err
		}
		// Committed after the locks' round trip: not seen by what it read.
		if err := put("carol", "Carol renamed"); err != nil {
			return err
		}
		for _, id := range []string{"carol", "alice", "carol"} {
			u, err := tx.User(asCarol, id)
			if err != nil {
				return err
			}
			names = append(names, u.Name)
		}
		got, err := tx.Task(asCarol, task.ID)
		if err != nil {
			return err
		}
		if got.User != "alice" {
			return fmt.Errorf("task %d is alice's, read %+v", task.ID, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Carol", "Alice", "Carol renamed"}; !slices.Equal(names, want) {
		t.Fatalf("users read after the locks: %q, want %q (caller and subject as the locks' round trip read them, then a fresh read)", names, want)
	}
}

// TestClosedTaskUpdateIsHeld: the update of a task saved closed waits, in
// a read-write transaction, for the next statement that reads tasks or for
// COMMIT's round trip — a statement run outside the store's own finds the
// row as it was — while the store's reads see it; an update of a task that
// does not exist fails the transaction at commit, with ENOTFOUND.
func TestClosedTaskUpdateIsHeld(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	task := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "app/e", State: roster.StatePendingApproval,
		Steps: []roster.Step{{Approvers: "manager"}}}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx roster.Tx) error {
		got, err := tx.Task(ctx, task.ID)
		if err != nil {
			return err
		}
		now := time.Now()
		got.State, got.ClosedAt = roster.StateDone, &now
		if err := tx.UpdateTask(ctx, got); err != nil {
			return err
		}
		var state string
		if err := postgres.QueryRowForTest(ctx, tx, `SELECT state FROM tasks WHERE id = $1`, task.ID).Scan(&state); err != nil {
			return err
		}
		if state != string(roster.StatePendingApproval) {
			t.Errorf("the task's row is %s before anything read tasks, want the update held", state)
		}
		again, err := tx.Task(ctx, task.ID)
		if err != nil {
			return err
		}
		if again.State != roster.StateDone {
			t.Errorf("the store read task %d as %s after its update, want done", task.ID, again.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got *roster.Task
	if err := db.View(ctx, func(tx roster.Tx) (err error) { got, err = tx.Task(ctx, task.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if got.State != roster.StateDone {
		t.Fatalf("task %d is %s after the commit, want done", task.ID, got.State)
	}
	missing := *got
	missing.ID = task.ID + 1000
	err = db.Update(ctx, func(tx roster.Tx) error { return tx.UpdateTask(ctx, &missing) })
	if roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Fatalf("updating a task no task has the id of: %v, want ENOTFOUND", err)
	}
}

// TestLockTaskReadsAround: the round trip that takes a decision's locks
// also reads around its task (Around): the first Around of the task's
// subject, profile and entitlement answers from it — a delegation committed
// after the locks is not in it — and any later one, or one after a write,
// reads again.
func TestLockTaskReadsAround(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	task := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "access-profiles/eng", Profile: "eng",
		State: roster.StatePendingApproval, Steps: []roster.Step{{Approvers: "manager"}}}
	if err := db.Update(ctx, func(tx roster.Tx) error {
		if err := tx.PutMember(ctx, &roster.Member{Profile: "eng", User: "alice", Source: roster.MemberManual, Since: at}); err != nil {
			return err
		}
		return tx.CreateTask(ctx, &task)
	}); err != nil {
		t.Fatal(err)
	}
	// delegate commits a delegation of carol's, beside a decision on
	// alice's task.
	delegate := func() error {
		return db.Update(ctx, func(tx roster.Tx) error {
			if err := tx.Lock(ctx, roster.LockKey{Kind: "user", ID: "carol"}); err != nil {
				return err
			}
			return tx.PutDelegation(ctx, &roster.Delegation{User: "carol", Delegate: "sam", Until: at.Add(time.Hour), SetBy: "carol", SetAt: at})
		})
	}
	around := func(tx roster.Tx) (*roster.Around, error) {
		return tx.Around(ctx, "alice", "eng", "access-profiles/eng", at)
	}
	err := db.Update(ctx, func(tx roster.Tx) error {
		if err := tx.Lock(ctx, roster.LockTask(task.ID)); err != nil {
			return err
		}
		if err := delegate(); err != nil { // committed after the locks' round trip
			return err
		}
		first, err := around(tx)
		if err != nil {
			return err
		}
		if len(first.Delegations) != 0 || len(first.Memberships) != 1 {
			t.Errorf("the first Around after the locks: delegations %+v, memberships %+v; want none (as the locks' round trip read them) and eng", first.Delegations, first.Memberships)
		}
		again, err := around(tx)
		if err != nil {
			return err
		}
		if len(again.Delegations) != 1 {
			t.Errorf("a second Around holds delegations %+v, want carol's (read again)", again.Delegations)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx roster.Tx) error {
		if err := tx.Lock(ctx, roster.LockTask(task.ID)); err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, "eng", "alice"); err != nil {
			return err
		}
		a, err := around(tx)
		if err != nil {
			return err
		}
		if len(a.Memberships) != 0 {
			t.Errorf("Around after the transaction removed alice from eng holds %+v, want none", a.Memberships)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
