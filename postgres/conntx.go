package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// connTx is a transaction on a connection of the pool whose BEGIN goes in
// one batch with its first statement, and whose COMMIT with its last
// writes (tx.commit): two round trips fewer than pgx's own transactions,
// which send each alone. It implements the part of pgx.Tx the store uses;
// the rest (the nil pgx.Tx) is never called.
type connTx struct {
	pgx.Tx
	conn *pgxpool.Conn
	// begin is the BEGIN statement, sent with the first one; begun says it
	// was.
	begin string
	begun bool
	// released says the connection went back to the pool.
	released bool
	// savepoints counts the savepoints taken, to name them.
	savepoints int
}

// beginTx acquires a connection for a transaction with opts, which begins
// with its first statement.
func (db *DB) beginTx(ctx context.Context, opts pgx.TxOptions) (*connTx, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	begin := "BEGIN"
	if opts.IsoLevel != "" {
		begin += " ISOLATION LEVEL " + string(opts.IsoLevel)
	}
	if opts.AccessMode != "" {
		begin += " " + string(opts.AccessMode)
	}
	return &connTx{conn: conn, begin: begin}, nil
}

// SendBatch implements pgx.Tx: the first statement of the transaction
// sends BEGIN before b's statements, in the same batch, and reads its
// result; the caller reads b's.
func (c *connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if c.begun {
		return c.conn.SendBatch(ctx, b)
	}
	c.begun = true
	var nb pgx.Batch
	nb.Queue(c.begin)
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	br := c.conn.SendBatch(ctx, &nb)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return errBatch{fmt.Errorf("begin: %w", err)}
	}
	return br
}

// beginAlone sends BEGIN by itself, when the first statement cannot go in
// a batch.
func (c *connTx) beginAlone(ctx context.Context) error {
	if c.begun {
		return nil
	}
	c.begun = true
	if _, err := c.conn.Exec(ctx, c.begin); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return nil
}

// batchable reports whether a statement with args may go in a batch: not
// when its first argument is one of pgx's options (a QueryExecMode, say),
// which a batch does not take.
func batchable(args []any) bool {
	if len(args) == 0 {
		return true
	}
	switch args[0].(type) {
	case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID, pgx.QueryRewriter:
		return false
	}
	return true
}

// single sends one statement as a batch, BEGIN before it.
func (c *connTx) single(ctx context.Context, sql string, args []any) pgx.BatchResults {
	var b pgx.Batch
	b.Queue(sql, args...)
	return c.SendBatch(ctx, &b)
}

// Exec implements pgx.Tx.
func (c *connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !batchable(args) {
		if err := c.beginAlone(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
	}
	if c.begun {
		return c.conn.Exec(ctx, sql, args...)
	}
	br := c.single(ctx, sql, args)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query implements pgx.Tx.
func (c *connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !batchable(args) {
		if err := c.beginAlone(ctx); err != nil {
			return nil, err
		}
	}
	if c.begun {
		return c.conn.Query(ctx, sql, args...)
	}
	br := c.single(ctx, sql, args)
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow implements pgx.Tx.
func (c *connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if !batchable(args) {
		if err := c.beginAlone(ctx); err != nil {
			return errRow{err}
		}
	}
	if c.begun {
		return c.conn.QueryRow(ctx, sql, args...)
	}
	return batchRow{c.single(ctx, sql, args)}
}

// CopyFrom implements pgx.Tx.
func (c *connTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := c.beginAlone(ctx); err != nil {
		return 0, err
	}
	return c.conn.CopyFrom(ctx, table, columns, src)
}

// Begin implements pgx.Tx: a savepoint.
func (c *connTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := c.beginAlone(ctx); err != nil {
		return nil, err
	}
	c.savepoints++
	sp := &savepoint{c: c, name: fmt.Sprintf("sp_%d", c.savepoints)}
	if _, err := c.conn.Exec(ctx, "SAVEPOINT "+sp.name); err != nil {
		return nil, err
	}
	return sp, nil
}

// commit sends b's statements and COMMIT in one batch, and returns the
// connection to the pool. b may be empty; a transaction that sent nothing
// commits nothing.
func (c *connTx) commit(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	if !c.begun && b.Len() == 0 {
		c.release()
		return nil
	}
	n := b.Len()
	b.Queue("COMMIT")
	br := c.SendBatch(ctx, b)
	err := read(br)
	if err == nil {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			err = pgx.ErrTxCommitRollback
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	b.QueuedQueries = b.QueuedQueries[:n]
	if err != nil {
		// A statement that failed left the rest of the batch, COMMIT
		// too, unrun: the transaction is still open, aborted.
		c.Rollback(context.WithoutCancel(ctx))
		return err
	}
	c.release()
	return nil
}

// Commit implements pgx.Tx.
func (c *connTx) Commit(ctx context.Context) error {
	var b pgx.Batch
	return c.commit(ctx, &b, func(pgx.BatchResults) error { return nil })
}

// Rollback implements pgx.Tx, and returns the connection to the pool. A
// second call does nothing.
func (c *connTx) Rollback(ctx context.Context) error {
	if c.released {
		return nil
	}
	var err error
	if c.begun {
		_, err = c.conn.Exec(ctx, "ROLLBACK")
	}
	c.release()
	return err
}

// release returns the connection to the pool, which closes it when it is
// not idle outside a transaction.
func (c *connTx) release() {
	if !c.released {
		c.released = true
		c.conn.Release()
	}
}

// savepoint is a savepoint of a connTx, as pgx.Tx: its statements run on
// the transaction; Commit releases it, Rollback rolls back to it.
type savepoint struct {
	pgx.Tx
	c    *connTx
	name string
}

// Exec implements pgx.Tx.
func (s *savepoint) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.c.conn.Exec(ctx, sql, args...)
}

// Commit implements pgx.Tx.
func (s *savepoint) Commit(ctx context.Context) error {
	_, err := s.c.conn.Exec(ctx, "RELEASE SAVEPOINT "+s.name)
	return err
}

// Rollback implements pgx.Tx.
func (s *savepoint) Rollback(ctx context.Context) error {
	_, err := s.c.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+s.name)
	return err
}

// errBatch is a pgx.BatchResults whose every result is err.
type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return errRow(e) }
func (e errBatch) Close() error                     { return e.err }
func (e errBatch) Tx() pgx.Tx                       { return nil }
