package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/testenv"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/sqlite"
)

// The store the benchmarks run on: ROSTER_BENCH_STORE=postgres runs the
// scale and change benchmarks on the PostgreSQL server of
// ROSTER_TEST_DATABASE_URL (default 127.0.0.1:5432, trust authentication),
// each loaded organisation in a database of its own; unset or "sqlite", on
// SQLite files. A loaded PostgreSQL database is kept on the server, named
// after the preset and its state (roster_bench_medium_state1_historytrue),
// and marked loaded by a table of its own (roster_bench_loaded) once its
// load has committed, as ROSTER_BENCH_CACHE keeps the SQLite files; a
// benchmark that changes the organisation works on a copy made with CREATE
// DATABASE ... TEMPLATE.
const storeEnv = "ROSTER_BENCH_STORE"

// onPostgres reports whether the benchmarks run on PostgreSQL.
func onPostgres(b testing.TB) bool {
	b.Helper()
	switch s := os.Getenv(storeEnv); s {
	case "", "sqlite":
		return false
	case "postgres":
		return true
	default:
		b.Fatalf("%s=%q: want sqlite or postgres", storeEnv, s)
		return false
	}
}

// isPostgres reports whether db is a PostgreSQL URL.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// pgServer returns the URL of the benchmark PostgreSQL server's maintenance
// database.
func pgServer(b testing.TB) string {
	b.Helper()
	return testenv.RequirePostgres(b)
}

// pgURL returns the server's URL with its database replaced by name.
func pgURL(b testing.TB, name string) string {
	b.Helper()
	u, err := url.Parse(pgServer(b))
	if err != nil {
		b.Fatalf("%s: %v", testenv.PostgresEnv, err)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// pgName returns the database name of a PostgreSQL URL.
func pgName(db string) string {
	u, err := url.Parse(db)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// pgAdmin runs fn on a connection to the server's maintenance database.
func pgAdmin(b testing.TB, fn func(ctx context.Context, conn *pgx.Conn) error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := fn(ctx, conn); err != nil {
		b.Fatal(err)
	}
}

// freshDB returns a database no benchmark has used: an empty SQLite path in
// a temporary directory, or an empty PostgreSQL database dropped when the
// benchmark ends. Starting a server on it creates its schema.
func freshDB(b testing.TB) string {
	b.Helper()
	if !onPostgres(b) {
		return filepath.Join(b.TempDir(), "roster.db")
	}
	return pgCreate(b, "")
}

// pgCreate creates a database, empty or a copy of template, dropped when the
// benchmark ends, and returns its URL.
func pgCreate(b testing.TB, template string) string {
	b.Helper()
	var r [6]byte
	rand.Read(r[:])
	name := "roster_bench_tmp_" + hex.EncodeToString(r[:])
	stmt := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize()
	if template != "" {
		// FILE_COPY copies the template's files; the default (WAL_LOG)
		// writes a large database through the write-ahead log.
		stmt += ` TEMPLATE ` + pgx.Identifier{template}.Sanitize() + ` STRATEGY FILE_COPY`
	}
	pgAdmin(b, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, stmt)
		return err
	})
	b.Cleanup(func() { pgDrop(b, name) })
	return pgURL(b, name)
}

// pgDrop drops a database, closing the connections still open to it.
func pgDrop(b testing.TB, name string) {
	b.Helper()
	pgAdmin(b, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
		return err
	})
}

// pgLoaded returns the URL of the kept database name, and whether it holds a
// completed load; a database left by an interrupted load is dropped and
// created anew, empty.
func pgLoaded(b testing.TB, name string) (string, bool) {
	b.Helper()
	db := pgURL(b, name)
	var exists bool
	pgAdmin(b, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	})
	if exists {
		ok := false
		withConn(b, db, func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT to_regclass('roster_bench_loaded') IS NOT NULL`).Scan(&ok)
		})
		if ok {
			return db, true
		}
		pgDrop(b, name)
	}
	pgAdmin(b, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
		return err
	})
	return db, false
}

// pgMarkLoaded marks a kept database as holding a completed load, and
// refreshes the planner's statistics as a server's autovacuum would in time.
func pgMarkLoaded(b testing.TB, db string) {
	b.Helper()
	withConn(b, db, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE`); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, `CREATE TABLE roster_bench_loaded (at timestamptz NOT NULL DEFAULT now())`)
		return err
	})
}

// withConn runs fn on a connection to the PostgreSQL database db.
func withConn(b testing.TB, db string, fn func(ctx context.Context, conn *pgx.Conn) error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := fn(ctx, conn); err != nil {
		b.Fatal(err)
	}
}

// openStore opens the database db names: a SQLite path, or a PostgreSQL URL
// whose schema it brings up to date.
func openStore(b testing.TB, db string) roster.Store {
	b.Helper()
	ctx := context.Background()
	if !isPostgres(db) {
		s, err := sqlite.Open(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	s, err := postgres.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		b.Fatal(err)
	}
	return s
}

// queryCounts runs counting queries on a database no server has open and
// returns their results by name.
func queryCounts(b testing.TB, db string, queries map[string]string) map[string]int {
	b.Helper()
	out := map[string]int{}
	if isPostgres(db) {
		withConn(b, db, func(ctx context.Context, conn *pgx.Conn) error {
			for name, q := range queries {
				var n int
				if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				out[name] = n
			}
			return nil
		})
		return out
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for name, q := range queries {
		var n int
		if err := conn.QueryRow(q).Scan(&n); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		out[name] = n
	}
	return out
}

// pgBackends returns the process ids of the server backends connected to
// the PostgreSQL database db.
func pgBackends(b testing.TB, db string) []int {
	b.Helper()
	var pids []int
	pgAdmin(b, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, pgName(db))
		if err != nil {
			return err
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	})
	return pids
}

// backendRSS reports the memory of the server backends serving db, read
// from /proc (the benchmark runs as the server's user or root): the largest
// peak resident set (VmHWM) among them and the sum of their private
// (anonymous) resident memory now, in MiB. A backend's resident set counts
// the pages of PostgreSQL's shared buffers it touched (shared_buffers),
// shared by every backend; RssAnon does not. It is PostgreSQL's memory,
// apart from the benchmark process's max-rss-MiB.
func backendRSS(b testing.TB, db string) (maxHWM, sumAnon float64) {
	b.Helper()
	for _, pid := range pgBackends(b, db) {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			var kb float64
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
				maxHWM = max(maxHWM, kb/1024)
			} else if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
				sumAnon += kb / 1024
			}
		}
	}
	return maxHWM, sumAnon
}

// reportBackendRSS reports backendRSS of db when it is a PostgreSQL
// database, while its server is still connected.
func reportBackendRSS(b *testing.B, db string) {
	b.Helper()
	if !isPostgres(db) {
		return
	}
	hwm, anon := backendRSS(b, db)
	b.ReportMetric(hwm, "pg-backend-peak-rss-MiB")
	b.ReportMetric(anon, "pg-backends-anon-MiB")
}
