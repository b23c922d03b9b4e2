package postgres

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// SQLSTATE codes the store acts on.
const (
	sqlstateUniqueViolation      = "23505"
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
)

// The range of times timestamptz can hold (4713 BC to 294276 AD).
var (
	minTime = time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// sqlstate returns the SQLSTATE of the PostgreSQL error in err's chain, or "".
func sqlstate(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// isUniqueViolation reports whether err is a UNIQUE constraint violation.
func isUniqueViolation(err error) bool { return sqlstate(err) == sqlstateUniqueViolation }

// isRetryable reports whether err is a serialization failure or a deadlock:
// the transaction lost a race with a concurrent one and may be run again.
func isRetryable(err error) bool {
	switch sqlstate(err) {
	case sqlstateSerializationFailure, sqlstateDeadlockDetected:
		return true
	}
	return false
}

// backoff returns how long to wait before attempt (2, 3, ...) of a
// transaction: an exponential delay capped at 100ms, with full jitter so that
// the transactions that collided do not collide again.
func backoff(attempt int) time.Duration {
	d := min(time.Millisecond<<min(attempt, 7), 100*time.Millisecond)
	return d/2 + rand.N(d/2+1)
}

// encoder turns values into column values, remembering the first error so a
// statement's arguments can be built in one expression and checked once.
type encoder struct {
	err error
}

// time encodes t for a timestamptz column, in UTC and truncated to the
// microsecond. The zero time is stored as itself, 0001-01-01 UTC.
func (e *encoder) time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	if t.Before(minTime) || t.After(maxTime) {
		if e.err == nil {
			e.err = roster.Errorf(roster.EINVALID, "time %s is out of range (4713 BC to 294276 AD)", t.Format(time.RFC3339))
		}
		return time.Time{}
	}
	return sqlstore.UTC(t)
}

// json encodes v as JSON for a JSONB column.
func (e *encoder) json(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("encode json: %w", err)
	}
	return b
}

// decTime decodes a time stored by encoder.time.
func decTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// decodeCursor decodes a cursor (see paging.Decode) into key. PostgreSQL text
// cannot hold a NUL character, so a cursor carrying one could only fail in
// the query: it is invalid too.
func decodeCursor(cursor string, key any) error {
	if err := paging.Decode(cursor, key); err != nil {
		return err
	}
	if b, _ := base64.RawURLEncoding.DecodeString(cursor); bytes.Contains(b, []byte(`\u0000`)) {
		return roster.Errorf(roster.EINVALID, "invalid cursor %q", cursor)
	}
	return nil
}
