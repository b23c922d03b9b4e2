package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/storetest"
)

// connect opens url, closed when the test ends, without migrating.
func connect(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// open opens a fresh, migrated database of its own, dropped when the test
// ends.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	db := connect(t, pgtest.NewDatabase(t))
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// withPoolSize returns url with the pool size set, for tests that hold many
// transactions open at once.
func withPoolSize(url string, n int) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%spool_max_conns=%d", url, sep, n)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) roster.Store { return open(t) })
}

// migrated returns a store on a new, migrated database and a connection of
// the test's own to it, closed when the test ends.
func migrated(t *testing.T) (*postgres.DB, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := connect(t, url)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return db, conn
}

// wantVersion fails the test unless SchemaVersion reports applied and latest.
func wantVersion(t *testing.T, db *postgres.DB, applied, latest int) {
	t.Helper()
	a, l, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a != applied || l != latest {
		t.Fatalf("SchemaVersion = %d, %d; want %d, %d", a, l, applied, latest)
	}
}

// migrationVersions returns the versions recorded in schema_migrations.
func migrationVersions(t *testing.T, url string) []int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := connect(t, url)
	// Open does not migrate.
	wantVersion(t, db, 0, latest(t))
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, db, latest(t), latest(t))
	u := roster.User{ID: "alice", Status: roster.UserActive, Role: roster.RoleUser, CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.PutUser(ctx, &u) }); err != nil {
		t.Fatal(err)
	}
	first := migrationVersions(t, url)
	if fmt.Sprint(first) != fmt.Sprint(allVersions(t)) {
		t.Fatalf("schema_migrations holds %v, want %v", first, allVersions(t))
	}

	for range 2 {
		// Again on the same pool, and from another replica.
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
		other := connect(t, url)
		if err := other.Migrate(ctx); err != nil {
			t.Fatalf("migrate from another pool: %v", err)
		}
		wantVersion(t, other, latest(t), latest(t))
		if again := migrationVersions(t, url); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("schema_migrations after migrating again: %v, want %v", again, first)
		}
		if err := other.View(ctx, func(tx roster.Tx) error {
			_, err := tx.User(ctx, "alice")
			return err
		}); err != nil {
			t.Fatalf("user after migrating again: %v", err)
		}
	}
}

