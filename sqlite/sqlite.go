// Package sqlite implements roster.Store on SQLite, through database/sql and
// the pure-Go driver modernc.org/sqlite.
//
// A DB holds two connection pools on one database file in WAL mode: a writer
// with a single connection whose transactions begin IMMEDIATE, so that writers
// queue in Go instead of failing with SQLITE_BUSY, and a read-only reader with
// several connections for View. The schema comes from the numbered SQL files
// under migrations/, applied in order by Open and tracked in the
// schema_migrations table; the PostgreSQL driver carries the same numbers.
//
// Times are stored as INTEGER unix nanoseconds, truncated to the microsecond
// so that SQLite and PostgreSQL hold the same values, and are returned in UTC.
// Lists and maps are stored as JSON text.
//
// The queries both stores make alike come from internal/sqlstore, spelled
// for SQLite by dialect. This package holds what only SQLite does: its
// pools and checkpoints, the statement cache, the rows written behind
// (users, grants, memberships, tasks created closed) and the multi-row
// event inserts, BulkGrants' index rebuild, and ScanSync's reads of JSON
// arrays.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/rosterhq/roster/internal/migration"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/failpoint"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a Roster database in one SQLite file. It implements roster.Store and
// is safe for concurrent use.
type DB struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	// checkpoints copies the log into the database file off the writer.
	checkpoints *checkpointer
	// writes and reads cache the pools' prepared statements.
	writes, reads *stmtCache
}

var _ roster.Store = (*DB)(nil)

// pragmas run on every connection of both pools, in this order.
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	// The engine keeps references consistent; a declarative file may refer to
	// a user it declares later in the same transaction.
	"foreign_keys(OFF)",
	// Reads through a memory map of up to 1 GiB: a sync that creates many
	// tasks otherwise spends a seventh of its time re-reading pages with
	// system calls.
	"mmap_size(1073741824)",
}

// Page caches: the writer's holds the pages a large transaction changes, so
// that it seldom writes pages to the log before it commits (a sync commits
// in parts of a bounded size, see engine.Config.SyncChunk). A cached page
// costs about twice its size: it is allocated with its header, rounded up.
// The writer's cache was 512 MiB: past a gigabyte of the server's memory
// once a large sync had filled it.
//
// A reader keeps SQLite's default, 2 MiB: any commit makes every reader
// drop its whole cache at its next read (SQLite cannot tell which pages
// changed), and a steady sync pass commits its quiet profiles' sync states,
// so the next pass found each reader's cache full of pages to free (each
// freed region handed back to the system with madvise by modernc's
// allocator) and to allocate again. The readers' caches were 64 MiB: that
// churn was a fifth to a third of a pass's CPU at 100k users on a loaded
// machine (docs/performance.md), and the pages it kept were read once a
// pass all the same (a pass reads each page of the lists it scans once;
// what a reader's memory map covers takes no place in its cache).
const (
	writerCache = "cache_size(-262144)" // 256 MiB
	readerCache = "cache_size(-2048)"   // 2 MiB
)

// writerMmap is the writer's memory map (the readers' is 1 GiB): the pages a
// process has read through a map count in its resident memory, and a large
// sync has the writer read its way through gigabytes of tables and indexes;
// with the map and the cache it stays under a gigabyte.
const writerMmap = "mmap_size(268435456)" // 256 MiB

// dsn returns the modernc.org/sqlite data source name for path with the
// connection pragmas and the given extra parameters.
func dsn(path string, extra url.Values) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	for k, vs := range extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	return path + "?" + q.Encode()
}

// Open opens the SQLite database at path, creating the file if it does not
// exist, and applies any migrations it lacks. The in-memory database
// ":memory:" is not supported: the two pools would see two databases.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, roster.Errorf(roster.EINVALID, "sqlite: an in-memory database is not supported; give a file path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, roster.Errorf(roster.EINVALID, "sqlite: database path %q must not contain '?' or '#'", path)
	}

	// A new database is readable by its owner only: it holds who may reach
	// what, and token hashes. SQLite gives its -wal and -shm files the same
	// permissions.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}

	// The writer leaves checkpoints to the checkpointer.
	writer, err := sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}, "_pragma": {"wal_autocheckpoint(0)", writerCache, writerMmap,
		// Index builds (see BulkGrants) sort on every core.
		fmt.Sprintf("threads(%d)", runtime.GOMAXPROCS(0))}}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	// The writer connects first, so the file exists and is in WAL mode before
	// a reader (whose connections are query-only) opens it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	readers := max(4, runtime.GOMAXPROCS(0))
	reader, err := sql.Open("sqlite", dsn(path, url.Values{"_query_only": {"1"}, "_pragma": {readerCache}}))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)

	cp, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	cp.SetMaxOpenConns(1)
	db := &DB{path: path, writer: writer, reader: reader, writes: newStmtCache(writer), reads: newStmtCache(reader),
		checkpoints: newCheckpointer(cp)}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open reader %s: %w", path, err)
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	db.reads.close()
	db.writes.close()
	return errors.Join(db.checkpoints.close(), db.reader.Close(), db.writer.Close())
}

