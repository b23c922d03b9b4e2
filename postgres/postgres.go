// Package postgres implements roster.Store on PostgreSQL, through pgx and its
// connection pool.
//
// Update runs fn in a READ COMMITTED read-write transaction under the writer
// lock: held exclusively, so that writers run one after another, or shared
// with the keys fn names with Tx.Lock before anything else (lock.go). When
// PostgreSQL picks it as a deadlock victim (40P01) or reports a
// serialization failure (40001), at BEGIN, at any statement or at COMMIT,
// the transaction is rolled back and fn runs again, up to maxAttempts times
// with a short jittered backoff. roster.Store asks fn to be re-runnable for
// this: two replicas approving the same task end with one winner, and the
// other's fn sees the task already approved. View runs fn in a REPEATABLE READ READ
// ONLY transaction, a consistent snapshot that never conflicts.
//
// The schema comes from the numbered SQL files under migrations/, the same
// numbers and tables as the sqlite package's, applied by Migrate under an
// advisory lock and tracked in the schema_migrations table. Open does not
// migrate. Text columns are COLLATE "C" (bytewise order, as Go sorts), times
// are timestamptz truncated to the microsecond and returned in UTC, and lists
// and maps are JSONB.
//
// The queries both stores make alike come from internal/sqlstore, spelled
// for PostgreSQL by dialect and run by querier, which numbers their
// placeholders and notes the conflicts that make Update run fn again. This
// package holds what only PostgreSQL does: the writer lock, the keys that
// let decisions run beside one another (lock.go) and retries, CreateTask's
// ON CONFLICT arbiter, the array insert of events, their queue and its
// sealing (event.go), and ScanSync.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/migration"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/failpoint"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// maxAttempts is how many times Update runs a transaction that keeps failing
// with a serialization failure or a deadlock before it gives up.
const maxAttempts = 10

// migrationLock is the key of the session advisory lock Migrate holds, so
// that replicas starting at once apply the migrations one after the other.
// It is the first eight bytes of "rostermg" read as a big-endian integer.
const migrationLock int64 = 0x726f737465726d67

// DB is a Roster database on a PostgreSQL server. It implements roster.Store
// and is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	// analyzer gathers the statistics of tables a commit wrote in bulk.
	analyzer *analyzer
}

var _ roster.Store = (*DB)(nil)

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string) and checks that it answers. It does not
// migrate: call Migrate. The pool's settings come from the URL, such as
// pool_max_conns (default: defaultPoolSize).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn masks the password when its error quotes the URL.
		return nil, roster.Errorf(roster.EINVALID, "postgres: invalid database URL: %v", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultPoolSize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &DB{pool: pool, analyzer: newAnalyzer(pool)}, nil
}

// defaultPoolSize is the pool's size when the URL does not set
// pool_max_conns: 8, or the number of CPUs when they are more. A
// transaction holds its connection while COMMIT waits for PostgreSQL to
// flush its WAL (about a millisecond on the machines measured), when the
// replica's CPU is free for other transactions: pgx's default of 4 on two
// CPUs left eight clients' approvals waiting for a connection with the CPU
// a fifth idle (docs/performance.md, 2026-12-07 evening). Four replicas
// of 8 stay well inside PostgreSQL's default max_connections of 100.
func defaultPoolSize() int32 {
	return int32(max(8, runtime.NumCPU()))
}

// Close closes every connection of the pool, waiting for those in use to be
// returned.
func (db *DB) Close() error {
	db.analyzer.close()
	db.pool.Close()
	return nil
}

// migrations returns the embedded migrations ordered by version.
func migrations() ([]migration.Migration, error) {
	ms, err := migration.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Migrate applies, in order and each in its own transaction, the migrations
// not yet recorded in schema_migrations. It holds a session advisory lock
// while it works, so several replicas may call it at once: the first applies
// what is missing, the others wait and then find nothing to do.
func (db *DB) Migrate(ctx context.Context) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// The lock belongs to the session: a connection that cannot release
		// it is closed rather than returned to the pool still holding it.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
			if err == nil {
				err = fmt.Errorf("postgres: migrate: unlock: %w", uerr)
			}
		}
	}()

	if _, err := conn.Exec(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return err
		}
	}
	// Events written before the audit chain (migration 9) are chained once
	// every migration has run, so the code's view of an event matches the
	// table's columns whatever migrations came after.
	if err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error { return hashEvents(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: chain old events: %w", err)
	}
	return nil
}

// applyMigration applies one migration unless it is already recorded.
func applyMigration(ctx context.Context, conn *pgx.Conn, m migration.Migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var applied bool
		if err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		} else if applied {
			return nil
		}
		// Without arguments pgx sends the file in one simple query, so it may
		// hold several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
			return fmt.Errorf("postgres: migration %s: record: %w", m.Name, err)
		}
		return nil
	})
}

