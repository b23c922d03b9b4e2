package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// tx implements roster.Tx on one PostgreSQL transaction. The queries both
// stores share come from sqlstore.Tx; tx adds the set-based writes (a
// statement for many rows, their values as arrays) and ScanSync, and notes
// the serialization failures and deadlocks its statements meet.
type tx struct {
	sqlstore.Tx
	tx pgx.Tx
	// locked is tx, in a read-write transaction: its locks (lock.go).
	locked *lockedTx
	// sealing says the transaction seals queued events (SealEvents).
	sealing bool
	// conflict is the first serialization failure or deadlock a statement
	// met. The transaction is then aborted and must be run again, whatever
	// fn makes of the error.
	conflict error
	// held are the rows written behind (see writeBehind); every other
	// statement writes them first.
	held *writeBehind
	// conn is the transaction's connection, which commit commits.
	conn *connTx
	// copied counts the rows the transaction copied into each table (held
	// writes of copyMin rows or more), for the analyzer.
	copied map[string]int
	// prefetched is the task, subject and caller lockTask read, until a statement
	// that may change them runs (forget) or Task and User return them.
	prefetched *prefetchedTask
}

var _ roster.Tx = (*tx)(nil)

// newTx returns the store's transaction on ptx. In a read-write one
// (write), every statement goes through a lockedTx, which takes the writer
// lock before the first unless Lock took lighter locks.
func newTx(ptx pgx.Tx, write bool) *tx {
	t := &tx{tx: ptx, held: newWriteBehind()}
	if write {
		t.locked = &lockedTx{Tx: ptx}
		t.tx = t.locked
	}
	t.Tx = sqlstore.Tx{Q: querier{t}, D: dialect{}}
	return t
}

// note remembers a serialization failure or deadlock and returns err.
func (t *tx) note(err error) error {
	if t.conflict == nil && err != nil && isRetryable(err) {
		t.conflict = err
	}
	return err
}

// querier runs the shared queries on a transaction, numbering their
// placeholders and noting the conflicts they meet. It implements
// sqlstore.Querier.
type querier struct{ t *tx }

// rebound caches rebind's results. The store's queries come in a bounded
// number of shapes (no value is ever written into a query's text), so it
// stays small.
var rebound sync.Map

// rebind returns query with its "?" placeholders numbered "$1", "$2", ....
// The shared queries hold no other question mark.
func rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	q := b.String()
	rebound.Store(query, q)
	return q
}

// Query implements sqlstore.Querier.
func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	br, err := q.t.pipelined(ctx, rebind(query), args)
	if err != nil {
		return nil, err
	}
	if br != nil {
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return nil, q.t.note(err)
		}
		return notedRows{t: q.t, Rows: &batchRows{Rows: rows, br: br}}, nil
	}
	rows, err := q.t.tx.Query(ctx, rebind(query), args...)
	if err != nil {
		return nil, q.t.note(err)
	}
	return notedRows{t: q.t, Rows: rows}, nil
}

// QueryRow implements sqlstore.Querier.
func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	br, err := q.t.pipelined(ctx, rebind(query), args)
	if err != nil {
		return errRow{err}
	} else if br != nil {
		return notedRow{t: q.t, row: batchRow{br}}
	}
	return notedRow{t: q.t, row: q.t.tx.QueryRow(ctx, rebind(query), args...)}
}

// Exec implements sqlstore.Querier.
func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return q.t.exec(ctx, rebind(query), args...)
}

// ExecUnique implements sqlstore.Querier: the statement runs inside a
// savepoint, rolled back to when it fails, since a failed statement
// otherwise aborts a PostgreSQL transaction.
func (q querier) ExecUnique(ctx context.Context, query string, args ...any) (n int64, err error) {
	t := q.t
	if err := t.flushFor(ctx, query); err != nil {
		return 0, err
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return 0, t.note(fmt.Errorf("savepoint: %w", err))
	}
	tag, err := sp.Exec(ctx, rebind(query), args...)
	if err := t.note(err); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return 0, errors.Join(err, t.note(fmt.Errorf("rollback to savepoint: %w", rerr)))
		}
		return 0, err
	}
	if err := sp.Commit(ctx); err != nil {
		return 0, t.note(fmt.Errorf("release savepoint: %w", err))
	}
	return tag.RowsAffected(), nil
}

