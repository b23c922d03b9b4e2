package sqlite

import (
	"context"
	"fmt"
	"time"
)

// AcquireLease takes or renews the named lease for holder until now+ttl. It
// succeeds when the lease is free, expired, or already held by holder.
func (t *tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var e encoder
	nowN, until := e.time(now), e.time(now.Add(ttl))
	if e.err != nil {
		return false, fmt.Errorf("lease %q: %w", name, e.err)
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`, name, holder, until, nowN)
	if err != nil {
		return false, fmt.Errorf("lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease %q: %w", name, err)
	}
	return n == 1, nil
}
