package postgres

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// dialect is PostgreSQL's sqlstore.Dialect: lists of ids travel as text[],
// times as timestamptz and JSON as JSONB.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

// In implements sqlstore.Dialect.
func (dialect) In(col string) string { return col + ` = ANY(?::text[])` }

// EachID implements sqlstore.Dialect: one statement whatever the number of
// ids, since each statement is a round trip.
func (dialect) EachID(int) string { return `unnest(?::text[]) AS e (id)` }

// Positions implements sqlstore.Dialect: WITH ORDINALITY numbers the
// elements from 1.
func (dialect) Positions() string {
	return `(SELECT e.id AS value, e.n - 1 AS key FROM unnest(?::text[]) WITH ORDINALITY AS e (id, n)) AS j`
}

// IDs implements sqlstore.Dialect.
func (dialect) IDs(ids []string) (any, error) { return ids, nil }

// Time implements sqlstore.Dialect.
func (dialect) Time(t time.Time) (any, error) {
	var e encoder
	v := e.time(t)
	return v, e.err
}

// JSON implements sqlstore.Dialect.
func (dialect) JSON(v any) (any, error) {
	var e encoder
	b := e.json(v)
	return b, e.err
}

// ArrayHas implements sqlstore.Dialect: jsonb_exists is the function of
// the jsonb ? text operator, spelled so that "?" stays a placeholder.
func (dialect) ArrayHas(col string) string { return `jsonb_exists(` + col + `, ?)` }

// ArrayElements implements sqlstore.Dialect.
func (dialect) ArrayElements(col string) string {
	return `jsonb_array_elements_text(` + col + `) AS j (value)`
}

// InSelect implements sqlstore.Dialect: as "col IN (sub)", the planner
// expects a hundred rows of a set-returning function such as
// jsonb_array_elements_text and reads the whole table, where an array of the
// values, computed once, is looked up in the index.
func (dialect) InSelect(col, sub string) string { return col + ` = ANY (ARRAY(` + sub + `))` }

// NoRows implements sqlstore.Dialect.
func (dialect) NoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// UniqueViolation implements sqlstore.Dialect.
func (dialect) UniqueViolation(err error) bool { return isUniqueViolation(err) }

// DecodeCursor implements sqlstore.Dialect.
func (dialect) DecodeCursor(cursor string, key any) error { return decodeCursor(cursor, key) }

// accessLog are the queries of the access log (migration 0024): a mark is
// the xmin of the current snapshot, and what commits after it has an xid
// at least as large; below is the mark pruned up to.
var accessLog = sqlstore.AccessLogQueries{
	Mark:    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
	Since:   `SELECT DISTINCT user_id FROM access_log WHERE xid >= $1::bigint::text::xid8 ORDER BY user_id`,
	Reaches: `SELECT $1::bigint::text::xid8 >= below FROM access_log_pruned`,
	Prune: []string{
		`UPDATE access_log_pruned SET below = greatest(below, $1::bigint::text::xid8)`,
		`DELETE FROM access_log WHERE xid < $1::bigint::text::xid8`,
	},
}

// AccessLog implements sqlstore.Dialect.
func (dialect) AccessLog() sqlstore.AccessLogQueries { return accessLog }
