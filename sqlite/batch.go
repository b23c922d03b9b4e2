package sqlite

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// maxBatchParams bounds the parameters of one multi-row INSERT, well under
// SQLite's limit of 32,766.
const maxBatchParams = 4096

// insert is a multi-row statement of one shape, whose rows are a VALUES
// list: its text for n rows is built once per n, and n is always a power of
// two, so that the statement cache meets a handful of shapes per table.
//
// Every statement is "OR FAIL": with SQLite's default (ABORT) a statement
// that writes several rows keeps a statement journal — a copy of each page it
// changes, to undo it alone — which cost a sixth of a large sync's time.
// Nothing here continues a transaction after one of these fails (the
// write-behind error sticks and fails the commit; the others return it), so
// the rows a failed statement wrote are always rolled back with the
// transaction.
type insert struct {
	// text returns the statement around its VALUES list.
	text    func(values string) string
	cols    int
	maxRows int
	// keys, for an upsert, counts the leading columns that are the table's
	// key; update and insertMissing write a chunk that breaks it (see
	// newUpsert).
	keys                  int
	update, insertMissing *insert
	// existing, when set, tells an upsert's row that likely replaces one
	// already written from one that likely does not (see execUpsert).
	existing func(row []any) bool

	once    []sync.Once
	queries []string
}

// newInsert returns the insert whose statement is head followed by the rows.
func newInsert(head string, cols int) *insert {
	return newStatement(func(values string) string { return head + values }, cols)
}

func newStatement(text func(values string) string, cols int) *insert {
	rows := 1
	for rows*2*cols <= maxBatchParams {
		rows *= 2
	}
	return &insert{text: text, cols: cols, maxRows: rows,
		once: make([]sync.Once, rows+1), queries: make([]string, rows+1)}
}

// newUpsert returns an insert into table of rows that are mostly new but may
// replace a row with the same key, its first keys columns. Each chunk is
// first written as a plain INSERT OR FAIL. SQLite's upsert (ON CONFLICT DO
// UPDATE) cannot be one: its update always aborts on error, so it would keep
// a statement journal. When a chunk breaks the key, the rows before the
// offending one stay written, and the chunk's rows — the last of each key
// only — are written again by an UPDATE OR FAIL of those that exist followed
// by an INSERT OR FAIL of those that do not; rows written twice end as
// written once, and a key put twice in one chunk ends as put last.
func newUpsert(table string, columns []string, keys int) *insert {
	list := strings.Join(columns, ", ")
	var set, match []string
	for i, c := range columns {
		if i < keys {
			match = append(match, fmt.Sprintf("%s.%s = v.column%d", table, c, i+1))
		} else {
			set = append(set, fmt.Sprintf("%s = v.column%d", c, i+1))
		}
	}
	where := strings.Join(match, " AND ")
	in := newInsert("INSERT OR FAIL INTO "+table+" ("+list+") VALUES ", len(columns))
	in.keys = keys
	in.update = newStatement(func(values string) string {
		return "UPDATE OR FAIL " + table + " SET " + strings.Join(set, ", ") +
			" FROM (VALUES " + values + ") AS v WHERE " + where
	}, len(columns))
	in.insertMissing = newStatement(func(values string) string {
		return "INSERT OR FAIL INTO " + table + " (" + list + ") SELECT * FROM (VALUES " + values + ") AS v" +
			" WHERE NOT EXISTS (SELECT 1 FROM " + table + " WHERE " + where + ")"
	}, len(columns))
	return in
}

// query returns the statement for n rows.
func (in *insert) query(n int) string {
	in.once[n].Do(func() {
		var b strings.Builder
		row := "(" + strings.Repeat("?,", in.cols-1) + "?)"
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		in.queries[n] = in.text(b.String())
	})
	return in.queries[n]
}

// lastOfEachKey returns rows (cols arguments each) keeping only the last row
// of each key.
func (in *insert) lastOfEachKey(rows []any) []any {
	seen := make(map[string]bool, len(rows)/in.cols)
	kept := make([]any, 0, len(rows))
	var b []byte
	for end := len(rows); end > 0; end -= in.cols {
		row := rows[end-in.cols : end]
		b = b[:0]
		for _, k := range row[:in.keys] {
			// Length-prefixed, so ("ab", "c") is not ("a", "bc").
			if s, ok := k.(string); ok {
				b = strconv.AppendInt(b, int64(len(s)), 10)
				b = append(append(b, ':'), s...)
			} else {
				b = fmt.Appendf(b, "%q", k)
			}
		}
		if key := string(b); !seen[key] {
			seen[key] = true
			kept = append(kept, row...)
		}
	}
	return kept
}

