package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
)

// On PostgreSQL a sync locks its profile and the users its plan changes,
// not every writer: it runs beside a decision on another person's task, on
// any replica, and waits for one on a person it enrolls.
func TestSyncRunsBesideDecisionsPostgres(t *testing.T) {
	e := start(t)
	if !strings.HasPrefix(e.db, "postgres") {
		t.Skip("on SQLite one writer runs at a time")
	}
	ctx := context.Background()
	e.apply(org + engProfile)
	db, err := postgres.Open(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// A decision on user's task outside eng, held open until release.
	decide := func(user string, release <-chan struct{}) (held <-chan struct{}, done <-chan error) {
		task := roster.Task{Kind: roster.TaskGrant, User: user, Entitlement: "github/admin", State: roster.StatePendingApproval}
		if err := db.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &task) }); err != nil {
			t.Fatal(err)
		}
		h, d := make(chan struct{}), make(chan error, 1)
		go func() {
			d <- db.Update(ctx, func(tx roster.Tx) error {
				if err := tx.Lock(ctx, roster.LockTask(task.ID)); err != nil {
					return err
				}
				if _, err := tx.Task(ctx, task.ID); err != nil {
					return err
				}
				close(h)
				<-release
				return nil
			})
		}()
		return h, d
	}
	e.token(roster.AdminUser)
	sync := func() <-chan result {
		out := make(chan result, 1)
		go func() { out <- e.run(roster.AdminUser, "sync", "eng") }()
		return out
	}

	// dave comes to match eng while a decision on sam's task is under way:
	// the sync that enrolls him does not wait for it.
	e.ok(roster.AdminUser, "grant", "add", "dave", "okta/engineering")
	release := make(chan struct{})
	held, decided := decide("sam", release)
	<-held
	synced := sync()
	select {
	case r := <-synced:
		close(release)
		if r.code != 0 {
			t.Fatalf("sync: exit %d: %s", r.code, r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Error("the sync of eng waited for a decision on sam's task")
		close(release)
		<-synced
	}
	if err := <-decided; err != nil {
		t.Fatal(err)
	}
	e.task("--user", "dave", "--entitlement", "access-profiles/eng")

	// erin comes to match it while a decision on her own task is under
	// way: the sync that enrolls her waits for it.
	e.ok(roster.AdminUser, "grant", "add", "erin", "okta/engineering")
	release = make(chan struct{})
	held, decided = decide("erin", release)
	<-held
	synced = sync()
	select {
	case r := <-synced:
		t.Errorf("the sync of eng enrolled erin while a decision on her task was under way (exit %d)", r.code)
		close(release)
	case <-time.After(500 * time.Millisecond):
		close(release)
		if r := <-synced; r.code != 0 {
			t.Fatalf("sync: exit %d: %s", r.code, r.stderr)
		}
	}
	if err := <-decided; err != nil {
		t.Fatal(err)
	}
	e.task("--user", "erin", "--entitlement", "access-profiles/eng")
}
