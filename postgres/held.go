package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// heldMax is the number of rows a table holds before they are written.
const heldMax = 8192

// copyMin is the least number of held rows written with COPY; fewer go one
// statement each, as they would have without holding (a COPY through a
// temporary table costs three round trips).
const copyMin = 64

// maxIDBlock is the most task ids a transaction takes from the sequence at
// once for the tasks it holds.
const maxIDBlock = 4096

// copies counts the COPY statements writeBehind ran, for tests.
var copies atomic.Int64

// heldTable is a table whose inserted rows a transaction holds.
type heldTable struct {
	name string
	cols []string
	// keys counts the leading columns that are the table's key: held rows
	// replace the row with the same key (an upsert). 0: plain inserts.
	keys int
	// upsert is the one-row statement, temp the temporary table COPY
	// writes into and merge the statement that moves its rows over.
	upsert, temp, merge string
	// head and tail are the statement of any number of rows without
	// them: the INSERT and its ON CONFLICT clause.
	head, tail string
	// inserts caches the statements of n rows, by n (insertOf).
	inserts sync.Map
}

// insertOf returns the statement that inserts or replaces n rows, their
// values one after the other: fewer than copyMin rows go in one statement,
// which runs the table's statement trigger once, not once a row.
func (h *heldTable) insertOf(n int) string {
	if q, ok := h.inserts.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(h.head)
	k := len(h.cols)
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range k {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", r*k+c+1)
		}
		b.WriteByte(')')
	}
	b.WriteString(h.tail)
	q := b.String()
	h.inserts.Store(n, q)
	return q
}

func newHeldTable(name string, cols string, keys int) *heldTable {
	h := &heldTable{name: name, cols: strings.Split(cols, ", "), keys: keys}
	n := len(h.cols)
	params := make([]string, n)
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	h.head = `INSERT INTO ` + name + ` (` + cols + `) OVERRIDING SYSTEM VALUE VALUES `
	h.upsert = h.head + `(` + strings.Join(params, ", ") + `)`
	if keys > 0 {
		set := make([]string, 0, n-keys)
		for _, c := range h.cols[keys:] {
			set = append(set, c+" = excluded."+c)
		}
		conflict := ` ON CONFLICT (` + strings.Join(h.cols[:keys], ", ") + `) DO UPDATE SET ` + strings.Join(set, ", ")
		h.head, h.tail = `INSERT INTO `+name+` (`+cols+`) VALUES `, conflict
		h.upsert = h.head + `(` + strings.Join(params, ", ") + `)` + conflict
		h.temp = "roster_held_" + name
		h.merge = `INSERT INTO ` + name + ` (` + cols + `) SELECT ` + cols + ` FROM ` + h.temp + conflict
	}
	return h
}

var (
	heldTasks   = newHeldTable("tasks", "id, "+strings.ReplaceAll(taskColumnList(), "\n\t", " "), 0)
	heldGrants  = newHeldTable("grants", sqlstore.GrantColumns, 2)
	heldMembers = newHeldTable("members", sqlstore.MemberColumns, 2)
	heldUsers   = newHeldTable("users", sqlstore.UserColumns, 1)
)

// taskColumnList returns the columns of sqlstore.TaskInsert.
func taskColumnList() string {
	s := sqlstore.TaskInsert
	return s[strings.Index(s, "(")+1 : strings.LastIndex(s, ")")]
}

// pendingRows are a transaction's held rows of one table.
type pendingRows struct {
	table *heldTable
	rows  [][]any
}

// writeBehind holds the rows a transaction inserts in bulk — tasks created
// closed, grants, memberships and users, as the sqlite package does — and
// writes them before the transaction's next other statement, when a table
// holds heldMax rows, and before commit, so every read sees them. Many rows
// go with COPY: tasks straight into their table (a closed task cannot
// conflict with another: its id comes from the sequence), the others into a
// temporary table first, merged into theirs by one INSERT ... ON CONFLICT DO
// UPDATE, since COPY cannot replace a row. A sync that creates two million
// tasks done, or a first apply of two million grants, then writes thousands
// of rows per round trip instead of one. An error writing held rows sticks:
// every later statement of the transaction and its commit fail with it.
type writeBehind struct {
	tables [4]pendingRows
	err    error
	// ids are task ids taken from the sequence and not yet given; block is
	// how many the next take asks for.
	ids   []int64
	block int
	// temps are the temporary tables this transaction made sure exist.
	temps map[string]bool
	// stmts are the statements held (holdStatement), in order; seq
	// numbers the next.
	stmts []heldStmt
	seq   int
}