// Path returns the path of the database file.
func (db *DB) Path() string { return db.path }

// migrations returns the embedded migrations ordered by version.
func migrations() ([]migration.Migration, error) {
	ms, err := migration.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// migrate applies, in order and each in its own transaction, the migrations
// not yet recorded in schema_migrations.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.writer.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	// Events written before the audit chain (migration 9) are chained once
	// every migration has run, so the code's view of an event matches the
	// table's columns whatever migrations came after.
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: chain old events: begin: %w", err)
	}
	defer tx.Rollback()
	if err := db.hashEvents(ctx, tx); err != nil {
		return fmt.Errorf("sqlite: chain old events: %w", err)
	}
	return tx.Commit()
}

// applyMigration applies one migration unless it is already recorded.
func (db *DB) applyMigration(ctx context.Context, m migration.Migration) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migration %s: begin: %w", m.Name, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	} else if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version) VALUES (?)`, m.Version); err != nil {
		return fmt.Errorf("sqlite: migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migration %s: commit: %w", m.Name, err)
	}
	return nil
}

// Update runs fn in a read-write transaction. The transaction commits when fn
// returns nil and rolls back when it returns an error or panics (the panic is
// then re-raised). Writers are serialized; fn must not call Update itself.
func (db *DB) Update(ctx context.Context, fn func(roster.Tx) error) error {
	err := run(ctx, db.writer, db.writes, nil, fn)
	if err == nil {
		db.checkpoints.finish(ctx, db.writer)
		db.checkpoints.committed()
	}
	return err
}

// View runs fn in a read-only transaction on the reader pool. It sees a
// consistent snapshot of the database; writes inside it fail.
func (db *DB) View(ctx context.Context, fn func(roster.Tx) error) error {
	return run(ctx, db.reader, db.reads, &sql.TxOptions{ReadOnly: true}, fn)
}

// run runs fn in a transaction of pool.
func run(ctx context.Context, pool *sql.DB, cache *stmtCache, opts *sql.TxOptions, fn func(roster.Tx) error) (err error) {
	// Queries this transaction met for the first time are prepared once it
	// has ended and its connection is free again.
	defer cache.prepare()
	stx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	done := false
	ct := newCachedTx(stx, cache)
	defer func() {
		if !done {
			// fn panicked: roll back, then let the panic continue.
			ct.stop()
			stx.Rollback()
		}
	}()
	err = fn(newTx(ct))
	if err == nil {
		err = ct.flush(ctx)
	}
	// The writer goroutine is done with the connection before it commits
	// or rolls back.
	if serr := ct.stop(); err == nil {
		err = serr
	}
	done = true
	if err != nil {
		if rerr := stx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("sqlite: rollback: %w", rerr))
		}
		return err
	}
	if opts == nil {
		failpoint.Inject("commit.before")
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	if opts == nil {
		failpoint.Inject("commit.after")
	}
	return nil
}

// Backup writes a consistent copy of the database to destPath with VACUUM
// INTO. It reads a snapshot on a connection of its own, so writers go on while
// it runs. destPath must not exist yet.
func (db *DB) Backup(ctx context.Context, destPath string) error {
	if destPath == "" {
		return roster.Errorf(roster.EINVALID, "backup: destination path is empty")
	}
	// The reader pool's connections are query-only, which VACUUM INTO refuses,
	// and the writer's single connection would hold up every Update.
	conn, err := sql.Open("sqlite", dsn(db.path, nil))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, destPath); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", destPath, err)
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the database and the
// highest this build knows.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	latest = migration.Latest(ms)
	if err := db.reader.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, latest, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return applied, latest, nil
}
