package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
)

// queueAndSeal queues n events in one transaction, then seals them as the
// engine does, 4096 at a time, until a seal leaves the queue empty.
func queueAndSeal(t *testing.T, db *postgres.DB, n int, prefix string) {
	t.Helper()
	ctx := context.Background()
	evs := make([]*roster.Event, n)
	for i := range evs {
		evs[i] = &roster.Event{At: time.Now(), Actor: "bulk", Action: "user.created", ObjectType: "user",
			ObjectID: fmt.Sprintf("%s%05d", prefix, i), Data: []byte(`{"email": "someone@example.com"}`)}
	}
	if err := db.Update(ctx, func(tx roster.Tx) error {
		_, err := tx.QueueEvents(ctx, evs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for sealed := 4096; sealed == 4096; {
		if err := db.Update(ctx, func(tx roster.Tx) error {
			if err := tx.Lock(ctx, roster.LockEvents); err != nil {
				return err
			}
			evs, err := tx.SealEvents(ctx, 4096)
			sealed = len(evs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBulkSealsAreVacuumed checks that the dead tuples of the events a bulk
// seal moved out of event_queue do not slow the seals after it: the seal's
// look at the queue goes through its primary key, so it reads fewer pages
// than the heap holds even before a vacuum; and once seals have deleted
// 10,000 rows and emptied the queue, the store vacuums it at once (VACUUM,
// which sets last_vacuum; autovacuum's own, a minute later at best, sets
// last_autovacuum), after which that look reads a page or two, as on a queue
// that never held anything.
func TestBulkSealsAreVacuumed(t *testing.T) {
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
	defer conn.Close(ctx)
	vacuumed := func() bool {
		var at *time.Time
		if err := conn.QueryRow(ctx, `SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'event_queue'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at != nil
	}
	// look returns how many pages the seal's look at the queue reads, on
	// its second run: the first marks the index entries of the rows it
	// finds dead, as the seals that follow one another do.
	look := func() int {
		t.Helper()
		var pages int
		for range 2 {
			var out []byte
			if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+postgres.QueueHead).Scan(&out); err != nil {
				t.Fatal(err)
			}
			var plans []struct {
				Plan struct {
					Hit  int `json:"Shared Hit Blocks"`
					Read int `json:"Shared Read Blocks"`
				}
			}
			if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
				t.Fatalf("EXPLAIN said %s (%v)", out, err)
			}
			pages = plans[0].Plan.Hit + plans[0].Plan.Read
		}
		return pages
	}
	heap := func() int {
		var pages int
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size('event_queue') / current_setting('block_size')::int`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		return pages
	}
	queueAndSeal(t, db, 9000, "s")
	time.Sleep(time.Second)
	if vacuumed() {
		t.Fatal("seals of 9,000 events had event_queue vacuumed")
	}
	pages, of := look(), heap()
	t.Logf("with 9,000 dead rows, the look reads %d pages, of the heap's %d", pages, of)
	if pages*3 > of {
		t.Errorf("with 9,000 dead rows, the seal's look at the queue reads %d pages, of the heap's %d", pages, of)
	}
	queueAndSeal(t, db, 20000, "b")
	for deadline := time.Now().Add(30 * time.Second); !vacuumed(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("30 s after seals of 29,000 events, event_queue has not been vacuumed")
		}
	}
	pages = look()
	t.Logf("after the vacuum, the look reads %d pages, of the heap's %d", pages, heap())
	if pages > 2 {
		t.Errorf("after the vacuum, the seal's look at the queue reads %d pages", pages)
	}
}

// TestFailedVacuumIsLogged checks that a vacuum of the event queue that
// fails is reported to the store's logger, and that the store works on.
func TestFailedVacuumIsLogged(t *testing.T) {
	postgres.FailVacuums(t)
	db := open(t)
	var mu sync.Mutex
	var log bytes.Buffer
	db.SetLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil)))
	logged := func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
	queueAndSeal(t, db, 10000, "a")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logged(), "could not vacuum the event queue"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after seals of 10,000 events, the log says %q", logged())
		}
	}
	queueAndSeal(t, db, 10, "b")
	var n int
	if err := db.View(context.Background(), func(tx roster.Tx) error {
		page, err := tx.Events(context.Background(), roster.EventFilter{ObjectType: "user", ObjectID: "b00009"})
		if err == nil {
			n = len(page.Items)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("after a failed vacuum, %d events were sealed of the last one queued", n)
	}
}

// lockedWriter writes to w holding mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
