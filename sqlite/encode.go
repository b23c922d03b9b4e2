package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
	"modernc.org/sqlite"
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

// encoder turns values into column values, remembering the first error so a
// statement's arguments can be built in one expression and checked once.
type encoder struct {
	err error
}

// time encodes t as unix nanoseconds, truncated to the microsecond.
func (e *encoder) time(t time.Time) int64 {
	n, ok := sqlstore.UnixNano(t)
	if !ok && e.err == nil {
		e.err = roster.Errorf(roster.EINVALID, "time %s is out of range (years 1678 to 2262)", t.Format(time.RFC3339))
	}
	return n
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
func decTime(n int64) time.Time { return sqlstore.FromUnixNano(n) }

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
