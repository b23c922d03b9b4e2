package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// A Read is one query of several sent together (Batcher), and what reads
// its rows.
type Read struct {
	Query string
	Args  []any
	// Collect reads the rows; the caller closes them.
	Collect func(Rows) error
}

// readInto returns the Read of query that appends what scan makes of each
// row to *out.
func readInto[T any](out *[]T, scan func(Row) (T, error), query string, args ...any) Read {
	return Read{Query: query, Args: args, Collect: func(rows Rows) error {
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			*out = append(*out, v)
		}
		return rows.Err()
	}}
}

// A Batcher is a Querier that sends several queries in one round trip, in
// order, each seeing what the one before it did.
type Batcher interface {
	Batch(ctx context.Context, reads []Read) error
}

// Reads runs reads: together when t's Querier is a Batcher, else one after
// another.
func (t *Tx) Reads(ctx context.Context, reads []Read) error {
	if b, ok := t.Q.(Batcher); ok {
		return b.Batch(ctx, reads)
	}
	for _, r := range reads {
		rows, err := t.Q.Query(ctx, r.Query, r.Args...)
		if err != nil {
			return err
		}
		err = r.Collect(rows)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Around implements roster.Tx.
func (t *Tx) Around(ctx context.Context, user, profile, entitlement string, now time.Time) (*roster.Around, error) {
	e := t.enc()
	ts := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("around %q: %w", user, e.err)
	}
	a := roster.Around{Rules: map[string][]string{}}
	var profiles []roster.Profile
	var rules [][2]string
	// The profile's contents, as rows of one column named value.
	contents := `SELECT j.value FROM profiles p, ` + t.D.ArrayElements("p.entitlements") + ` WHERE p.id = ?`
	reads := []Read{
		readInto(&profiles, scanProfile, `SELECT `+profileColumns+` FROM profiles WHERE id = ?`, profile),
		readInto(&a.Entitlements, scanEntitlement, `SELECT `+entitlementColumns+` FROM entitlements
			WHERE id = ? OR id IN (`+contents+`) ORDER BY id`, entitlement, profile),
		// Every entitlement asked about has a row, '' for the profile when
		// no rule names it: what a statement read is whole even when the
		// profile changed after the one before it.
		readInto(&rules, scanPair, `SELECT e.id, COALESCE(r.profile_id, '')
			FROM (SELECT CAST(? AS TEXT) AS id UNION SELECT CAST(? AS TEXT) UNION `+contents+`) AS e
			LEFT JOIN profile_rules r ON r.entitlement_id = e.id
			ORDER BY 1, 2`, entitlement, roster.EnrollmentEntitlement(profile), profile),
		readInto(&a.Memberships, scanMember, `SELECT `+MemberColumns+` FROM members WHERE user_id = ? ORDER BY profile_id`, user),
		readInto(&a.Grants, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE user_id = ?`, user),
		readInto(&a.OpenTasks, scanTask, `SELECT `+taskColumns+` FROM tasks WHERE user_id = ? AND state IN `+OpenStates+` ORDER BY id`, user),
		readInto(&a.Delegations, scanDelegation, `SELECT `+delegationColumns+` FROM delegations WHERE until > ? ORDER BY user_id`, ts),
	}
	if err := t.Reads(ctx, reads); err != nil {
		return nil, fmt.Errorf("around %q: %w", user, err)
	}
	if len(profiles) > 0 {
		a.Profile = &profiles[0]
	}
	for _, r := range rules {
		ps := a.Rules[r[0]]
		if ps == nil {
			ps = []string{}
		}
		if r[1] != "" {
			ps = append(ps, r[1])
		}
		a.Rules[r[0]] = ps
	}
	return &a, nil
}

// scanPair scans a row of two text columns.
func scanPair(r Row) ([2]string, error) {
	var v [2]string
	err := r.Scan(&v[0], &v[1])
	return v, err
}
