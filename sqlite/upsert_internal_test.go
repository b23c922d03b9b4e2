package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// mixedGrants returns n grants, every third one of which (i%3 == 0) was
// created at t0 and is put again at t1 with another source, the others new
// at t1, plus the grants to create at t0 beforehand.
func mixedGrants(n int) (before, puts []roster.Grant) {
	t0, t1 := time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC()
	for i := range n {
		g := roster.Grant{User: fmt.Sprintf("u%05d", i), Entitlement: fmt.Sprintf("app/e%d", i%7), Sources: []string{"direct"}, CreatedAt: t1, UpdatedAt: t1}
		if i%3 == 0 {
			g.CreatedAt, g.UpdatedAt = t0, t0
			before = append(before, g)
			g.Sources = []string{"direct", "profile:p"}
			g.UpdatedAt = t1
		}
		puts = append(puts, g)
	}
	return before, puts
}

// openTemp opens an empty database in the test's temporary directory,
// closed when the test ends.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func putGrants(ctx context.Context, db *DB, gs []roster.Grant) error {
	return db.Update(ctx, func(rt roster.Tx) error {
		for i := range gs {
			if err := rt.PutGrant(ctx, &gs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestPutGrantsMixed checks the grants written behind where new grants and
// puts of existing ones alternate (issue 18 #1: a sync enrolling users who
// hold some of the profile's entitlements): each ends as put last, whether
// the put looks like an update (created before it was updated) or not, and
// including one that looks like an update but is new and a key put twice.
func TestPutGrantsMixed(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	before, puts := mixedGrants(3000)
	if err := putGrants(ctx, db, before); err != nil {
		t.Fatal(err)
	}
	// New, though created before it was updated (an import of old grants).
	old := roster.Grant{User: "ghost", Entitlement: "app/e1", Sources: []string{"direct"}, CreatedAt: time.Unix(50, 0).UTC(), UpdatedAt: time.Unix(200, 0).UTC()}
	puts = append(puts, old)
	// Put twice in the same transaction: the last put wins.
	twice := puts[3]
	twice.Sources = []string{"direct", "profile:p", "profile:q"}
	puts = append(puts, twice)
	if err := putGrants(ctx, db, puts); err != nil {
		t.Fatal(err)
	}
	want := map[string]roster.Grant{}
	for _, g := range puts {
		want[g.User+" "+g.Entitlement] = g
	}
	err := db.View(ctx, func(rt roster.Tx) error {
		for k, w := range want {
			g, err := rt.Grant(ctx, w.User, w.Entitlement)
			if err != nil {
				return fmt.Errorf("grant %s: %w", k, err)
			}
			if fmt.Sprint(g.Sources) != fmt.Sprint(w.Sources) || !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
				t.Errorf("grant %s: sources %v, created %v, updated %v; want %v, %v, %v", k, g.Sources, g.CreatedAt, g.UpdatedAt, w.Sources, w.CreatedAt, w.UpdatedAt)
			}
		}
		var n int
		if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM grants`).Scan(&n); err != nil {
			return err
		}
		if n != len(want) {
			t.Errorf("%d grants, want %d", n, len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPutGrantsMixed puts 8,192 grants in one transaction, a third of
// them existing ones, as a sync that justifies some grants and creates
// others does.
func BenchmarkPutGrantsMixed(b *testing.B) {
	ctx := context.Background()
	before, puts := mixedGrants(8192)
	for range b.N {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := putGrants(ctx, db, before); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := putGrants(ctx, db, puts); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
	}
}

// TestEventsAppendedAfterForeignRow checks that events are appended with the
// ids the audit chain gives them even when the events table holds a row the
// chain never wrote (whose rowid the chain's ids would not follow), and
// without their ids otherwise: each is listed with the id it was given.
func TestEventsAppendedAfterForeignRow(t *testing.T) {
	ctx := context.Background()
	for _, foreign := range []bool{false, true} {
		db := openTemp(t)
		evs := make([]*roster.Event, 40)
		for i := range evs {
			evs[i] = &roster.Event{At: time.Unix(1, 0), Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: fmt.Sprint(i)}
		}
		err := db.Update(ctx, func(rt roster.Tx) error {
			if foreign {
				if _, err := rt.(*tx).tx.ExecContext(ctx, `INSERT INTO events (id, at, actor, action, object_type, object_id, reason) VALUES (100, 0, 'x', 'x', 'x', 'x', '')`); err != nil {
					return err
				}
			}
			return rt.AppendEvents(ctx, evs)
		})
		if err != nil {
			t.Fatalf("foreign row %v: %v", foreign, err)
		}
		err = db.View(ctx, func(rt roster.Tx) error {
			p, err := rt.Events(ctx, roster.EventFilter{Action: "grant.added", Limit: 100})
			if err != nil {
				return err
			}
			if len(p.Items) != len(evs) {
				t.Fatalf("foreign row %v: %d events listed, want %d", foreign, len(p.Items), len(evs))
			}
			for i, ev := range p.Items {
				if ev.ID != evs[i].ID || ev.ObjectID != evs[i].ObjectID || ev.Hash != evs[i].Hash {
					t.Errorf("foreign row %v: event %d listed as %d %s %s, appended as %d %s %s", foreign, i, ev.ID, ev.ObjectID, ev.Hash, evs[i].ID, evs[i].ObjectID, evs[i].Hash)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkAppendEvents appends 32,768 events of a sync (task.created,
// grant.added) in one transaction, 1,024 at a time, after as many written
// by a transaction before (whose pages a statement journal would copy).
func BenchmarkAppendEvents(b *testing.B) {
	ctx := context.Background()
	appendSync := func(db *DB, from int) error {
		return db.Update(ctx, func(rt roster.Tx) error {
			evs := make([]*roster.Event, 1024)
			for n := from; n < from+32768; n += len(evs) {
				for i := range evs {
					id := n + i
					evs[i] = &roster.Event{At: time.Unix(1, 0), Actor: "automation", Action: "task.created", ObjectType: "task", ObjectID: fmt.Sprint(id),
						Reason: "access of profile p", Data: json.RawMessage(fmt.Sprintf(`{"entitlement":"app/e%d","kind":"grant","state":"done","user":"u%05d"}`, id%1000, id/3))}
					if i%2 == 1 {
						evs[i].Action, evs[i].ObjectType, evs[i].ObjectID = "grant.added", "grant", fmt.Sprintf("u%05d app/e%d", id/3, id%1000)
						evs[i].Data = json.RawMessage(`{"sources":["profile:p"]}`)
					}
				}
				if err := rt.AppendEvents(ctx, evs); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for range b.N {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := appendSync(db, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err = appendSync(db, 32768)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// TestRowsWrittenBehindFail checks the rows a transaction's writer goroutine
// writes (see writeBehind): reads in the transaction see every row handed to
// it, and when one of its statements fails, the error reaches the caller,
// the transaction commits nothing, and the next one starts clean.
func TestRowsWrittenBehindFail(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	err := db.Update(ctx, func(rt roster.Tx) error {
		_, err := rt.(*tx).tx.ExecContext(ctx, `CREATE TRIGGER no_bad_grants BEFORE INSERT ON grants WHEN NEW.user_id = 'bad'
			BEGIN SELECT RAISE(FAIL, 'no grants for bad'); END`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(100, 0).UTC()
	grant := func(u string) *roster.Grant {
		return &roster.Grant{User: u, Entitlement: "app/e", Sources: []string{"direct"}, CreatedAt: at, UpdatedAt: at}
	}
	// A few rows are written without the goroutine: a decision would only
	// pay for the hand-over.
	err = db.Update(ctx, func(rt roster.Tx) error {
		if err := rt.PutGrant(ctx, grant("few")); err != nil {
			return err
		}
		if err := rt.AppendEvents(ctx, []*roster.Event{{At: at, Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: "few"}}); err != nil {
			return err
		}
		if rt.(*tx).tx.held.bg.started() {
			t.Error("a transaction of one grant and one event started the writer goroutine")
		}
		return rt.(*tx).tx.QueryRowContext(ctx, `DELETE FROM grants WHERE user_id = 'few'`).Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// Many chunks go to the writer goroutine, events and the chain's head
	// between them; the transaction reads them all back.
	const n = 5000
	err = db.Update(ctx, func(rt roster.Tx) error {
		for i := range n {
			if err := rt.PutGrant(ctx, grant(fmt.Sprintf("u%05d", i))); err != nil {
				return err
			}
			if i%1000 == 999 {
				if err := rt.AppendEvents(ctx, []*roster.Event{{At: at, Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: fmt.Sprint(i)}}); err != nil {
					return err
				}
			}
		}
		if !rt.(*tx).tx.held.bg.busy {
			t.Error("no chunk went to the writer goroutine")
		}
		var got int
		if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM grants`).Scan(&got); err != nil {
			return err
		}
		if got != n {
			t.Errorf("the transaction reads %d grants, want %d", got, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failure in the first chunk: the rest are given and skipped, the
	// events and the head too, and the error comes back from Update.
	err = db.Update(ctx, func(rt roster.Tx) error {
		for i := range n {
			u := fmt.Sprintf("v%05d", i)
			if i == 10 {
				u = "bad"
			}
			if err := rt.PutGrant(ctx, grant(u)); err != nil {
				return err
			}
			if i%1000 == 999 {
				if err := rt.AppendEvents(ctx, []*roster.Event{{At: at, Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: u}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "no grants for bad") {
		t.Fatalf("Update = %v, want the trigger's error", err)
	}
	var grants, events int
	err = db.View(ctx, func(rt roster.Tx) error {
		if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM grants`).Scan(&grants); err != nil {
			return err
		}
		return rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&events)
	})
	if err != nil {
		t.Fatal(err)
	}
	if grants != n || events != 6 {
		t.Errorf("after the failed transaction: %d grants and %d events, want %d and 6", grants, events, n)
	}
	// The audit chain is whole: the failed transaction's events and head
	// were rolled back together, and the next append follows.
	err = db.Update(ctx, func(rt roster.Tx) error {
		return rt.AppendEvents(ctx, []*roster.Event{{At: at, Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: "after"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(rt roster.Tx) error {
		p, err := rt.Events(ctx, roster.EventFilter{Limit: 100})
		if err != nil {
			return err
		}
		headID, headHash, err := rt.EventChainHead(ctx)
		if err != nil {
			return err
		}
		hash := roster.GenesisHash
		for i, ev := range p.Items {
			if hash, err = roster.ChainHash(hash, &ev); err != nil {
				return err
			}
			if ev.ID != int64(i+1) || ev.Hash != hash {
				t.Errorf("event %d: id %d, hash %s, want id %d, hash %s", i, ev.ID, ev.Hash, i+1, hash)
			}
		}
		if len(p.Items) != 7 || headID != 7 || headHash != hash {
			t.Errorf("%d events, head %d %s; want 7 events, head 7 %s", len(p.Items), headID, headHash, hash)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriterGoroutinePanics: a job that panics in the writer goroutine
// fails the transaction with the panic instead of ending the process, and
// the jobs after it are skipped.
func TestWriterGoroutinePanics(t *testing.T) {
	var b behind
	b.submit(func() error { panic("boom") })
	b.submit(func() error {
		t.Error("a job given after the panic ran")
		return nil
	})
	if err := b.stop(); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("stop = %v, want the panic", err)
	}
}
