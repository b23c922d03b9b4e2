// Package sqlstore holds what the sqlite and postgres stores share: the SQL
// of every query that reads or writes the same way on both, the scanners that
// turn rows into the model's types, the builders of a statement's arguments,
// keyset paging and WHERE clauses. Tx implements those roster.Tx methods over
// a Querier (one transaction of the store) and a Dialect (what SQLite and
// PostgreSQL spell differently); each store embeds it in its own transaction
// type and writes only what really differs, such as SQLite's rows written
// behind or PostgreSQL's set-based inserts.
//
// Queries are written with "?" placeholders. A store whose database numbers
// them ("$1") rewrites them in its Querier.
package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/paging"
)

// Row is one row of a query: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the result of a query that returns rows.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close() error
}

// Querier runs the statements of one transaction.
type Querier interface {
	// Query runs a query that returns rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query that returns at most one row; its error, and
	// sql.ErrNoRows or pgx.ErrNoRows when there is no row, come from Scan.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// ExecUnique is Exec for a statement that may break a unique index: when
	// it does, the transaction stays usable.
	ExecUnique(ctx context.Context, query string, args ...any) (int64, error)
}

// Dialect is what the two databases spell or encode differently.
type Dialect interface {
	// In returns the condition that col is one of the ids bound, as IDs
	// encodes them, to its one placeholder.
	In(col string) string
	// EachID returns a FROM item ranging over n ids bound, as IDs encodes
	// them, to its one placeholder, as rows of one column named id; or ""
	// when n ids are better inserted with a statement each.
	EachID(n int) string
	// Positions returns a FROM item named j ranging over the ids bound, as
	// IDs encodes them, to its one placeholder: each id is j.value, and
	// j.key its position (from 0).
	Positions() string
	// IDs encodes a list of ids for In, EachID and Positions.
	IDs(ids []string) (any, error)
	// Time encodes a time for a time column; the zero time is stored too.
	Time(t time.Time) (any, error)
	// JSON encodes v for a JSON column.
	JSON(v any) (any, error)
	// ArrayHas returns the condition that the JSON array of strings in col
	// holds the string bound to its one placeholder.
	ArrayHas(col string) string
	// ArrayElements returns a FROM item named j ranging over the strings of
	// the JSON array in col, each j.value.
	ArrayElements(col string) string
	// InSelect returns the condition that col is one of the values the
	// query sub selects, spelled so that col's index is read for each.
	InSelect(col, sub string) string
	// NoRows reports whether err says that a query returned no row.
	NoRows(err error) bool
	// UniqueViolation reports whether err is the violation of a unique index.
	UniqueViolation(err error) bool
	// AccessLog returns the queries of the store's access log.
	AccessLog() AccessLogQueries
	// DecodeCursor decodes a page's cursor into key, as paging.Decode does;
	// a cursor the database could not hold is EINVALID too.
	DecodeCursor(cursor string, key any) error
}

// Tx implements, on one transaction, the roster.Tx methods both stores
// write alike: all but CreateTask, AppendEvent, AppendEvents, BulkGrants and
// ScanSync, which a store writes itself. A store's transaction embeds it and
// may override more: SQLite writes users, grants and memberships behind
// instead of with PutUser's, PutGrant's and PutMember's upserts, and names
// an index in OpenTasksAmong and OpenTaskRefsOf (see OpenTasksAmongFrom and
// OpenTaskRefsOfFrom).
type Tx struct {
	// Q runs the statements.
	Q Querier
	// D spells them for the store's database.
	D Dialect

	// head is the audit chain's head once the transaction has read it.
	head *ChainHead
}

// encoder encodes a statement's arguments with a Dialect, remembering the
// first error, so that they can be built in one expression and checked once.
type encoder struct {
	d   Dialect
	err error // the first error met
}

// keep remembers err when it is the first.
func (e *encoder) keep(v any, err error) any {
	if err != nil && e.err == nil {
		e.err = err
	}
	return v
}

// time encodes a time.
func (e *encoder) time(t time.Time) any { return e.keep(e.d.Time(t)) }

// timePtr encodes an optional time; nil is NULL.
func (e *encoder) timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return e.time(*t)
}

// ids encodes a list of ids for Dialect.In, EachID and Positions.
func (e *encoder) ids(ids []string) any { return e.keep(e.d.IDs(ids)) }

// json encodes v for a JSON column.
func (e *encoder) json(v any) any { return e.keep(e.d.JSON(v)) }

// enc returns an encoder for t's dialect.
func (t *Tx) enc() encoder { return encoder{d: t.D} }

