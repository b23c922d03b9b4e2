package sqlstore

import (
	"fmt"
	"math"
	"time"
)

// A time is stored by SQLite as an INTEGER of unix nanoseconds and by
// PostgreSQL as a timestamptz, both truncated to the microsecond; the scan
// destinations below read either.

// zeroUnixNano is how the zero time.Time is stored as unix nanoseconds. No
// time truncated to the microsecond has this many nanoseconds, so it cannot
// be mistaken for one.
const zeroUnixNano = math.MinInt64

// The range of times unix nanoseconds can hold.
var (
	minUnixNano = time.Unix(0, math.MinInt64+1000).UTC()
	maxUnixNano = time.Unix(0, math.MaxInt64).UTC()
)

// UTC returns t in UTC truncated to the microsecond, the precision both
// stores keep. The zero time stays zero.
func UTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// utcPtr is UTC for an optional time.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := UTC(*t)
	return &v
}

// UnixNano encodes t as unix nanoseconds truncated to the microsecond. ok
// is false when t is out of the range they hold (years 1678 to 2262).
func UnixNano(t time.Time) (n int64, ok bool) {
	if t.IsZero() {
		return zeroUnixNano, true
	}
	if t.Before(minUnixNano) || t.After(maxUnixNano) {
		return 0, false
	}
	return UTC(t).UnixNano(), true
}

// FromUnixNano decodes a time encoded by UnixNano.
func FromUnixNano(n int64) time.Time {
	if n == zeroUnixNano {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// timeDest is the scan destination of a time column. The scanners gather a
// row's destinations in one variable, so that a row costs one allocation
// whatever its number of time columns.
type timeDest struct {
	T time.Time
}

// Scan implements sql.Scanner.
func (t *timeDest) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		t.T = FromUnixNano(v)
	case time.Time:
		t.T = time.Time{}
		if !v.IsZero() {
			t.T = v.UTC()
		}
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// nullTime is the scan destination of an optional time column.
type nullTime struct {
	T *time.Time
}

// Scan implements sql.Scanner.
func (t *nullTime) Scan(src any) error {
	if src == nil {
		t.T = nil
		return nil
	}
	var v timeDest
	if err := v.Scan(src); err != nil {
		return err
	}
	t.T = &v.T
	return nil
}
