package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/paging"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// tx is one transaction; it implements roster.Tx. The queries both stores
// share come from sqlstore.Tx; tx writes the rows of the busiest tables
// behind (see writeBehind), numbers held tasks itself, appends events in
// multi-row statements and scans syncs with SQLite's JSON functions.
type tx struct {
	sqlstore.Tx
	tx cachedTx
}

var _ roster.Tx = (*tx)(nil)

// newTx returns the store's transaction on ct.
func newTx(ct cachedTx) *tx {
	return &tx{Tx: sqlstore.Tx{Q: ct, D: dialect{}}, tx: ct}
}

// querier is what view.go's helpers need of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dialect is SQLite's sqlstore.Dialect: lists of ids travel as JSON arrays
// read with json_each, times are unix nanoseconds and JSON is text.
type dialect struct{}

// In implements sqlstore.Dialect.
func (dialect) In(col string) string { return col + ` IN (SELECT value FROM json_each(?))` }

// eachMin is the least number of ids an insert reads from a JSON array:
// for fewer, a prepared one-row INSERT each costs less, and a statement
// costs SQLite no round trip.
const eachMin = 8

// EachID implements sqlstore.Dialect.
func (dialect) EachID(n int) string {
	if n < eachMin {
		return ""
	}
	return `(SELECT value AS id FROM json_each(?))`
}

// IDs implements sqlstore.Dialect.
func (dialect) IDs(ids []string) (any, error) {
	var e encoder
	s := e.json(ids)
	return s, e.err
}

// Time implements sqlstore.Dialect.
func (dialect) Time(t time.Time) (any, error) {
	var e encoder
	n := e.time(t)
	return n, e.err
}

// JSON implements sqlstore.Dialect.
func (dialect) JSON(v any) (any, error) {
	var e encoder
	s := e.json(v)
	return s, e.err
}

// ArrayHas implements sqlstore.Dialect.
func (dialect) ArrayHas(col string) string {
	return `EXISTS (SELECT 1 FROM json_each(` + col + `) AS a WHERE a.value = ?)`
}

// NoRows implements sqlstore.Dialect.
func (dialect) NoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// UniqueViolation implements sqlstore.Dialect.
func (dialect) UniqueViolation(err error) bool { return isUniqueViolation(err) }

// DecodeCursor implements sqlstore.Dialect.
func (dialect) DecodeCursor(cursor string, key any) error { return paging.Decode(cursor, key) }

// PutUser inserts or replaces a user. It is written behind (see
// writeBehind): a file or a connector puts users by the thousand.
func (t *tx) PutUser(ctx context.Context, u *roster.User) error {
	args, err := sqlstore.UserArgs(dialect{}, u)
	if err == nil {
		err = t.tx.held.add(ctx, t.tx, t.tx.held.tables[3], args...)
	}
	if err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}

// userInsert upserts users, keyed by id. A user put twice ends as put last.
var userInsert = newUpsert("users", strings.Split(sqlstore.UserColumns, ", "), 1)