// List runs a query and scans every row with scan. It never returns a nil
// slice on success.
func List[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

// one runs a query that returns at most one row. When there is none it
// returns notFound.
func one[T any](ctx context.Context, t *Tx, scan func(Row) (T, error), notFound *roster.Error, query string, args ...any) (*T, error) {
	v, err := scan(t.Q.QueryRow(ctx, query, args...))
	if t.D.NoRows(err) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	return &v, nil
}

// failed reports whether err, from One, is a failure and not ENOTFOUND: a
// lookup wraps the first with its context and returns the second as is.
func failed(err error) bool {
	return err != nil && roster.ErrorCode(err) != roster.ENOTFOUND
}

// listIn is List for a query whose arguments are lists of ids, bound as
// Dialect.IDs encodes them to the placeholders of Dialect.In. When a list is
// empty no row can match: it returns an empty list without a query.
func listIn[T any](ctx context.Context, t *Tx, scan func(Row) (T, error), query string, lists ...[]string) ([]T, error) {
	args := make([]any, len(lists))
	for i, ids := range lists {
		if len(ids) == 0 {
			return []T{}, nil
		}
		arg, err := t.D.IDs(ids)
		if err != nil {
			return nil, err
		}
		args[i] = arg
	}
	return List(ctx, t.Q, scan, query, args...)
}

// ScanString scans a row of one text column.
func ScanString(r Row) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

// ScanInt64 scans a row of one integer column.
func ScanInt64(r Row) (int64, error) {
	var n int64
	err := r.Scan(&n)
	return n, err
}

// paginate turns the up to n+1 items of a keyset query into a page of at most
// n items, with the cursor of the last one when more follow.
func paginate[T any](items []T, n int, key func(*T) any) *roster.Page[T] {
	p := &roster.Page[T]{Items: items}
	if len(items) > n {
		p.Items = items[:n]
		p.NextCursor = paging.Encode(key(&p.Items[n-1]))
	}
	return p
}

// page runs the query of one page of a keyset list: head selects the rows,
// w holds the filter, order is the ORDER BY list and key returns an item's
// cursor key.
func page[T any](ctx context.Context, t *Tx, scan func(Row) (T, error), head string, w *where, order string, limit int, key func(*T) any) (*roster.Page[T], error) {
	query, args := pageQuery(head, w, order, limit)
	items, err := List(ctx, t.Q, scan, query, args...)
	if err != nil {
		return nil, err
	}
	return paginate(items, paging.Size(limit), key), nil
}

// pageQuery returns the query of page, with its arguments: it selects one
// item past the page, which tells paginate that more follow.
func pageQuery(head string, w *where, order string, limit int) (string, []any) {
	return head + w.String() + ` ORDER BY ` + order + ` LIMIT ?`, append(w.args, paging.Size(limit)+1)
}

// where collects the conditions and arguments of a WHERE clause.
type where struct {
	conds []string
	// args are the arguments of the conditions' placeholders, in order.
	args []any
}

// add adds a condition with its arguments.
func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// eq adds "col = v" when v is not empty.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

// eqUnindexed is eq through an expression that no index serves, for a
// column whose index the query must not read.
func (w *where) eqUnindexed(col, v string) {
	if v != "" {
		w.add(col+" || '' = ?", v)
	}
}

// contains adds, when q is not empty, that one of cols contains q ignoring
// case; q's % and _ match themselves.
func (w *where) contains(q string, cols ...string) {
	if q == "" {
		return
	}
	pat := "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		conds[i] = "LOWER(" + c + `) LIKE ? ESCAPE '\'`
		args[i] = pat
	}
	w.add("("+strings.Join(conds, " OR ")+")", args...)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// count runs the COUNT query head with w's conditions.
func count(ctx context.Context, t *Tx, head string, w *where) (int, error) {
	var n int
	err := t.Q.QueryRow(ctx, head+w.String(), w.args...).Scan(&n)
	return n, err
}

// String returns the clause, with its leading " WHERE", or "".
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// stringKey is the cursor of lists keyed by one string.
type stringKey struct {
	ID *string `json:"id"`
}

// intKey is the cursor of lists keyed by an integer id.
type intKey struct {
	ID *int64 `json:"id"`
}

// grantKey is the cursor of grant lists.
type grantKey struct {
	User        *string `json:"u"`
	Entitlement *string `json:"e"`
}

// after adds to w the condition that the list's key column col comes after
// the id in cursor, when there is a cursor.
func (t *Tx) after(w *where, col, cursor string) error {
	if cursor == "" {
		return nil
	}
	var k stringKey
	if err := t.D.DecodeCursor(cursor, &k); err != nil || k.ID == nil {
		return roster.Errorf(roster.EINVALID, "invalid cursor %q", cursor)
	}
	w.add(col+" > ?", *k.ID)
	return nil
}

// afterID is after for lists keyed by an integer id.
func (t *Tx) afterID(w *where, cursor string) error { return t.pastID(w, cursor, "id > ?") }

// beforeID is afterID for lists in descending order of id.
func (t *Tx) beforeID(w *where, cursor string) error { return t.pastID(w, cursor, "id < ?") }

func (t *Tx) pastID(w *where, cursor, cond string) error {
	if cursor == "" {
		return nil
	}
	var k intKey
	if err := t.D.DecodeCursor(cursor, &k); err != nil || k.ID == nil {
		return roster.Errorf(roster.EINVALID, "invalid cursor %q", cursor)
	}
	w.add(cond, *k.ID)
	return nil
}

// Each runs a query and calls fn on every row.
func Each(ctx context.Context, q Querier, query string, args []any, fn func(Row) error) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
