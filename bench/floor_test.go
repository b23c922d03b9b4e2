package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// BenchmarkInsertFloor measures what SQLite alone takes to write the rows an
// apply wrote, with Roster's schema, pragmas and triggers: the floor under
// any apply that writes them, however little the engine did. It needs two
// databases: ROSTER_BENCH_FLOOR_BEFORE, one as the apply found it (e.g.
// `rosterbench load --preset dense20k --off`), and ROSTER_BENCH_FLOOR_AFTER,
// the same after `roster apply` (kept by /tmp/final.sh with KEEP=1, see
// docs/performance.md). Into a copy of the first it copies from the second
// the tasks, the events and the grants the apply added and every member,
// table by table, in the order they were written, in transactions of
// ROSTER_BENCH_FLOOR_ROWS rows (default 65,536), and reports each table's
// seconds and the whole's rows/s. It skips, saying so, without both.
//
// It is a floor, not an apply: rows come in large sorted batches straight
// from another file, each table alone, with no statement of the engine's
// between them, no reads, no audit chain and no change of an existing grant.
func BenchmarkInsertFloor(b *testing.B) {
	before, after := os.Getenv("ROSTER_BENCH_FLOOR_BEFORE"), os.Getenv("ROSTER_BENCH_FLOOR_AFTER")
	if before == "" || after == "" {
		b.Skip("set ROSTER_BENCH_FLOOR_BEFORE and ROSTER_BENCH_FLOOR_AFTER to the databases before and after an apply")
	}
	batch := 65536
	if v := os.Getenv("ROSTER_BENCH_FLOOR_ROWS"); v != "" {
		if _, err := fmt.Sscan(v, &batch); err != nil || batch <= 0 {
			b.Fatalf("ROSTER_BENCH_FLOOR_ROWS=%q: give a number of rows", v)
		}
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := copyDB(b, before)
		// The writer's pragmas (sqlite/sqlite.go: pragmas, writerCache,
		// writerMmap), which that package keeps to itself.
		db, err := sql.Open("sqlite", dst+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(OFF)"+
			"&_pragma=cache_size(-262144)&_pragma=mmap_size(268435456)")
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, after); err != nil {
			b.Fatal(err)
		}
		// What the first database holds already is not written again.
		var tasks, events, grants int64
		if err := conn.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM main.tasks),
			(SELECT coalesce(max(id), 0) FROM main.events), (SELECT coalesce(max(rowid), 0) FROM main.grants)`).Scan(&tasks, &events, &grants); err != nil {
			b.Fatal(err)
		}
		tables := []struct {
			name, key string
			from      int64
		}{
			{"tasks", "id", tasks},
			{"events", "id", events},
			{"grants", "rowid", grants},
			{"members", "rowid", 0},
		}
		b.StartTimer()
		start := time.Now()
		rows := int64(0)
		for _, t := range tables {
			t0 := time.Now()
			var last int64
			if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(`+t.key+`), 0) FROM src.`+t.name).Scan(&last); err != nil {
				b.Fatal(err)
			}
			n := int64(0)
			for lo := t.from; lo < last; lo += int64(batch) {
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO main.`+t.name+` SELECT * FROM src.`+t.name+
					` WHERE `+t.key+` > ? AND `+t.key+` <= ? ORDER BY `+t.key, lo, lo+int64(batch))
				if err != nil {
					b.Fatalf("copy %s: %v", t.name, err)
				}
				k, _ := res.RowsAffected()
				n += k
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			rows += n
			b.Logf("%s: %d rows in %.1f s", t.name, n, time.Since(t0).Seconds())
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		conn.Close()
		db.Close()
	}
}
