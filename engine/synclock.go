package engine

import (
	"context"
	"maps"
	"slices"

	"github.com/rosterhq/roster"
)

// On a store whose writers lock keys (roster.KeyLockingStore: PostgreSQL)
// a sync need not run alone. A sync of profile P changes P's members, sync
// state and tasks, and the grants, tasks and memberships of the users its
// plan names — and an unenrollment reads the user's memberships of other
// profiles, so whatever changes a user's memberships or grants holds that
// user. So a sync's transaction locks P exclusively and the users its plan
// changes, in the one order every writer keeps (users, then profiles): a
// decision on another person's task of another profile runs beside it, one
// on a user it changes or on a task of P waits. The users are known before
// the transaction from a plan in a view (planMany); inside it the sync
// plans again from what committed before its locks, and locks the users
// the fresh plan adds before it changes anything (out of order, so a
// deadlock may be met, which PostgreSQL breaks and Update runs again). A
// transaction of several profiles locks them all at its start, as many as
// stay within the store's bound of keys; a sync whose plan alone passes it
// (bulk enablement) locks nothing and runs alone, as every sync does on
// SQLite, which runs one writer at a time.

// syncLocks are the keys a sync transaction holds: the profiles it syncs,
// exclusively, and the users their plans change.
type syncLocks struct {
	users, profiles map[string]bool
}

// planUsers returns the users plan changes (those it pauses changes none),
// or, with a limit above 0, as many as limit+1 of them: a plan that changes
// more than the store's bound of keys runs alone, whoever they are.
func planUsers(plan *roster.Plan, limit int) []string {
	if plan.Pause {
		return nil
	}
	var users []string
	for _, us := range [][]string{plan.Enroll, plan.Unenroll} {
		users = append(users, us...)
	}
	for _, c := range plan.Cancel {
		users = append(users, c.User)
	}
	for _, d := range plan.ClearDenials {
		users = append(users, d.User)
	}
	if limit > 0 && len(users) > limit+1 {
		users = slices.Clone(users[:limit+1])
	}
	return users
}

// plannedUsers plans the syncs of ids in a view and returns, for each,
// the users its plan changes; nil on a store whose writers do not lock
// keys.
func (e *Engine) plannedUsers(ctx context.Context, ids []string) (map[string][]string, error) {
	if e.lockKeys == 0 {
		return nil, nil
	}
	planned := map[string][]string{}
	err := e.view(ctx, func(o *op) error {
		clear(planned)
		if len(ids) != 1 {
			_, _, err := o.planMany(ids, map[string]int{}, planned)
			return err
		}
		// One profile is planned as its sync plans it.
		p, err := o.profile(ids[0])
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil // its sync finds it missing
		} else if err != nil {
			return err
		}
		if p.Sync.State == roster.AutomationPaused {
			return nil
		}
		in, err := o.planInput(p)
		if err != nil {
			return err
		}
		plan := roster.PlanSync(in)
		planned[p.ID] = planUsers(&plan, o.e.lockKeys)
		return nil
	})
	return planned, err
}

// lockSyncs, called first in a sync transaction, locks the syncs of the
// first profiles of ids and the users planned (their plans' users) names,
// as many profiles as stay within the store's bound of keys, and returns
// how many it locked: 0 when the first alone passes the bound, or planned
// is nil (the store runs one writer at a time) — the transaction then runs
// alone, and may sync any number of profiles.
func (o *op) lockSyncs(ids []string, planned map[string][]string) (int, error) {
	if planned == nil || o.e.lockKeys == 0 {
		return 0, nil
	}
	users, profiles := map[string]bool{}, map[string]bool{}
	n := 0
	for _, id := range ids {
		grown := 0
		for _, u := range planned[id] {
			if !users[u] {
				grown++
			}
		}
		if !profiles[id] {
			grown++
		}
		if len(users)+len(profiles)+grown > o.e.lockKeys {
			break
		}
		for _, u := range planned[id] {
			users[u] = true
		}
		profiles[id] = true
		n++
	}
	if n == 0 {
		return 0, nil
	}
	// The store takes them in its one order.
	keys := make([]roster.LockKey, 0, len(users)+len(profiles))
	for _, u := range slices.Sorted(maps.Keys(users)) {
		keys = append(keys, roster.LockKey{Kind: "user", ID: u})
	}
	for _, p := range slices.Sorted(maps.Keys(profiles)) {
		keys = append(keys, roster.LockKey{Kind: "profile", ID: p})
	}
	if err := o.tx.Lock(o.ctx, keys...); err != nil {
		return 0, err
	}
	o.syncLocks = &syncLocks{users: users, profiles: profiles}
	return n, nil
}

// lockPlan makes sure the sync transaction holds what the plan of p's
// sync changes, and reports whether it had to lock more — the plan is then
// made again, from what committed before those locks. A transaction that
// runs alone holds everything already.
func (o *op) lockPlan(p *roster.Profile, plan *roster.Plan) (bool, error) {
	l := o.syncLocks
	if l == nil {
		return false, nil
	}
	var keys []roster.LockKey
	for _, u := range planUsers(plan, 0) {
		if !l.users[u] {
			l.users[u] = true
			keys = append(keys, roster.LockKey{Kind: "user", ID: u})
		}
	}
	if !l.profiles[p.ID] {
		l.profiles[p.ID] = true
		keys = append(keys, roster.LockKey{Kind: "profile", ID: p.ID})
	}
	if len(keys) == 0 {
		return false, nil
	}
	return true, o.tx.Lock(o.ctx, keys...)
}

// lockQuiet, called first in a transaction that records the syncs of the
// quiet profiles ids (their sync states alone), locks those profiles when
// they stay within the store's bound of keys.
func (o *op) lockQuiet(ids []string) error {
	if o.e.lockKeys == 0 || len(ids) > o.e.lockKeys {
		return nil
	}
	keys := make([]roster.LockKey, len(ids))
	for i, id := range ids {
		keys[i] = roster.LockKey{Kind: "profile", ID: id}
	}
	return o.tx.Lock(o.ctx, keys...)
}
