package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// --- delegations ---

const delegationColumns = `user_id, delegate, until, set_by, set_at`

// scanDelegation scans a row of delegationColumns.
func scanDelegation(r Row) (roster.Delegation, error) {
	var v struct {
		d          roster.Delegation
		until, set timeDest
	}
	if err := r.Scan(&v.d.User, &v.d.Delegate, &v.until, &v.d.SetBy, &v.set); err != nil {
		return v.d, err
	}
	v.d.Until, v.d.SetAt = v.until.T, v.set.T
	return v.d, nil
}

// PutDelegation stores d, replacing the delegation d.User had.
func (t *Tx) PutDelegation(ctx context.Context, d *roster.Delegation) error {
	e := t.enc()
	args := []any{d.User, d.Delegate, e.time(d.Until), d.SetBy, e.time(d.SetAt)}
	if e.err != nil {
		return fmt.Errorf("put delegation: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx, `INSERT INTO delegations (`+delegationColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET delegate = excluded.delegate, until = excluded.until,
			set_by = excluded.set_by, set_at = excluded.set_at`, args...); err != nil {
		return fmt.Errorf("put delegation of %q: %w", d.User, err)
	}
	return nil
}

// DeleteDelegation removes user's delegation.
func (t *Tx) DeleteDelegation(ctx context.Context, user string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM delegations WHERE user_id = ?`, user); err != nil {
		return fmt.Errorf("delete delegation of %q: %w", user, err)
	}
	return nil
}

// Delegation returns the delegation user set.
func (t *Tx) Delegation(ctx context.Context, user string) (*roster.Delegation, error) {
	d, err := one(ctx, t, scanDelegation, roster.Errorf(roster.ENOTFOUND, "%s has named no delegate", user),
		`SELECT `+delegationColumns+` FROM delegations WHERE user_id = ?`, user)
	if failed(err) {
		return nil, fmt.Errorf("delegation of %q: %w", user, err)
	}
	return d, err
}

// DelegationsInForce returns the delegations in force at now, by user.
func (t *Tx) DelegationsInForce(ctx context.Context, now time.Time) ([]roster.Delegation, error) {
	e := t.enc()
	ts := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("delegations in force: %w", e.err)
	}
	out, err := List(ctx, t.Q, scanDelegation, `SELECT `+delegationColumns+` FROM delegations WHERE until > ? ORDER BY user_id`, ts)
	if err != nil {
		return nil, fmt.Errorf("delegations in force: %w", err)
	}
	return out, nil
}

// DelegationsEnded returns the stored delegations whose time is over at now,
// by user.
func (t *Tx) DelegationsEnded(ctx context.Context, now time.Time) ([]roster.Delegation, error) {
	e := t.enc()
	ts := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("delegations ended: %w", e.err)
	}
	out, err := List(ctx, t.Q, scanDelegation, `SELECT `+delegationColumns+` FROM delegations WHERE until <= ? ORDER BY user_id`, ts)
	if err != nil {
		return nil, fmt.Errorf("delegations ended: %w", err)
	}
	return out, nil
}