// heldStmt is a statement held until the next flush of a table it names,
// and what it writes.
type heldStmt struct {
	what, sql string
	args      []any
	// mask names the tables the statement reads or writes.
	mask int
	// check, when set, says whether the statement did what it should.
	check func(pgconn.CommandTag) error
	// seq numbers the statement among the transaction's.
	seq int
}

// maxHeldStmts bounds the statements a transaction holds: past it they are
// written.
const maxHeldStmts = 256

func newWriteBehind() *writeBehind {
	return &writeBehind{tables: [4]pendingRows{{table: heldTasks}, {table: heldGrants}, {table: heldMembers}, {table: heldUsers}}, block: 1}
}

// held reports whether any row waits.
func (w *writeBehind) held() bool {
	for _, p := range w.tables {
		if len(p.rows) > 0 {
			return true
		}
	}
	return false
}

// hold holds a row of table i, writing the table's rows once it holds
// heldMax.
func (t *tx) hold(ctx context.Context, i int, row []any) error {
	w := t.held
	if w.err != nil {
		return w.err
	}
	t.forget("", 1<<i)
	p := &w.tables[i]
	p.rows = append(p.rows, row)
	if len(p.rows) >= heldMax {
		return t.writeHeld(ctx, p)
	}
	return nil
}

// allHeld names every held table, as a mask of bits 1<<i.
const allHeld = 1<<len(writeBehind{}.tables) - 1

// heldQueue is the bit of the mask that names event_queue, which the held
// statement (QueueEvents) writes.
const heldQueue = allHeld + 1

// flushFor writes the held rows of the tables that query names: a statement
// that reads or writes none of them (an audit event's insert, say) sees the
// same rows whether they are written or not. No view, function or trigger
// of the schema reads a held table that a statement does not name.
func (t *tx) flushFor(ctx context.Context, query string) error {
	mask := heldNamedIn(query)
	t.forget(query, mask)
	return t.flushMask(ctx, mask)
}

// flushMask writes the held rows of the tables in mask, and the held
// statements that name any of them: the rows of each table that holds fewer
// than copyMin in one statement, and the statements, in one batch, one
// round trip (a decision's commit writes its task, its grants, its
// membership, its task's update and its events so).
func (t *tx) flushMask(ctx context.Context, mask int) error {
	var b pgx.Batch
	f, err := t.queueHeld(ctx, mask, &b)
	if err != nil || b.Len() == 0 {
		return err
	}
	if b.Len() == 1 && len(f.stmts) == 0 {
		q := b.QueuedQueries[0]
		_, err := t.tx.Exec(ctx, q.SQL, q.Arguments...)
		return f.done(t, err)
	}
	br := t.tx.SendBatch(ctx, &b)
	err = f.read(t, br)
	return f.done(t, errors.Join(err, br.Close()))
}

// heldFlush is what queueHeld put in a batch.
type heldFlush struct {
	n       int // statements of rows, before stmts
	batched []*pendingRows
	stmts   []heldStmt
}