func TestMigrateConcurrent(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	for i := range dbs {
		dbs[i] = connect(t, url)
	}
	start := make(chan struct{})
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			errs[i] = db.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: migrate: %v", i, err)
		}
	}
	for _, db := range dbs {
		wantVersion(t, db, latest(t), latest(t))
	}
	if vs := migrationVersions(t, url); fmt.Sprint(vs) != fmt.Sprint(allVersions(t)) {
		t.Fatalf("schema_migrations holds %v, want %v", vs, allVersions(t))
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:secret@[::1")
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("Open with a malformed URL: %v, want EINVALID", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %q repeats the password", err)
	}
}

// TestWritersSerialize has many writers increment one counter at once: with
// the writer lock each runs once, none loses an update, and a second writer
// waits for the first to commit.
func TestWritersSerialize(t *testing.T) {
	ctx := context.Background()
	const workers = 12
	url := pgtest.NewDatabase(t)
	db := connect(t, withPoolSize(url, workers+4))
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := roster.DefaultSettings()
	start.Safeguard.MinMembers = 0
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.PutSettings(ctx, &start) }); err != nil {
		t.Fatal(err)
	}
	var (
		calls atomic.Int64
		wg    sync.WaitGroup
	)
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			errs <- db.Update(ctx, func(tx roster.Tx) error {
				calls.Add(1)
				s, err := tx.Settings(ctx)
				if err != nil {
					return err
				}
				s.Safeguard.MinMembers++
				return tx.PutSettings(ctx, s)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var got *roster.Settings
	if err := db.View(ctx, func(tx roster.Tx) (err error) {
		got, err = tx.Settings(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Safeguard.MinMembers != workers {
		t.Fatalf("counter %d after %d increments", got.Safeguard.MinMembers, workers)
	}
	if n := calls.Load(); n != workers {
		t.Fatalf("fn ran %d times for %d writers, want each once", n, workers)
	}

	// A second replica's writer waits while the first holds its transaction.
	// (A writer takes the lock with its first statement.)
	other := connect(t, url)
	inside, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- db.Update(ctx, func(tx roster.Tx) error {
			if _, err := tx.Settings(ctx); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	var entered atomic.Bool
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- other.Update(ctx, func(tx roster.Tx) error {
			if _, err := tx.Settings(ctx); err != nil {
				return err
			}
			entered.Store(true)
			return nil
		})
	}()
	probe, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close(ctx)
	waitFor(t, func() bool {
		var waiting int
		if err := probe.QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting == 1
	})
	if entered.Load() {
		t.Fatal("the second writer ran while the first held its transaction")
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil || !entered.Load() {
		t.Fatalf("second writer: %v, ran %v", err, entered.Load())
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplicasApproveSameTask has two replicas act on the same task at once:
// one wins, and the other sees the task already done.
func TestReplicasApproveSameTask(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a, b := connect(t, url), connect(t, url)
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	task := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "github/admin", State: roster.StatePendingApproval}
	if err := a.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		already atomic.Int64
	)
	errs := make([]error, 2)
	for i, db := range []*postgres.DB{a, b} {
		wg.Go(func() {
			errs[i] = db.Update(ctx, func(tx roster.Tx) error {
				tk, err := tx.Task(ctx, task.ID)
				if err != nil {
					return err
				}
				if tk.State != roster.StatePendingApproval {
					already.Add(1) // someone else approved it
					return nil
				}
				tk.State = roster.StateDone
				tk.Approvers = []string{fmt.Sprint("replica-", i)}
				if err := tx.UpdateTask(ctx, tk); err != nil {
					return err
				}
				ev := roster.Event{Action: "task.approve", ObjectType: "task", ObjectID: fmt.Sprint(task.ID), Actor: fmt.Sprint("replica-", i)}
				return tx.AppendEvent(ctx, &ev)
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	var evs *roster.Page[roster.Event]
	if err := a.View(ctx, func(tx roster.Tx) (err error) {
		evs, err = tx.Events(ctx, roster.EventFilter{Action: "task.approve"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || already.Load() != 1 {
		t.Fatalf("%d approvals recorded and %d saw it done, want 1 and 1", len(evs.Items), already.Load())
	}
}

func TestUpdateGivesUp(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	var calls int
	err := db.Update(ctx, func(tx roster.Tx) error {
		calls++
		return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
	})
	if err == nil {
		t.Fatal("Update succeeded")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Fatalf("Update returned %v, want the serialization failure wrapped", err)
	}
	if calls != 10 {
		t.Fatalf("fn ran %d times, want 10", calls)
	}

	// Other errors are not retried.
	calls = 0
	err = db.Update(ctx, func(tx roster.Tx) error {
		calls++
		return roster.Errorf(roster.ECONFLICT, "no")
	})
	if roster.ErrorCode(err) != roster.ECONFLICT || calls != 1 {
		t.Fatalf("Update with ECONFLICT: %v after %d runs, want ECONFLICT after 1", err, calls)
	}

	// A canceled context stops the retries.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = db.Update(cctx, func(tx roster.Tx) error {
		calls++
		cancel()
		return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("Update with a canceled context: %v after %d runs, want context.Canceled after 1", err, calls)
	}
}

// TestSwallowedSerializationFailure checks that a transaction whose fn hides
// a serialization failure behind another error is still run again.
func TestSwallowedSerializationFailure(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	var calls int
	err := db.Update(ctx, func(tx roster.Tx) error {
		calls++
		if calls == 1 {
			// A statement that fails with 40001; fn reports something else.
			if err := tx.PutUser(ctx, &roster.User{ID: "x"}); err != nil {
				return err
			}
			_, err := tx.Tasks(ctx, roster.TaskFilter{})
			if err != nil {
				return err
			}
			return postgres.RaiseSerializationFailure(ctx, tx)
		}
		return tx.PutUser(ctx, &roster.User{ID: "y"})
	})
	if err != nil || calls != 2 {
		t.Fatalf("Update: %v after %d runs, want success after 2", err, calls)
	}
	if err := db.View(ctx, func(tx roster.Tx) error {
		if _, err := tx.User(ctx, "x"); roster.ErrorCode(err) != roster.ENOTFOUND {
			return fmt.Errorf("user of the failed attempt: %v, want ENOTFOUND", err)
		}
		_, err := tx.User(ctx, "y")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestConflictLeavesTransactionUsable(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	open := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "github/admin", State: roster.StatePendingApproval}
	closed := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "github/admin", State: roster.StateDone}
	var after roster.Task
	err := db.Update(ctx, func(tx roster.Tx) error {
		if err := tx.CreateTask(ctx, &open); err != nil {
			return err
		}
		if err := tx.CreateTask(ctx, &closed); err != nil {
			return err
		}
		dup := open
		dup.ID = 0
		err := tx.CreateTask(ctx, &dup)
		if roster.ErrorCode(err) != roster.ECONFLICT {
			return fmt.Errorf("duplicate open task: %v, want ECONFLICT", err)
		}
		want := `an open grant task for user "alice" and entitlement "github/admin" already exists`
		if msg := roster.ErrorMessage(err); msg != want {
			return fmt.Errorf("conflict message %q, want %q", msg, want)
		}
		// Reopening the closed twin conflicts too, and the transaction goes on.
		reopen := closed
		reopen.State = roster.StatePendingProvisioning
		if err := tx.UpdateTask(ctx, &reopen); roster.ErrorCode(err) != roster.ECONFLICT {
			return fmt.Errorf("reopening a task with an open twin: %v, want ECONFLICT", err)
		}
		if err := tx.PutUser(ctx, &roster.User{ID: "alice"}); err != nil {
			return fmt.Errorf("statement after the conflicts: %w", err)
		}
		after = roster.Task{Kind: roster.TaskGrant, User: "bob", Entitlement: "github/admin", State: roster.StatePendingApproval}
		return tx.CreateTask(ctx, &after)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(ctx, func(tx roster.Tx) error {
		if _, err := tx.User(ctx, "alice"); err != nil {
			return err
		}
		if _, err := tx.Task(ctx, after.ID); err != nil {
			return err
		}
		got, err := tx.Task(ctx, closed.ID)
		if err != nil {
			return err
		}
		if got.State != roster.StateDone {
			return fmt.Errorf("closed task is %s after a refused reopen", got.State)
		}
		ts, err := tx.Tasks(ctx, roster.TaskFilter{})
		if err != nil {
			return err
		}
		if len(ts.Items) != 3 {
			return fmt.Errorf("%d tasks, want 3", len(ts.Items))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestHoldersLargeList(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	// More entitlements than a statement may have parameters (65535).
	ents := make([]string, 70000)
	for i := range ents {
		ents[i] = fmt.Sprintf("app/e%05d", i)
	}
	if err := db.Update(ctx, func(tx roster.Tx) error {
		for _, g := range []roster.Grant{
			{User: "bob", Entitlement: ents[69999]},
			{User: "alice", Entitlement: ents[0]},
			{User: "alice", Entitlement: ents[5]},
			{User: "carol", Entitlement: "other/x"},
		} {
			if err := tx.PutGrant(ctx, &g); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := db.View(ctx, func(tx roster.Tx) (err error) {
		got, err = tx.Holders(ctx, ents)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[alice bob]" {
		t.Fatalf("Holders = %v, want [alice bob]", got)
	}
}

func TestTimes(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	in := time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", -7*3600))
	// Before the unix epoch, where truncation must not round up.
	old := time.Date(1500, 6, 7, 8, 9, 10, 123456789, time.UTC)
	if err := db.Update(ctx, func(tx roster.Tx) error {
		return errors.Join(
			tx.PutUser(ctx, &roster.User{ID: "u", CreatedAt: in, UpdatedAt: in}),
			tx.PutUser(ctx, &roster.User{ID: "old", CreatedAt: old}))
	}); err != nil {
		t.Fatal(err)
	}
	var u, o *roster.User
	if err := db.View(ctx, func(tx roster.Tx) (err error) {
		if u, err = tx.User(ctx, "u"); err != nil {
			return err
		}
		o, err = tx.User(ctx, "old")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 1, 2, 10, 4, 5, 999999000, time.UTC); u.CreatedAt != want {
		t.Fatalf("CreatedAt %v, want %v", u.CreatedAt, want)
	}
	if want := time.Date(1500, 6, 7, 8, 9, 10, 123456000, time.UTC); o.CreatedAt != want || !o.UpdatedAt.IsZero() {
		t.Fatalf("old user times %v, %v; want %v and zero", o.CreatedAt, o.UpdatedAt, want)
	}

	// Times PostgreSQL cannot hold are refused rather than stored wrong.
	err := db.Update(ctx, func(tx roster.Tx) error {
		return tx.PutUser(ctx, &roster.User{ID: "ancient", CreatedAt: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("year -5000: %v, want EINVALID", err)
	}
}

func TestCursorShape(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	// Valid base64 and JSON, but not a cursor this store made; the last one
	// holds a NUL, which PostgreSQL text cannot.
	for _, c := range []string{"e30", "W10", "Zm9v", "eyJpZCI6bnVsbH0", "eyJpZCI6ImFcdTAwMDAifQ"} {
		for name, fn := range map[string]func(tx roster.Tx) error{
			"Users": func(tx roster.Tx) error {
				_, err := tx.Users(ctx, roster.UserFilter{Cursor: c})
				return err
			},
			"Grants": func(tx roster.Tx) error {
				_, err := tx.Grants(ctx, roster.GrantFilter{Cursor: c})
				return err
			},
			"Tasks": func(tx roster.Tx) error {
				_, err := tx.Tasks(ctx, roster.TaskFilter{Cursor: c})
				return err
			},
		} {
			if err := db.View(ctx, fn); roster.ErrorCode(err) != roster.EINVALID {
				t.Errorf("%s with cursor %q: %v, want EINVALID", name, c, err)
			}
		}
	}
}

// allVersions returns the numbers of the migration files this build embeds.
func allVersions(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil {
			vs = append(vs, v)
		}
	}
	return vs
}

// latest returns the highest migration number this build embeds.
func latest(t *testing.T) int {
	vs := allVersions(t)
	return vs[len(vs)-1]
}

// Two replicas append events at once, without the writer lock every write
// takes today: the chain's head, locked by each appending transaction, still
// makes one chain whose ids follow one another.
func TestEventChainWithoutWriterLock(t *testing.T) {
	postgres.WithoutWriterLock(t)
	url := pgtest.NewDatabase(t)
	first := connect(t, withPoolSize(url, 8))
	if err := first.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	replicas := []*postgres.DB{first, connect(t, withPoolSize(url, 8))}
	const writers, txs, perTx = 8, 25, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := replicas[w%len(replicas)]
			for i := range txs {
				err := db.Update(context.Background(), func(tx roster.Tx) error {
					// Other work first, then the events, as the engine does.
					if err := tx.PutUser(context.Background(), &roster.User{ID: fmt.Sprintf("u%d-%d", w, i), Status: roster.UserActive}); err != nil {
						return err
					}
					evs := make([]*roster.Event, perTx)
					for k := range evs {
						evs[k] = &roster.Event{At: time.Now(), Actor: fmt.Sprint(w), Action: "user.created", ObjectType: "user", ObjectID: fmt.Sprintf("u%d-%d-%d", w, i, k)}
					}
					return tx.AppendEvents(context.Background(), evs)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	prev, n := roster.GenesisHash, int64(0)
	cursor := ""
	for {
		var page *roster.Page[roster.Event]
		if err := first.View(context.Background(), func(tx roster.Tx) (err error) {
			page, err = tx.Events(context.Background(), roster.EventFilter{Cursor: cursor, Limit: roster.MaxPageSize})
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
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if n != writers*txs*perTx {
		t.Fatalf("%d events, want %d", n, writers*txs*perTx)
	}
}

// TestDefaultPoolHoldsEightTransactions: without pool_max_conns in the URL,
// eight transactions are open at once — a decision's COMMIT waits for the
// WAL flush, and pgx's default of 4 connections on a two-CPU machine kept
// the other clients' decisions waiting for a connection meanwhile. Each of
// eight reads waits inside its transaction until all eight are in theirs.
func TestDefaultPoolHoldsEightTransactions(t *testing.T) {
	db := open(t)
	const n = 8
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var entered sync.WaitGroup
	entered.Add(n)
	all := make(chan struct{})
	go func() { entered.Wait(); close(all) }()
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- db.View(ctx, func(tx roster.Tx) error {
				if _, err := tx.Settings(ctx); err != nil {
					return err
				}
				entered.Done()
				select {
				case <-all:
					return nil
				case <-ctx.Done():
					return fmt.Errorf("only some of %d transactions got a connection: %w", n, ctx.Err())
				}
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
