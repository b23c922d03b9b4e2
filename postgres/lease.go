package postgres

import (
	"context"
	"fmt"
	"time"
)

// AcquireLease takes or renews the named lease for holder until now+ttl. It
// succeeds when the lease is free, expired, or already held by holder.
func (t *tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var e encoder
	nowT, until := e.time(now), e.time(now.Add(ttl))
	if e.err != nil {
		return false, fmt.Errorf("lease %q: %w", name, e.err)
	}
	tag, err := t.exec(ctx, `
		INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`, name, holder, until, nowT)
	if err != nil {
		return false, fmt.Errorf("lease %q: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}