// queueHeld queues in b the held rows of the tables in mask, then the held
// statements that name any of them, in the order they were held; a table's
// rows go first by COPY when they are copyMin or more. The caller sends b,
// reads the results (read) and then calls done.
func (t *tx) queueHeld(ctx context.Context, mask int, b *pgx.Batch) (heldFlush, error) {
	var f heldFlush
	w := t.held
	if w.err != nil || !w.held() && len(w.stmts) == 0 {
		return f, w.err
	}
	for i := range w.tables {
		p := &w.tables[i]
		if mask&(1<<i) == 0 || len(p.rows) == 0 {
			continue
		}
		if len(p.rows) >= copyMin {
			if err := t.writeHeld(ctx, p); err != nil {
				return f, err
			}
			continue
		}
		rows := p.rows
		if p.table.keys > 0 {
			rows = lastOfEachKey(rows, p.table.keys)
		}
		var args []any
		for _, r := range rows {
			args = append(args, r...)
		}
		b.Queue(p.table.insertOf(len(rows)), args...)
		f.batched = append(f.batched, p)
	}
	f.n = b.Len()
	for _, st := range w.stmts {
		if st.mask&mask != 0 {
			f.stmts = append(f.stmts, st)
			b.Queue(st.sql, st.args...)
		}
	}
	return f, nil
}

