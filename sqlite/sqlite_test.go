package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
	"github.com/rosterhq/roster/storetest"
)

// open opens a fresh database in a temporary directory, closed when the test
// ends.
func open(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
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

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) roster.Store { return open(t) })
}

// migrationVersions returns the versions recorded in schema_migrations.
func migrationVersions(t *testing.T, path string) []int {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := roster.User{ID: "alice", Status: roster.UserActive, Role: roster.RoleUser, CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.PutUser(ctx, &u) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	first := migrationVersions(t, path)
	if len(first) == 0 || first[0] != 1 {
		t.Fatalf("schema_migrations holds %v, want 1 first", first)
	}

	for range 2 {
		db, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var got *roster.User
		if err := db.View(ctx, func(tx roster.Tx) error {
			var err error
			got, err = tx.User(ctx, "alice")
			return err
		}); err != nil {
			t.Fatalf("user after reopen: %v", err)
		}
		if got.ID != "alice" {
			t.Fatalf("user after reopen: %+v", got)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if again := migrationVersions(t, path); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("schema_migrations after reopen: %v, want %v", again, first)
		}
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	_, err := sqlite.Open(context.Background(), ":memory:")
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("Open(:memory:): %v, want EINVALID", err)
	}
}

func TestPragmas(t *testing.T) {
	db := open(t)
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode %q, want wal", mode)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.Update(ctx, func(tx roster.Tx) error {
		for i := range 50 {
			u := roster.User{ID: fmt.Sprintf("u%02d", i), Status: roster.UserActive, Role: roster.RoleUser}
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		tk := roster.Task{Kind: roster.TaskGrant, User: "u01", Entitlement: "a/b", State: roster.StatePendingApproval}
		return tx.CreateTask(ctx, &tk)
	}); err != nil {
		t.Fatal(err)
	}

	// A reader holds a transaction open while the backup runs.
	hold := make(chan struct{})
	viewing := make(chan struct{})
	viewDone := make(chan error)
	go func() {
		viewDone <- db.View(ctx, func(tx roster.Tx) error {
			if _, err := tx.User(ctx, "u01"); err != nil {
				return err
			}
			close(viewing)
			<-hold
			return nil
		})
	}()
	<-viewing

	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatalf("backup: %v", err)
	}
	close(hold)
	if err := <-viewDone; err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Fatalf("backup over an existing file succeeded")
	}

	// Writes after the backup do not reach it.
	if err := db.Update(ctx, func(tx roster.Tx) error {
		return tx.PutUser(ctx, &roster.User{ID: "late", Status: roster.UserActive})
	}); err != nil {
		t.Fatal(err)
	}

	b, err := sqlite.Open(ctx, dest)
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	if err := b.View(ctx, func(tx roster.Tx) error {
		users, err := tx.AllUsers(ctx)
		if err != nil {
			return err
		}
		if len(users) != 50 {
			return fmt.Errorf("backup holds %d users, want 50", len(users))
		}
		if _, err := tx.OpenTask(ctx, "u01", "a/b", roster.TaskGrant); err != nil {
			return fmt.Errorf("backup task: %w", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The backup is a working database: the open-task index came along.
	err = b.Update(ctx, func(tx roster.Tx) error {
		tk := roster.Task{Kind: roster.TaskGrant, User: "u01", Entitlement: "a/b", State: roster.StatePendingApproval}
		return tx.CreateTask(ctx, &tk)
	})
	if roster.ErrorCode(err) != roster.ECONFLICT {
		t.Fatalf("duplicate open task in the backup: %v, want ECONFLICT", err)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := db.Update(ctx, func(tx roster.Tx) error {
					u := roster.User{ID: fmt.Sprintf("w%d-%02d", w, i), Status: roster.UserActive, Role: roster.RoleUser}
					if err := tx.PutUser(ctx, &u); err != nil {
						return err
					}
					// Read-modify-write of one shared row: serialized writers never lose an update.
					s, err := tx.Settings(ctx)
					if err != nil {
						return err
					}
					s.Safeguard.MinMembers++
					if err := tx.PutSettings(ctx, s); err != nil {
						return err
					}
					ev := roster.Event{Action: "user.create", ObjectType: "user", ObjectID: u.ID}
					return tx.AppendEvent(ctx, &ev)
				})
				if err != nil {
					errs <- err
				}
				// Readers run alongside the writers.
				if err := db.View(ctx, func(tx roster.Tx) error {
					_, err := tx.Users(ctx, roster.UserFilter{Limit: 10})
					return err
				}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := db.View(ctx, func(tx roster.Tx) error {
		users, err := tx.AllUsers(ctx)
		if err != nil {
			return err
		}
		if len(users) != workers*each {
			return fmt.Errorf("%d users, want %d", len(users), workers*each)
		}
		s, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		if want := roster.DefaultSettings().Safeguard.MinMembers + workers*each; s.Safeguard.MinMembers != want {
			return fmt.Errorf("counter %d, want %d", s.Safeguard.MinMembers, want)
		}
		evs, err := tx.Events(ctx, roster.EventFilter{Limit: roster.MaxPageSize})
		if err != nil {
			return err
		}
		if len(evs.Items) != workers*each {
			return fmt.Errorf("%d events, want %d", len(evs.Items), workers*each)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTimesTruncatedToMicroseconds(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	in := time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", -7*3600))
	if err := db.Update(ctx, func(tx roster.Tx) error {
		return tx.PutUser(ctx, &roster.User{ID: "u", CreatedAt: in, UpdatedAt: in})
	}); err != nil {
		t.Fatal(err)
	}
	var got *roster.User
	if err := db.View(ctx, func(tx roster.Tx) error {
		var err error
		got, err = tx.User(ctx, "u")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 1, 2, 10, 4, 5, 999999000, time.UTC)
	if got.CreatedAt != want {
		t.Fatalf("CreatedAt %v, want %v", got.CreatedAt, want)
	}

	// Out-of-range times are refused rather than stored wrong.
	err := db.Update(ctx, func(tx roster.Tx) error {
		return tx.PutUser(ctx, &roster.User{ID: "old", CreatedAt: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("year 1500: %v, want EINVALID", err)
	}
}

func TestCursorShape(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	// Valid base64 and JSON, but not a cursor this store made.
	for _, c := range []string{"e30", "W10", "Zm9v", "eyJpZCI6bnVsbH0"} {
		err := db.View(ctx, func(tx roster.Tx) error {
			_, err := tx.Users(ctx, roster.UserFilter{Cursor: c})
			return err
		})
		if roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("Users with cursor %q: %v, want EINVALID", c, err)
		}
		err = db.View(ctx, func(tx roster.Tx) error {
			_, err := tx.Grants(ctx, roster.GrantFilter{Cursor: c})
			return err
		})
		if roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("Grants with cursor %q: %v, want EINVALID", c, err)
		}
		err = db.View(ctx, func(tx roster.Tx) error {
			_, err := tx.Tasks(ctx, roster.TaskFilter{Cursor: c})
			return err
		})
		if roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("Tasks with cursor %q: %v, want EINVALID", c, err)
		}
	}
}

// TestNewDatabaseIsPrivate checks that a database Open creates, and its
// write-ahead log, are readable by their owner only (issue 14: new files
// were world-readable), and that an existing file keeps its permissions.
func TestNewDatabaseIsPrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(ctx, func(tx roster.Tx) error {
		return tx.PutSettings(ctx, &roster.Settings{})
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has permissions %v, want none for group and others", filepath.Base(p), perm)
		}
	}
}
