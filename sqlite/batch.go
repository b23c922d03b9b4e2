package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// maxBatchParams bounds the parameters of one multi-row INSERT, well under
// SQLite's limit of 32,766.
const maxBatchParams = 4096

// insert is a multi-row INSERT of one shape: its statement for n rows is
// built once per n, and n is always a power of two, so that the statement
// cache meets a handful of shapes per table.
type insert struct {
	head, tail string // "INSERT INTO t (cols) VALUES ", " ON CONFLICT ..."
	cols       int
	maxRows    int

	once    []sync.Once
	queries []string
}

func newInsert(head, tail string, cols int) *insert {
	rows := 1
	for rows*2*cols <= maxBatchParams {
		rows *= 2
	}
	return &insert{head: head, tail: tail, cols: cols, maxRows: rows,
		once: make([]sync.Once, rows+1), queries: make([]string, rows+1)}
}

// query returns the statement for n rows.
func (in *insert) query(n int) string {
	in.once[n].Do(func() {
		var b strings.Builder
		row := "(" + strings.Repeat("?,", in.cols-1) + "?)"
		b.WriteString(in.head)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		b.WriteString(in.tail)
		in.queries[n] = b.String()
	})
	return in.queries[n]
}

// exec writes rows (cols arguments each, flattened) in chunks whose sizes are
// powers of two, calling done with each chunk's row count and the rowid of
// its last row.
func (in *insert) exec(ctx context.Context, t cachedTx, args []any, done func(rows int, last int64) error) error {
	for len(args) > 0 {
		n := in.maxRows
		for n*in.cols > len(args) {
			n /= 2
		}
		res, err := t.execDirect(ctx, in.query(n), args[:n*in.cols]...)
		if err != nil {
			return err
		}
		if done != nil {
			last, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if err := done(n, last); err != nil {
				return err
			}
		}
		args = args[n*in.cols:]
	}
	return nil
}

// pending holds a transaction's rows of one insert that are not written yet.
type pending struct {
	in   *insert
	what string
	args []any
}

// writeBehind holds rows a transaction inserted that nothing has read yet:
// tasks created closed, grants and memberships. They are written together as
// multi-row statements before the transaction's next other statement, when a
// table holds a full chunk, and before commit, so every read sees them.
// Rows that could break a unique constraint are never held, so an insert's
// error is still the caller's; an error writing held rows (the disk, say)
// sticks, failing every later statement and the commit.
type writeBehind struct {
	tables []*pending
	err    error
	// nextTaskID is the id the next held task takes; 0 when it must be read.
	nextTaskID int64
}

func newWriteBehind() *writeBehind {
	return &writeBehind{tables: []*pending{
		{in: taskInsert, what: "tasks"},
		{in: grantInsert, what: "grants"},
		{in: memberInsert, what: "members"},
	}}
}

// held reports whether any row waits.
func (w *writeBehind) held() bool {
	for _, p := range w.tables {
		if len(p.args) > 0 {
			return true
		}
	}
	return false
}

// add holds a row for p's table, writing the table's rows once they fill a
// chunk.
func (w *writeBehind) add(ctx context.Context, t cachedTx, p *pending, row ...any) error {
	if w.err != nil {
		return w.err
	}
	p.args = append(p.args, row...)
	if len(p.args) >= p.in.maxRows*p.in.cols {
		return w.write(ctx, t, p)
	}
	return nil
}

// flush writes every held row.
func (w *writeBehind) flush(ctx context.Context, t cachedTx) error {
	if w.err != nil {
		return w.err
	}
	for _, p := range w.tables {
		if err := w.write(ctx, t, p); err != nil {
			return err
		}
	}
	return nil
}

func (w *writeBehind) write(ctx context.Context, t cachedTx, p *pending) error {
	if len(p.args) == 0 {
		return nil
	}
	if err := p.in.exec(ctx, t, p.args, nil); err != nil {
		w.err = fmt.Errorf("write %d %s held for the transaction: %w", len(p.args)/p.in.cols, p.what, err)
		return w.err
	}
	clear(p.args)
	p.args = p.args[:0]
	return nil
}
