package engine

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine/internal/syncview"
)

// On a store whose writers lock keys (roster.KeyLockingStore: PostgreSQL)
// a sync need not run alone. A sync of profile P changes P's members, sync
// state and tasks, and the grants, tasks and memberships of the users its
// plan names — and an unenrollment reads the user's memberships of other
// profiles, so whatever changes a user's memberships or grants holds that
// user. So a sync's transaction locks P exclusively and the users its plan
// changes: a decision on another person's task of another profile runs
// beside it, one on a user it changes or on a task of P waits.
//
// The sync of one profile (Sync, a change-driven sync) whose input is kept
// (kept.go) plans first in a view, which reads only the users changed
// since, and its transaction locks the users that plan changes, then P, in
// the one order every other writer keeps (users, then profiles). It then
// plans again from what it reads under those locks; a user that plan adds
// is locked then (lockPlan), and only theirs read again
// (refreshPlanInput). Without a kept input, a view would read the profile
// whole only to learn whom to lock: the transaction locks P first, reads
// P's state and plans, then locks the users the plan changes, out of that
// order. Should a decision on one of them wait for P meanwhile, the two
// wait on each other, and PostgreSQL breaks the deadlock after
// deadlock_timeout and Update runs the loser again — which takes a
// decision on P's task of a user the sync changes at that very moment,
// at the first sync of P in this process or of a user changed between the
// view and the transaction. A transaction of several profiles (SyncAll)
// knows their plans' users from one view of them all (planMany) and locks
// users then profiles, as many profiles as stay within the store's bound
// of keys; a user its fresh plan adds is locked as above. A sync whose plan
// alone passes the bound (bulk enablement) takes the writer lock
// exclusively and runs alone, as every sync does on SQLite, which runs one
// writer at a time.

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