// read reads the results of f's statements from br.
func (f heldFlush) read(t *tx, br pgx.BatchResults) error {
	for range f.n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	for _, st := range f.stmts {
		tag, err := br.Exec()
		if err == nil && st.check != nil {
			err = st.check(tag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// done forgets the rows and statement f wrote, or, when err says they
// failed, makes the error stick.
func (f heldFlush) done(t *tx, err error) error {
	w := t.held
	if err != nil {
		what := "rows held"
		for _, st := range f.stmts {
			what += " and " + st.what
		}
		w.err = t.note(fmt.Errorf("write the %s for the transaction: %w", what, err))
		return w.err
	}
	for _, p := range f.batched {
		clear(p.rows)
		p.rows = p.rows[:0]
	}
	if len(f.stmts) > 0 {
		flushed := make(map[int]bool, len(f.stmts))
		for _, st := range f.stmts {
			flushed[st.seq] = true
		}
		w.stmts = slices.DeleteFunc(w.stmts, func(st heldStmt) bool { return flushed[st.seq] })
	}
	return nil
}

// holdStatement holds a statement until the transaction's next flush of a
// table it names (mask: before commit, before a statement that reads or
// writes one of them), to go in the same round trip as the rows held; check,
// when set, then says whether it did what it should. The statements a
// flush writes go after its rows, in the order they were held: a statement
// held after rows it writes, such as the update of a task created closed and
// held, finds them. Past maxHeldStmts, the statements held are written.
func (t *tx) holdStatement(ctx context.Context, mask int, check func(pgconn.CommandTag) error, what, sql string, args ...any) error {
	w := t.held
	if w.err != nil {
		return w.err
	}
	if len(w.stmts) >= maxHeldStmts {
		all := 0
		for _, st := range w.stmts {
			all |= st.mask
		}
		if err := t.flushMask(ctx, all); err != nil {
			return err
		}
	}
	w.seq++
	w.stmts = append(w.stmts, heldStmt{what: what, sql: sql, args: args, mask: mask, check: check, seq: w.seq})
	return nil
}

// namedIn caches heldNamedIn's results: the store's queries come in a
// bounded number of shapes.
var namedIn sync.Map

// heldNamedIn returns the mask of the held tables whose names appear in
// query as words (all of them for the access log).
func heldNamedIn(query string) int {
	if m, ok := namedIn.Load(query); ok {
		return m.(int)
	}
	mask := 0
	// The access log is written by the triggers of every held table.
	log := containsWord(query, "access_log")
	for i, p := range newWriteBehind().tables {
		if log || containsWord(query, p.table.name) {
			mask |= 1 << i
		}
	}
	if containsWord(query, "event_queue") {
		mask |= heldQueue
	}
	namedIn.Store(query, mask)
	return mask
}

// containsWord reports whether word appears in s with no letter, digit or
// underscore on either side.
func containsWord(s, word string) bool {
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWord(s[start-1])) && (end == len(s) || !isWord(s[end])) {
			return true
		}
		i = start + 1
	}
}

// writeHeld writes p's rows.
func (t *tx) writeHeld(ctx context.Context, p *pendingRows) error {
	if len(p.rows) == 0 {
		return nil
	}
	w := t.held
	if err := t.write(ctx, p.table, p.rows); err != nil {
		w.err = t.note(fmt.Errorf("write %d %s held for the transaction: %w", len(p.rows), p.table.name, err))
		return w.err
	}
	clear(p.rows)
	p.rows = p.rows[:0]
	return nil
}

func (t *tx) write(ctx context.Context, h *heldTable, rows [][]any) error {
	if h.keys > 0 {
		rows = lastOfEachKey(rows, h.keys)
	}
	if len(rows) < copyMin {
		for _, r := range rows {
			if _, err := t.tx.Exec(ctx, h.upsert, r...); err != nil {
				return err
			}
		}
		return nil
	}
	copies.Add(1)
	if t.copied == nil {
		t.copied = map[string]int{}
	}
	t.copied[h.name] += len(rows)
	if h.keys == 0 {
		_, err := t.tx.CopyFrom(ctx, pgx.Identifier{h.name}, h.cols, pgx.CopyFromRows(rows))
		return err
	}
	if !t.held.temps[h.temp] {
		// A temporary table lives as long as its connection, its rows as
		// long as the transaction that wrote them.
		if _, err := t.tx.Exec(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS `+h.temp+
			` ON COMMIT DELETE ROWS AS SELECT `+strings.Join(h.cols, ", ")+` FROM `+h.name+` WITH NO DATA`); err != nil {
			return err
		}
		if t.held.temps == nil {
			t.held.temps = map[string]bool{}
		}
		t.held.temps[h.temp] = true
	} else if _, err := t.tx.Exec(ctx, `TRUNCATE `+h.temp); err != nil {
		return err
	}
	if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{h.temp}, h.cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, h.merge)
	return err
}

// lastOfEachKey returns rows keeping only the last row of each key (its
// first keys values, all strings), in their order: one INSERT ... ON
// CONFLICT DO UPDATE cannot write a row twice.
func lastOfEachKey(rows [][]any, keys int) [][]any {
	seen := make(map[string]bool, len(rows))
	dup := false
	keyOf := func(r []any) string {
		var b strings.Builder
		for _, v := range r[:keys] {
			s, _ := v.(string)
			fmt.Fprintf(&b, "%d:%s", len(s), s)
		}
		return b.String()
	}
	for _, r := range rows {
		k := keyOf(r)
		if seen[k] {
			dup = true
			break
		}
		seen[k] = true
	}
	if !dup {
		return rows
	}
	clear(seen)
	kept := make([][]any, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- {
		if k := keyOf(rows[i]); !seen[k] {
			seen[k] = true
			kept = append(kept, rows[i])
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return kept
}

// taskID returns the id of the next held task: the sequence's, taken in
// blocks that double (up to maxIDBlock) as the transaction holds more.
func (t *tx) taskID(ctx context.Context) (int64, error) {
	w := t.held
	if len(w.ids) == 0 {
		rows, err := t.tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('tasks', 'id')) FROM generate_series(1, $1)`, w.block)
		if err != nil {
			return 0, t.note(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, t.note(err)
		}
		w.ids = ids
		w.block = min(2*w.block, maxIDBlock)
	}
	id := w.ids[0]
	w.ids = w.ids[1:]
	return id, nil
}

// PutGrant inserts or replaces a grant, written behind (see writeBehind).
// Its sources are stored sorted and without duplicates.
func (t *tx) PutGrant(ctx context.Context, g *roster.Grant) error {
	args, err := sqlstore.GrantArgs(dialect{}, g)
	if err == nil {
		err = t.hold(ctx, 1, args)
	}
	if err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, err)
	}
	return nil
}

// PutMember inserts or replaces a membership, written behind.
func (t *tx) PutMember(ctx context.Context, m *roster.Member) error {
	var e encoder
	since := e.time(m.Since)
	err := e.err
	if err == nil {
		err = t.hold(ctx, 2, []any{m.Profile, m.User, m.Source, since})
	}
	if err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, err)
	}
	return nil
}

// PutUser inserts or replaces a user, written behind: a file or a connector
// puts users by the thousand.
func (t *tx) PutUser(ctx context.Context, u *roster.User) error {
	args, err := sqlstore.UserArgs(dialect{}, u)
	if err == nil {
		err = t.hold(ctx, 3, args)
	}
	if err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}