// execUpsert writes an upsert's rows where some likely replace rows already
// written and some likely do not, mixed (a sync that gives some users a
// grant and justifies others' grants): written as they come, almost every
// chunk broke the key and was written three times over (INSERT, UPDATE,
// INSERT of the missing), a tenth of enabling 300 profiles at once. Here the
// rows, the last of each key only, are split by in.existing: the likely new
// are inserted (a key they break is still handled as in exec), the likely
// existing are updated, and those of an update's chunk that it did not find
// are then inserted. Each key is written once, so the order of the two
// parts does not matter.
func (in *insert) execUpsert(ctx context.Context, t cachedTx, args []any) error {
	rows := in.lastOfEachKey(args)
	fresh := make([]any, 0, len(rows))
	var old []any
	for i := 0; i < len(rows); i += in.cols {
		if row := rows[i : i+in.cols]; in.existing(row) {
			old = append(old, row...)
		} else {
			fresh = append(fresh, row...)
		}
	}
	if err := in.execRows(ctx, t, fresh, nil); err != nil {
		return err
	}
	for len(old) > 0 {
		n := in.update.maxRows
		for n*in.cols > len(old) {
			n /= 2
		}
		chunk := old[:n*in.cols]
		res, err := t.execDirect(ctx, in.update.query(n), chunk...)
		if err != nil {
			return err
		}
		if found, err := res.RowsAffected(); err != nil {
			return err
		} else if found < int64(n) {
			if err := in.insertMissing.exec(ctx, t, chunk, nil); err != nil {
				return err
			}
		}
		old = old[n*in.cols:]
	}
	return nil
}

// exec writes rows (cols arguments each, flattened) in chunks whose sizes are
// powers of two, calling done with each chunk's row count and the rowid of
// its last row (not for a chunk an upsert writes again, which has none).
func (in *insert) exec(ctx context.Context, t cachedTx, args []any, done func(rows int, last int64) error) error {
	if in.existing != nil {
		return in.execUpsert(ctx, t, args)
	}
	return in.execRows(ctx, t, args, done)
}