// SchemaVersion returns the highest migration applied to the database (0 when
// none is) and the highest this build carries. The database is up to date
// when they are equal.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	latest = migration.Latest(ms)
	var exists bool
	if err := db.pool.QueryRow(ctx,
		`SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, latest, fmt.Errorf("postgres: schema version: %w", err)
	} else if !exists {
		return 0, latest, nil
	}
	if err := db.pool.QueryRow(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, latest, fmt.Errorf("postgres: schema version: %w", err)
	}
	return applied, latest, nil
}

// writerLock is the advisory lock every read-write transaction holds: most
// exclusively, one writer at a time across all replicas, as on SQLite; those
// that call Lock first, shared, beside one another (see lock.go).
const writerLock = 0x526f73746572 // "Roster"

// takeWriterLock is whether Update takes writerLock. Only a test turns it
// off, to show that what must hold without it (the audit chain) does.
var takeWriterLock = true

// Update runs fn in a read-write transaction at READ COMMITTED that takes
// the writer lock, a transaction-scoped advisory lock shared by every
// replica, before its first statement: each statement sees everything
// committed before it, and nothing else commits until this transaction ends,
// so writers run as if one after another. When fn calls Tx.Lock first, the
// transaction holds the writer lock shared instead, and the keys it names:
// it runs beside the others that did so and named other keys (lock.go). (SERIALIZABLE alone proved unfit: its page-level
// predicate locks make unrelated approvals conflict, and under load a
// transaction could lose every retry.) The transaction commits when fn returns
// nil and rolls back when it returns an error or panics (the panic is then
// re-raised). Should it still fail with a serialization failure or a
// deadlock, it is rolled back and fn runs again, up to maxAttempts times; fn
// must therefore be re-runnable.
func (db *DB) Update(ctx context.Context, fn func(roster.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	for attempt := 1; ; attempt++ {
		retry, err := db.run(ctx, opts, fn)
		if !retry {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("postgres: transaction conflicted with concurrent ones %d times: %w", attempt, err)
		}
		timer := time.NewTimer(backoff(attempt + 1))
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(err, ctx.Err())
		case <-timer.C:
		}
	}
}

// View runs fn in a read-only transaction that sees one consistent snapshot
// of the database; writes inside it fail.
func (db *DB) View(ctx context.Context, fn func(roster.Tx) error) error {
	_, err := db.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	return err
}

// ReadLoose implements roster.LooseReader: fn's statements run on the pool,
// each by itself, outside any transaction; a write fails.
func (db *DB) ReadLoose(ctx context.Context, fn func(roster.Tx) error) error {
	return fn(newTx(looseTx{pool: db.pool}, false))
}

// looseTx is the part of a pgx.Tx that reads use, run on the pool, each
// statement on a connection of its own. The rest of pgx.Tx (nil) is never
// called by a read; a write fails before reaching it.
type looseTx struct {
	pgx.Tx
	pool *pgxpool.Pool
}

// Query implements pgx.Tx.
func (l looseTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return l.pool.Query(ctx, sql, args...)
}

// QueryRow implements pgx.Tx.
func (l looseTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return l.pool.QueryRow(ctx, sql, args...)
}

// Exec implements pgx.Tx: a loose read writes nothing.
func (l looseTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("postgres: a write in a loose read")
}

// Begin implements pgx.Tx: a loose read writes nothing, so it needs no
// savepoint.
func (l looseTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("postgres: a savepoint in a loose read")
}

// run runs fn once in a transaction with opts. retry reports that the
// transaction failed with a serialization failure or a deadlock and that fn
// may be run again.
func (db *DB) run(ctx context.Context, opts pgx.TxOptions, fn func(roster.Tx) error) (retry bool, err error) {
	write := opts.AccessMode == pgx.ReadWrite
	ptx, err := db.beginTx(ctx, opts)
	if err != nil {
		return isRetryable(err), fmt.Errorf("postgres: begin: %w", err)
	}
	t := newTx(ptx, write)
	t.conn = ptx
	done := false
	defer func() {
		if !done {
			// fn panicked: roll back, then let the panic continue.
			ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	err = fn(t)
	done = true
	if err != nil || t.conflict != nil {
		rerr := ptx.Rollback(context.WithoutCancel(ctx))
		if isRetryable(err) {
			return true, err
		} else if t.conflict != nil {
			// Whatever fn made of it, the transaction lost a race.
			return true, t.conflict
		}
		if rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			return false, errors.Join(err, fmt.Errorf("postgres: rollback: %w", rerr))
		}
		return false, err
	}
	point := "commit"
	if t.sealing {
		point = "seal"
	}
	if write {
		failpoint.Inject(point + ".before")
	}
	if err := t.commit(ctx); err != nil {
		return isRetryable(err) || t.conflict != nil, fmt.Errorf("postgres: commit: %w", err)
	}
	if write {
		failpoint.Inject(point + ".after")
	}
	db.analyzer.wrote(t.copied)
	return false, nil
}

// QueuesEvents reports that the engine should queue its audit events
// (Tx.QueueEvents) and seal them: it does on PostgreSQL.
func (db *DB) QueuesEvents() bool { return true }
