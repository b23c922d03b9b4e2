package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/paging"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// TestWriterPragmas checks the writer connection's own settings: its large
// page cache, and no automatic checkpoints (the checkpointer does them); and
// the readers' small cache, which every commit makes them drop.
func TestWriterPragmas(t *testing.T) {
	db := openTemp(t)
	want := map[string]int64{"cache_size": -262144, "wal_autocheckpoint": 0, "mmap_size": 256 << 20, "busy_timeout": 10000,
		"threads": int64(runtime.GOMAXPROCS(0))}
	err := db.Update(context.Background(), func(rt roster.Tx) error {
		for p, v := range want {
			var got int64
			if err := rt.(*tx).tx.QueryRowContext(context.Background(), "PRAGMA "+p).Scan(&got); err != nil {
				return err
			}
			if got != v {
				t.Errorf("writer: PRAGMA %s = %d, want %d", p, got, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(rt roster.Tx) error {
		var got int64
		if err := rt.(*tx).tx.QueryRowContext(context.Background(), "PRAGMA cache_size").Scan(&got); err != nil {
			return err
		}
		if got != -2048 {
			t.Errorf("reader: PRAGMA cache_size = %d, want -2048", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLogStartsOver checks that the write-ahead log does not grow without
// bound while writes follow one another: once it passes restartFrames the
// writer finishes a checkpoint and the log starts over, so the -wal file
// stays near the bound however much is written.
func TestLogStartsOver(t *testing.T) {
	defer func(i time.Duration, f int) { checkpointInterval, restartFrames = i, f }(checkpointInterval, restartFrames)
	checkpointInterval, restartFrames = 5*time.Millisecond, 256 // 1 MiB of log
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data := json.RawMessage(`"` + strings.Repeat("x", 3000) + `"`)
	written := 0
	for i := range 400 {
		evs := make([]*roster.Event, 20)
		for j := range evs {
			evs[j] = &roster.Event{At: time.Unix(int64(i), 0), Actor: "t", Action: "bulk", ObjectType: "test", ObjectID: fmt.Sprint(i, j), Data: data}
		}
		if err := db.Update(context.Background(), func(tx roster.Tx) error { return tx.AppendEvents(context.Background(), evs) }); err != nil {
			t.Fatal(err)
		}
		written += 20 * 3000
		// Let the background checkpointer run after this commit: on a
		// loaded machine a sleep may not be enough, and the writer would
		// outrun it.
		for r, waited := db.checkpoints.rounds.Load(), 0; db.checkpoints.rounds.Load() == r && waited < 2000; waited++ {
			time.Sleep(time.Millisecond)
		}
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(8 << 20); st.Size() > limit {
		t.Fatalf("the log grew to %d bytes after %d bytes of events: over %d, it did not start over", st.Size(), written, limit)
	}
	t.Logf("log %d bytes after %d bytes of events", st.Size(), written)
}

// indexNames lists the secondary indexes of grants and events.
func indexNames(t *testing.T, db *DB) []string {
	t.Helper()
	var names []string
	err := db.View(context.Background(), func(rt roster.Tx) error {
		var err error
		names, err = sqlstore.List(context.Background(), rt.(*tx).tx, sqlstore.ScanString,
			`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('grants', 'events') AND sql IS NOT NULL ORDER BY name`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestBulkGrants checks that a bulk write of grants sets the secondary
// indexes aside and builds them again, that a rolled-back one leaves them in
// place, and that the rows written meanwhile are found through them.
func TestBulkGrants(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	want := indexNames(t, db)
	if len(want) != 5 {
		t.Fatalf("indexes of grants and events: %v", want)
	}
	errRollback := fmt.Errorf("roll back")
	for _, commit := range []bool{false, true} {
		err := db.Update(ctx, func(rt roster.Tx) error {
			end, err := rt.BulkGrants(ctx, bulkMin)
			if err != nil {
				return err
			}
			var left int
			if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('grants', 'events') AND sql IS NOT NULL`).Scan(&left); err != nil {
				return err
			}
			if left != 0 {
				t.Errorf("%d secondary indexes left during the bulk write", left)
			}
			for i := range 50 {
				g := roster.Grant{User: fmt.Sprintf("u%d", i), Entitlement: "app/e", Sources: []string{"direct"}}
				if err := rt.PutGrant(ctx, &g); err != nil {
					return err
				}
				if err := rt.AppendEvent(ctx, &roster.Event{At: time.Unix(1, 0), Actor: "admin", Action: "grant.added", ObjectType: "grant", ObjectID: g.User + " app/e"}); err != nil {
					return err
				}
			}
			if !commit {
				return errRollback
			}
			if err := end(); err != nil {
				return err
			}
			// The builds sort with a small page cache; the writer's own
			// comes back after them.
			var cache int64
			if err := rt.(*tx).tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
				return err
			}
			if cache != -262144 {
				t.Errorf("writer: PRAGMA cache_size = %d after the bulk write, want -262144", cache)
			}
			return nil
		})
		if commit && err != nil || !commit && err != errRollback {
			t.Fatalf("commit %t: %v", commit, err)
		}
		if got := indexNames(t, db); !slices.Equal(got, want) {
			t.Fatalf("commit %t: indexes after the bulk write %v, want %v", commit, got, want)
		}
	}
	err := db.View(ctx, func(rt roster.Tx) error {
		holders, err := rt.Holders(ctx, []string{"app/e"})
		if err != nil {
			return err
		}
		evs, err := rt.Events(ctx, roster.EventFilter{Action: "grant.added", Limit: 100})
		if err != nil {
			return err
		}
		if len(holders) != 50 || len(evs.Items) != 50 {
			t.Errorf("after the bulk write: %d holders, %d events, want 50 and 50", len(holders), len(evs.Items))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A small write, or one into a table larger than it, keeps the indexes.
	err = db.Update(ctx, func(rt roster.Tx) error {
		if _, err := rt.BulkGrants(ctx, bulkMin-1); err != nil {
			return err
		}
		var n int
		if err := rt.(*tx).tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('grants', 'events') AND sql IS NOT NULL`).Scan(&n); err != nil {
			return err
		}
		if n != len(want) {
			t.Errorf("a write of %d grants set indexes aside: %d left of %d", bulkMin-1, n, len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// queryPlan returns the details of SQLite's plan for query, one per line of
// EXPLAIN QUERY PLAN.
func queryPlan(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	var plan []string
	err := db.View(context.Background(), func(rt roster.Tx) error {
		var err error
		plan, err = sqlstore.List(context.Background(), rt.(*tx).tx, func(r sqlstore.Row) (string, error) {
			var id, parent, unused int
			var detail string
			err := r.Scan(&id, &parent, &unused, &detail)
			return detail, err
		}, `EXPLAIN QUERY PLAN `+query, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestOpenTaskRefsReadOnlyTheirIndex checks that the open tasks a sync's
// plan reads (OpenTaskRefs) come from the open tasks' covering index, not
// from every task of the entitlement, each read from the table.
func TestOpenTaskRefsReadOnlyTheirIndex(t *testing.T) {
	db := openTemp(t)
	plan := queryPlan(t, db, sqlstore.OpenTaskRefsQuery, "app/e")
	if want := "SEARCH tasks USING COVERING INDEX tasks_open_entitlement (entitlement_id=?)"; len(plan) != 1 || plan[0] != want {
		t.Errorf("OpenTaskRefs' plan: %q, want [%q]", plan, want)
	}
}

// TestOpenTaskRefsOfReadOnlyTheirIndex checks that the open tasks the list
// of profiles reads (OpenTaskRefsOf, of every profile's enrollment
// entitlement at once) come from the open tasks' covering index, an
// entitlement after the other and already in order, not from every open
// task through the state index, each read from the table and then sorted.
func TestOpenTaskRefsOfReadOnlyTheirIndex(t *testing.T) {
	db := openTemp(t)
	plan := queryPlan(t, db, sqlstore.OpenTaskRefsOfQuery(dialect{}, openTaskRefsOfFrom), `["access-profiles/b","access-profiles/a"]`)
	want := []string{"SEARCH tasks USING COVERING INDEX tasks_open_entitlement (entitlement_id=?)", "LIST SUBQUERY 1",
		"SCAN json_each VIRTUAL TABLE INDEX 1:"}
	if !slices.Equal(plan, want) {
		t.Errorf("OpenTaskRefsOf's plan: %q, want %q", plan, want)
	}
}

// TestUserTasksReadTheUsersIndex checks that a list of tasks filtered by user
// reads the user's tasks alone, in order, through tasks_user: a user has a
// few tasks, where the entitlement, state or profile also given may have a
// hundred thousand, which SQLite, without statistics, would rather read.
func TestUserTasksReadTheUsersIndex(t *testing.T) {
	db := openTemp(t)
	cursor := paging.Encode(map[string]int64{"id": 7})
	for _, f := range []roster.TaskFilter{
		{User: "u1"},
		{User: "u1", Entitlement: "app/e"},
		{User: "u1", State: roster.StatePendingApproval},
		{User: "u1", Profile: "p1"},
		{User: "u1", Entitlement: "app/e", OpenOnly: true},
		{User: "u1", OpenOnly: true},
		{User: "u1", Kind: roster.TaskGrant},
		{User: "u1", Origin: roster.OriginEnrollment},
		{User: "u1", Approver: "boss"},
		{User: "u1", Entitlement: "app/e", State: roster.StateDone, Profile: "p1", Kind: roster.TaskGrant,
			Origin: roster.OriginEnrollment, Cursor: cursor},
	} {
		var query string
		var args []any
		err := db.View(context.Background(), func(rt roster.Tx) error {
			var err error
			query, args, err = rt.(*tx).TasksQuery(f)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "SEARCH tasks USING INDEX tasks_user (user_id=?)"
		if f.Cursor != "" {
			want = "SEARCH tasks USING INDEX tasks_user (user_id=? AND id>?)"
		}
		// What reads the tasks, and no sort; an approver's lines read the
		// JSON arrays of each task.
		plan := queryPlan(t, db, query, args...)
		reads := slices.DeleteFunc(slices.Clone(plan), func(l string) bool {
			return !strings.Contains(l, "tasks") && !strings.Contains(l, "B-TREE")
		})
		if len(reads) != 1 || reads[0] != want {
			t.Errorf("%+v: plan %q, want [%q]", f, plan, want)
		}
	}
}

// TestEachMemberOfReadsThePrimaryKey checks that the members the admin's
// list of profiles reads (EachMemberOf, of every profile at once) come through the
// members' primary key, a profile after the other and already in order by
// user, not from a scan of every member nor sorted afterwards.
func TestEachMemberOfReadsThePrimaryKey(t *testing.T) {
	db := openTemp(t)
	plan := queryPlan(t, db, sqlstore.EachMemberOfQuery(dialect{}), `["b","a"]`)
	want := []string{"SEARCH members USING INDEX sqlite_autoindex_members_1 (profile_id=?)", "LIST SUBQUERY 1",
		"SCAN json_each VIRTUAL TABLE INDEX 1:"}
	if !slices.Equal(plan, want) {
		t.Errorf("EachMemberOf's plan: %q, want %q", plan, want)
	}
}