// Batch implements sqlstore.Batcher: the reads go in one batch, after the
// held rows they read written first, one round trip in all.
func (q querier) Batch(ctx context.Context, reads []sqlstore.Read) error {
	t := q.t
	mask := 0
	for _, r := range reads {
		mask |= heldNamedIn(r.Query)
	}
	var b pgx.Batch
	f, err := t.queueHeld(ctx, mask, &b)
	if err != nil {
		return err
	}
	for _, r := range reads {
		b.Queue(rebind(r.Query), r.Args...)
	}
	br := t.tx.SendBatch(ctx, &b)
	if err := f.read(t, br); err != nil {
		br.Close()
		return f.done(t, err)
	}
	if err := f.done(t, nil); err != nil {
		br.Close()
		return err
	}
	if err := t.collect(br, reads); err != nil {
		br.Close()
		return err
	}
	return t.note(br.Close())
}

// collect reads the results of reads, sent in a batch, from br.
func (t *tx) collect(br pgx.BatchResults, reads []sqlstore.Read) error {
	for _, r := range reads {
		rows, err := br.Query()
		if err == nil {
			err = r.Collect(notedRows{t: t, Rows: rows})
			rows.Close()
		}
		if err != nil {
			return t.note(err)
		}
	}
	return nil
}

// notedRow is a pgx.Row whose error is noted by its transaction.
type notedRow struct {
	t   *tx
	row pgx.Row
}

// Scan implements sqlstore.Row.
func (r notedRow) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

// notedRows are pgx.Rows whose errors are noted by their transaction.
type notedRows struct {
	t *tx
	pgx.Rows
}

// Scan implements sqlstore.Rows.
func (r notedRows) Scan(dest ...any) error { return r.t.note(r.Rows.Scan(dest...)) }

// Err implements sqlstore.Rows.
func (r notedRows) Err() error { return r.t.note(r.Rows.Err()) }

// Close implements sqlstore.Rows.
func (r notedRows) Close() error {
	r.Rows.Close()
	return nil
}

// exec runs a statement written for PostgreSQL, with numbered placeholders.
func (t *tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	br, err := t.pipelined(ctx, query, args)
	if err != nil {
		return 0, err
	} else if br != nil {
		tag, err := br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return tag.RowsAffected(), t.note(err)
	}
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), t.note(err)
}

// pipelined sends query, with numbered placeholders, in one batch after
// the held rows it needs written first (flushFor), and returns the batch's
// results with the held rows' read: query's are next. It returns nil when
// nothing is held for query, which then runs alone.
func (t *tx) pipelined(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	mask := heldNamedIn(query)
	t.forget(query, mask)
	if !batchable(args) {
		return nil, t.flushMask(ctx, mask)
	}
	var b pgx.Batch
	f, err := t.queueHeld(ctx, mask, &b)
	if err != nil || b.Len() == 0 {
		return nil, err
	}
	b.Queue(query, args...)
	br := t.tx.SendBatch(ctx, &b)
	if err := f.read(t, br); err != nil {
		br.Close()
		return nil, f.done(t, err)
	}
	return br, f.done(t, nil)
}

// batchRow is the row of a query sent last in a batch.
type batchRow struct{ br pgx.BatchResults }

// Scan implements pgx.Row, and closes the batch.
func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of a query sent last in a batch; the batch closes
// with them, or once they are read.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

// Next implements pgx.Rows.
func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.closeBatch()
	return false
}

// Close implements pgx.Rows.
func (r *batchRows) Close() { r.closeBatch() }

// Err implements pgx.Rows.
func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (r *batchRows) closeBatch() {
	if !r.closed {
		r.closed = true
		r.Rows.Close()
		r.err = r.br.Close()
	}
}

// commit writes the rows and statement held and commits, in one round
// trip (connTx.commit). A writer that has run no statement yet takes the
// writer lock first.
func (t *tx) commit(ctx context.Context) error {
	var b pgx.Batch
	f, err := t.queueHeld(ctx, allHeld|heldQueue, &b)
	if err == nil && b.Len() > 0 && t.locked != nil {
		err = t.locked.writer(ctx)
	}
	if err != nil {
		t.conn.Rollback(context.WithoutCancel(ctx))
		return err
	}
	err = t.conn.commit(ctx, &b, func(br pgx.BatchResults) error { return f.read(t, br) })
	if err != nil {
		return t.note(err)
	}
	return f.done(t, nil)
}
