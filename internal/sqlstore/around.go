package sqlstore

import (
	"context"
	"fmt"
	"slices"
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
	reads, result := AroundReads(t.D, AroundKey{User: user, Profile: profile, Entitlement: entitlement})
	if err := t.Reads(ctx, reads); err != nil {
		return nil, fmt.Errorf("around %q: %w", user, err)
	}
	return result(now), nil
}

// AroundKey names what Around reads around: a task's subject, profile and
// entitlement, or, with Task set, those of task Task as its row says, for
// a store that reads them before it has read the task (with its locks).
type AroundKey struct {
	User, Profile, Entitlement string
	Task                       int64
}

// value returns the SQL of one of the key's values, and its arguments:
// the value bound, or the column of the task's row.
func (k AroundKey) value(v, column string) (string, []any) {
	if k.Task == 0 {
		return `CAST(? AS TEXT)`, []any{v}
	}
	return `(SELECT ` + column + ` FROM tasks WHERE id = ?)`, []any{k.Task}
}

// AroundReads returns the reads of Around around k, and what puts
// together their rows once read, with the delegations in force at now.
func AroundReads(d Dialect, k AroundKey) ([]Read, func(now time.Time) *roster.Around) {
	a := roster.Around{Rules: map[string][]string{}}
	var profiles []roster.Profile
	var rules [][2]string
	var delegations []roster.Delegation
	user, userArgs := k.value(k.User, "user_id")
	profile, profileArgs := k.value(k.Profile, "profile_id")
	entitlement, entitlementArgs := k.value(k.Entitlement, "entitlement_id")
	// The entitlements asked about: the task's, the profile's enrollment
	// entitlement and the profile's contents.
	asked := `SELECT ` + entitlement + ` AS id UNION ALL SELECT ? || ` + profile + `
		UNION ALL SELECT j.value FROM profiles p, ` + d.ArrayElements("p.entitlements") + ` WHERE p.id = ` + profile
	askedArgs := slices.Concat(entitlementArgs, []any{roster.EnrollmentEntitlement("")}, profileArgs, profileArgs)
	reads := []Read{
		readInto(&profiles, scanProfile, `SELECT `+profileColumns+` FROM profiles WHERE id = `+profile, profileArgs...),
		readInto(&a.Entitlements, scanEntitlement, `SELECT `+entitlementColumns+` FROM entitlements
			WHERE `+d.InSelect("id", asked)+` ORDER BY id`, askedArgs...),
		// Every entitlement asked about has a row with no profile, beside
		// one for each profile whose rule names it: one statement reads
		// one state of the profile, even when it changed after the
		// statement before.
		readInto(&rules, scanPair, `SELECT e.id, '' FROM (`+asked+`) AS e
			UNION ALL SELECT entitlement_id, profile_id FROM profile_rules WHERE `+d.InSelect("entitlement_id", asked),
			slices.Concat(askedArgs, askedArgs)...),
		readInto(&a.Memberships, scanMember, `SELECT `+MemberColumns+` FROM members WHERE user_id = `+user+` ORDER BY profile_id`, userArgs...),
		readInto(&a.Grants, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE user_id = `+user, userArgs...),
		readInto(&a.OpenTasks, scanTask, `SELECT `+taskColumns+` FROM tasks WHERE user_id = `+user+` AND state IN `+OpenStates+` ORDER BY id`, userArgs...),
		// Every delegation stored, those ended too until they are cleared:
		// the key may be read before the time is known.
		readInto(&delegations, scanDelegation, `SELECT `+delegationColumns+` FROM delegations ORDER BY user_id`),
	}
	return reads, func(now time.Time) *roster.Around {
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
		for e, ps := range a.Rules {
			slices.Sort(ps)
			a.Rules[e] = slices.Compact(ps)
		}
		a.Delegations = []roster.Delegation{}
		for _, dl := range delegations {
			if dl.Until.After(now) {
				a.Delegations = append(a.Delegations, dl)
			}
		}
		return &a
	}
}

// scanPair scans a row of two text columns.
func scanPair(r Row) ([2]string, error) {
	var v [2]string
	err := r.Scan(&v[0], &v[1])
	return v, err
}