// execRows is exec, without splitting an upsert's rows.
func (in *insert) execRows(ctx context.Context, t cachedTx, args []any, done func(rows int, last int64) error) error {
	for len(args) > 0 {
		n := in.maxRows
		for n*in.cols > len(args) {
			n /= 2
		}
		res, err := t.execDirect(ctx, in.query(n), args[:n*in.cols]...)
		if in.keys > 0 && isKeyViolation(err) {
			rows := in.lastOfEachKey(args[:n*in.cols])
			if err := in.update.exec(ctx, t, rows, nil); err != nil {
				return err
			}
			if err := in.insertMissing.exec(ctx, t, rows, nil); err != nil {
				return err
			}
			args = args[n*in.cols:]
			continue
		}
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
// tasks created closed, grants, memberships and users. They are written together as
// multi-row statements before the transaction's next other statement, when a
// table holds a full chunk, and before commit, so every read sees them.
// Rows that could break a unique constraint are never held, so an insert's
// error is still the caller's; an error writing held rows (the disk, say)
// sticks, failing every later statement and the commit.
//
// A full chunk is written by the transaction's writer goroutine (see
// behind), so that SQLite writes one chunk while the caller makes the next:
// a sync that creates two million tasks spends most of its time in both.
// Every other statement waits for it first, so the connection is only ever
// used by one goroutine at a time.
type writeBehind struct {
	tables []*pending
	err    error
	// nextTaskID is the id the next held task takes; 0 when it must be read.
	nextTaskID int64
	// firstTaskID is the id the first task still held was given.
	firstTaskID int64
	// eventsFollow is 1 when the audit chain's next ids follow the last
	// event's, so events are appended without their ids; -1 when they do
	// not; 0 until the transaction's first append.
	eventsFollow int8
	bg           behind
}

func newWriteBehind() *writeBehind {
	return &writeBehind{tables: []*pending{
		{in: taskInsert, what: "tasks"},
		{in: grantInsert, what: "grants"},
		{in: memberInsert, what: "members"},
		{in: userInsert, what: "users"},
	}}
}

// held reports whether any row waits, held or being written.
func (w *writeBehind) held() bool {
	if w.bg.busy {
		return true
	}
	for _, p := range w.tables {
		if len(p.args) > 0 {
			return true
		}
	}
	return false
}

// add holds a row for p's table; once the table holds a full chunk, the
// writer goroutine writes it.
func (w *writeBehind) add(ctx context.Context, t cachedTx, p *pending, row ...any) error {
	if w.err != nil {
		return w.err
	}
	p.args = append(p.args, row...)
	if len(p.args) >= p.in.maxRows*p.in.cols {
		job := w.writer(p)
		w.bg.submit(func() error { return job(ctx, t) })
		p.args = make([]any, 0, cap(p.args))
	}
	return nil
}

// flush writes every held row, once the writer goroutine is done.
func (w *writeBehind) flush(ctx context.Context, t cachedTx) error {
	if err := w.wait(); err != nil {
		return err
	}
	for _, p := range w.tables {
		if len(p.args) == 0 {
			continue
		}
		if err := w.writer(p)(ctx, t); err != nil {
			w.err = err
			return err
		}
		clear(p.args)
		p.args = p.args[:0]
	}
	return nil
}

// wait waits for the writer goroutine to write what it was given, and
// returns the error that sticks, if any.
func (w *writeBehind) wait() error {
	if err := w.bg.wait(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// writer returns what writes p's rows held now.
func (w *writeBehind) writer(p *pending) func(ctx context.Context, t cachedTx) error {
	args := p.args
	var done func(rows int, last int64) error
	if p.in == taskInsert {
		// Held tasks are written without their ids, which would cost the
		// INSERT a statement journal (as an explicit rowid does): written in
		// order by the only writer, they take the ids they were given, which
		// is checked.
		first := w.firstTaskID
		w.firstTaskID += int64(len(args) / p.in.cols)
		done = func(rows int, last int64) error {
			if want := first + int64(rows) - 1; last != want {
				return fmt.Errorf("held tasks %d–%d took ids up to %d", first, want, last)
			}
			first += int64(rows)
			return nil
		}
	}
	return func(ctx context.Context, t cachedTx) error {
		if err := p.in.exec(ctx, t, args, done); err != nil {
			return fmt.Errorf("write %d %s held for the transaction: %w", len(args)/p.in.cols, p.what, err)
		}
		return nil
	}
}

// behind is a transaction's writer goroutine: it runs the statements it is
// given one after another, in order, until one fails; that error sticks.
// Only the transaction's goroutine calls its methods. Up to behindJobs jobs
// wait while another runs, so the rows in flight are bounded.
type behind struct {
	jobs chan func() error
	wg   sync.WaitGroup
	// busy says jobs were given since the last wait.
	busy bool
	// err is the first job's error; the goroutine sets it before the job's
	// wg.Done, and wait reads it after wg.Wait.
	err error
}

// behindJobs is how many jobs may wait for the writer goroutine: a sync
// gives them in bursts (a chunk of events, then the chain's head, then the
// tasks and grants that filled meanwhile), and with room for one the caller
// waited for a fifth of its time. Each is a chunk of rows: a few hundred
// KiB at most.
const behindJobs = 64

// started reports whether the goroutine runs.
func (b *behind) started() bool { return b.jobs != nil }

// submit gives job to the writer goroutine, starting it the first time.
func (b *behind) submit(job func() error) {
	if b.jobs == nil {
		b.jobs = make(chan func() error, behindJobs)
		go func(jobs <-chan func() error) {
			for job := range jobs {
				if b.err == nil {
					b.err = runJob(job)
				}
				b.wg.Done()
			}
		}(b.jobs)
	}
	b.busy = true
	b.wg.Add(1)
	b.jobs <- job
}

// runJob runs job, and turns a panic into its error: in the transaction's
// own goroutine the panic would have rolled the transaction back and reached
// the HTTP server's recovery; in the writer goroutine it would end the
// process.
func runJob(job func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("writer goroutine: panic: %v\n%s", r, debug.Stack())
		}
	}()
	return job()
}

// wait waits until every job given is done and returns the first error.
func (b *behind) wait() error {
	if b.busy {
		b.wg.Wait()
		b.busy = false
	}
	return b.err
}

// stop waits for the jobs given and ends the goroutine.
func (b *behind) stop() error {
	err := b.wait()
	if b.jobs != nil {
		close(b.jobs)
		b.jobs = nil
	}
	return err
}
