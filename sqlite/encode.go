package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"modernc.org/sqlite"
)

// zeroTime is how the zero time.Time is stored. No time truncated to the
// microsecond has this many nanoseconds, so it cannot be mistaken for one.
const zeroTime = math.MinInt64

// The range of times unix nanoseconds can hold.
var (
	minTime = time.Unix(0, math.MinInt64+1000).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// sqliteConstraintUnique is SQLITE_CONSTRAINT_UNIQUE, the extended result
// code of a UNIQUE index violation.
const sqliteConstraintUnique = 2067

// isUniqueViolation reports whether err is a UNIQUE constraint violation.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqliteConstraintUnique
}

// sqliteConstraintPrimaryKey is SQLITE_CONSTRAINT_PRIMARYKEY, the extended
// result code of a PRIMARY KEY violation.
const sqliteConstraintPrimaryKey = 1555

// isKeyViolation reports whether err is a PRIMARY KEY or UNIQUE constraint
// violation.
func isKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqliteConstraintPrimaryKey || e.Code() == sqliteConstraintUnique)
}

// utc returns t in UTC truncated to the microsecond, the precision both
// SQLite and PostgreSQL stores keep. The zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// utcPtr is utc for an optional time.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// encoder turns values into column values, remembering the first error so a
// statement's arguments can be built in one expression and checked once.
type encoder struct {
	err error
}

// time encodes t as unix nanoseconds, truncated to the microsecond.
func (e *encoder) time(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	if t.Before(minTime) || t.After(maxTime) {
		if e.err == nil {
			e.err = roster.Errorf(roster.EINVALID, "time %s is out of range (years 1678 to 2262)", t.Format(time.RFC3339))
		}
		return 0
	}
	return utc(t).UnixNano()
}

// timePtr encodes an optional time; nil is NULL.
func (e *encoder) timePtr(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: e.time(*t), Valid: true}
}

// json encodes v as JSON text.
func (e *encoder) json(v any) string {
	if ss, ok := v.([]string); ok {
		if s, ok := plainStrings(ss); ok {
			return s
		}
	}
	b, err := json.Marshal(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("encode json: %w", err)
	}
	return string(b)
}

// decTime decodes a time stored by encoder.time.
func decTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decTimePtr decodes an optional time.
func decTimePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := decTime(n.Int64)
	return &t
}

// decJSON decodes the JSON text s of column col into v.
func decJSON(col, s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %s: %w", col, err)
	}
	return nil
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

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// plainStrings encodes a list of strings that need no escaping as
// json.Marshal does, without its reflection: lists of ids (a grant's sources,
// the users a query reads) are most of what a large write encodes. ok is
// false when a string holds a byte json.Marshal escapes or any non-ASCII.
func plainStrings(ss []string) (string, bool) {
	if ss == nil {
		return "null", true
	}
	n := 2
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return "", false
			}
		}
		n += len(s) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String(), true
}
