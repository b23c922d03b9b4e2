package sqlite

import (
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/internal/paging"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// dialect is SQLite's sqlstore.Dialect: lists of ids travel as JSON arrays
// read with json_each, times are unix nanoseconds and JSON is text.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

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

// Positions implements sqlstore.Dialect: json_each's key is an element's
// index.
func (dialect) Positions() string { return `json_each(?) AS j` }

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

// ArrayElements implements sqlstore.Dialect.
func (dialect) ArrayElements(col string) string { return `json_each(` + col + `) AS j` }

// InSelect implements sqlstore.Dialect.
func (dialect) InSelect(col, sub string) string { return col + ` IN (` + sub + `)` }

// NoRows implements sqlstore.Dialect.
func (dialect) NoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// UniqueViolation implements sqlstore.Dialect.
func (dialect) UniqueViolation(err error) bool { return isUniqueViolation(err) }

// DecodeCursor implements sqlstore.Dialect.
func (dialect) DecodeCursor(cursor string, key any) error { return paging.Decode(cursor, key) }

// accessLog are the queries of the access log (migration 0024): a mark is
// the largest id, and what commits after it has a larger one (one writer at
// a time; pruning keeps the largest id's row, so ids are not given again);
// below is the mark pruned up to.
var accessLog = sqlstore.AccessLogQueries{
	Mark:    `SELECT coalesce(max(id), 0) FROM access_log`,
	Since:   `SELECT DISTINCT user_id FROM access_log WHERE id > ? ORDER BY user_id`,
	Reaches: `SELECT ? >= below FROM access_log_pruned`,
	Prune: []string{
		`UPDATE access_log_pruned SET below = max(below, ?1)`,
		`DELETE FROM access_log WHERE id <= ?1 AND id < (SELECT max(id) FROM access_log)`,
	},
}

// AccessLog implements sqlstore.Dialect.
func (dialect) AccessLog() sqlstore.AccessLogQueries { return accessLog }