// firstLocks returns what the sync of one profile locks at its start, for
// lockSyncs; nil on a store whose writers do not lock keys. With an input
// kept for the profile (kept.go), planning in a view costs only the users
// changed since, so the profile is planned there first and the users its
// plan changes are locked with it, in the one order (users, then
// profiles): a decision that holds one of them and waits for the profile
// cannot meet the sync holding the profile and waiting for it. Without
// one, a view would read the profile whole only to learn whom to lock, and
// its transaction again: the profile alone is locked first, its plan's
// users once the transaction has made it (lockPlan), out of that order.
func (e *Engine) firstLocks(ctx context.Context, profile string) map[string][]string {
	if e.lockKeys == 0 {
		return nil
	}
	planned := map[string][]string{profile: nil}
	if !e.kept.has(profile) && !e.views.has(profile) {
		return planned
	}
	err := e.view(ctx, func(o *op) error {
		p, err := o.profile(profile)
		if err != nil || p.Sync.State == roster.AutomationPaused {
			return err
		}
		in, _, err := o.keptPlanInput(p)
		if err != nil {
			return err
		}
		plan := roster.PlanSync(in)
		planned[profile] = planUsers(&plan, e.lockKeys)
		return nil
	})
	if err != nil {
		// The transaction reports it, or plans without it.
		return map[string][]string{profile: nil}
	}
	return planned
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
// sync changes. It returns the users it had to lock, whose state the plan
// read before it held them (see refreshPlanInput), and whether the plan
// must be made again from a fresh read of everything instead: the
// transaction locked p only now, or its keys passed the store's bound and
// it now runs alone. A transaction that runs alone holds everything
// already.
func (o *op) lockPlan(p *roster.Profile, plan *roster.Plan) (users []string, again bool, err error) {
	l := o.syncLocks
	if l == nil {
		return nil, false, nil
	}
	var keys []roster.LockKey
	for _, u := range planUsers(plan, 0) {
		if !l.users[u] {
			l.users[u] = true
			users = append(users, u)
			keys = append(keys, roster.LockKey{Kind: "user", ID: u})
		}
	}
	if !l.profiles[p.ID] {
		l.profiles[p.ID] = true
		again = true
		keys = append(keys, roster.LockKey{Kind: "profile", ID: p.ID})
	}
	if len(keys) == 0 {
		return nil, false, nil
	}
	if len(l.users)+len(l.profiles) > o.e.lockKeys {
		// The store takes the writer lock alone instead: nothing more
		// need be locked.
		o.syncLocks, again = nil, true
	}
	return users, again, o.tx.Lock(o.ctx, keys...)
}

// refreshPlanInput brings in, p's plan input read before the transaction
// held users, up to date for those users: it reads again what the planner
// knows of each — whether they match p's rule, are disabled, are members,
// the subjects of p's open enrollment tasks, denied — and keeps the rest.
// What concerns p as a whole (its settings, the removals of the
// safeguard's hour) changes only under p's lock, which the transaction
// held before in was read. So a sync reads its profile's state once, then
// locks the users its plan changes and reads only theirs again, rather
// than plan once to learn whom to lock and again after. With scope, in
// holds only the users of that range (a sweep's part, sweep.go), and only
// they are read again.
func (o *op) refreshPlanInput(p *roster.Profile, in *roster.PlanInput, users []string, scope *userRange) error {
	holding := map[string]bool{}
	var these map[string]bool
	if p.Automation.Expression != "" {
		// Matching reads only what changed since it last looked, besides
		// the disabled users and the holders of what p's expression reads.
		matching, errs, err := syncview.Matching(o.ctx, o.tx, p, o.e.matches, &o.journal)
		if err != nil {
			return err
		}
		if scope != nil {
			matching = filter(matching, scope.has)
		}
		// Whose match flipped since in was read is read again too: a kept
		// input (kept.go) knows nothing of the fields changed since.
		users = sortedUnique(append(users, flipped(in.Matching, matching)...))
		these = set(users)
		for _, u := range matching {
			if these[u] {
				holding[u] = true
			}
		}
		in.Errors = errs
	} else {
		users = sortedUnique(users)
		these = set(users)
		if len(p.Automation.AnyEntitlement) > 0 {
			grants, err := o.tx.GrantsAmong(o.ctx, users, p.Automation.AnyEntitlement)
			if err != nil {
				return err
			}
			for _, g := range grants {
				holding[g.User] = true
			}
		}
	}
	if len(users) == 0 {
		return nil
	}
	members, err := o.tx.MembershipsAmong(o.ctx, users, []string{p.ID})
	if err != nil {
		return err
	}
	open, err := o.tx.OpenTasksAmong(o.ctx, users, []string{roster.EnrollmentEntitlement(p.ID)})
	if err != nil {
		return err
	}
	disabled, err := o.tx.DisabledUsers(o.ctx, users)
	if err != nil {
		return err
	}
	// Denials are few: all of p's are read again.
	if in.Denials, err = o.tx.Denials(o.ctx, p.ID); err != nil {
		return err
	}

	// Disabled lists those of the users the profile concerns (holders,
	// members, subjects of open tasks) who are disabled.
	concerned := maps.Clone(holding)
	for _, m := range members {
		concerned[m.User] = true
	}
	in.Members = syncview.Merge(slices.DeleteFunc(in.Members, func(m roster.Member) bool { return these[m.User] }), members,
		func(a, b roster.Member) int { return strings.Compare(a.User, b.User) })
	var enroll, unenroll []roster.OpenTask
	for _, t := range open {
		concerned[t.User] = true
		t.Entitlement = ""
		if t.Kind == roster.TaskGrant {
			enroll = append(enroll, t)
		} else {
			unenroll = append(unenroll, t)
		}
	}
	byID := func(a, b roster.OpenTask) int { return cmp.Compare(a.ID, b.ID) }
	in.OpenEnrollments = syncview.Merge(slices.DeleteFunc(in.OpenEnrollments, func(t roster.OpenTask) bool { return these[t.User] }), enroll, byID)
	in.OpenUnenrollments = syncview.Merge(slices.DeleteFunc(in.OpenUnenrollments, func(t roster.OpenTask) bool { return these[t.User] }), unenroll, byID)
	off, excluded := set(disabled), set(p.Automation.ExcludedUsers)
	var nowDisabled, nowMatching []string
	for _, u := range users {
		if off[u] && concerned[u] {
			nowDisabled = append(nowDisabled, u)
		}
		if holding[u] && !off[u] && !excluded[u] {
			nowMatching = append(nowMatching, u)
		}
	}
	in.Disabled = syncview.Merge(slices.DeleteFunc(in.Disabled, func(u string) bool { return these[u] }), nowDisabled, strings.Compare)
	in.Matching = syncview.Merge(slices.DeleteFunc(in.Matching, func(u string) bool { return these[u] }), nowMatching, strings.Compare)
	return nil
}

// flipped returns the users in one of a and b, both sorted, but not the
// other.
func flipped(a, b []string) []string {
	var out []string
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return out
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
