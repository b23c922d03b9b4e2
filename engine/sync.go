package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine/internal/syncview"
)

// Sync syncs one profile now (admins). A sync with much to do commits it in
// parts (see syncPart); the result is the whole sync's.
func (e *Engine) Sync(ctx context.Context, profile string) (*roster.SyncResult, error) {
	return e.syncOne(ctx, profile)
}

// syncOne is Sync. It keeps the profile's plan input (kept.go) for the
// next sync of it.
func (e *Engine) syncOne(ctx context.Context, profile string) (*roster.SyncResult, error) {
	var total *roster.SyncResult
	planned := e.firstLocks(ctx, profile)
	for {
		var res *roster.SyncResult
		more := false
		err := e.update(ctx, func(o *op) error {
			o.keep = true
			if _, err := o.lockSyncs([]string{profile}, planned); err != nil {
				return err
			}
			if _, err := o.requireAdmin("sync profiles"); err != nil {
				return err
			}
			p, err := o.profile(profile)
			if err != nil {
				return err
			}
			if err := o.checkCanSync(p); err != nil {
				return err
			}
			res, more, err = o.syncPart(p, total)
			return err
		})
		if err != nil {
			return nil, err
		}
		total = mergeSync(total, res)
		if !more {
			return total, nil
		}
	}
}

// mergeSync adds the result of a sync's next part to what its parts before
// did (nil for none).
func mergeSync(total, part *roster.SyncResult) *roster.SyncResult {
	if total == nil {
		return part
	}
	out := *total
	out.Enrolled = append(slices.Clone(total.Enrolled), part.Enrolled...)
	out.Unenrolled = append(slices.Clone(total.Unenrolled), part.Unenrolled...)
	out.Cancelled = append(slices.Clone(total.Cancelled), part.Cancelled...)
	out.TasksCreated += part.TasksCreated
	out.Paused = out.Paused || part.Paused
	return &out
}

// SyncAll syncs every profile whose automation is enabled (admins). A
// profile whose sync fails does not stop the others: the results are those
// of the profiles synced, and the error names each that failed.
func (e *Engine) SyncAll(ctx context.Context) ([]roster.SyncResult, error) {
	var ids []string
	err := e.view(ctx, func(o *op) error {
		if _, err := o.requireAdmin("sync profiles"); err != nil {
			return err
		}
		s, err := o.tenant()
		if err != nil {
			return err
		}
		if !s.AutomationsEnabled {
			return roster.Errorf(roster.ECONFLICT, "membership automations are turned off tenant-wide (settings.automations_enabled: false)")
		}
		ps, err := o.tx.Profiles(o.ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Automation.Enabled {
				ids = append(ids, p.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	results, failed := e.syncMany(ctx, roster.ActorFromContext(ctx), ids, false)
	return inOrder(ids, results, failed, "sync %s: %w")
}

// inOrder returns the results of the syncs of ids in the order of ids,
// and an error naming each that failed, as format says (the profile's id,
// then the error). A sync that failed after committing parts of its work
// is reported as failed: the next sync does the rest.
func inOrder(ids []string, results map[string]roster.SyncResult, failed map[string]error, format string) ([]roster.SyncResult, error) {
	out := []roster.SyncResult{}
	var errs []error
	for _, id := range ids {
		if err, ok := failed[id]; ok {
			errs = append(errs, fmt.Errorf(format, id, err))
		} else if res, ok := results[id]; ok {
			out = append(out, res)
		}
	}
	return out, errors.Join(errs...)
}

// syncMany syncs profiles as actor and returns their results, and the
// errors of those whose sync failed: a failing profile is left as it was
// and the others are synced all the same. The profiles are planned together
// from one read-only transaction (syncview.View); only a profile with something
// to do is synced in a read-write transaction (which plans again, inside
// it), and the syncs that find nothing to do are recorded together — a
// steady-state pass over many profiles costs one read and one write. When
// the busy profiles changed something, the quiet ones are planned again,
// since a sync can change what another profile's rule sees (enrolling in A
// grants access-profiles/A). With scheduled, a profile is synced only if it
// is still due; a profile not synced for that reason is in neither map.
func (e *Engine) syncMany(ctx context.Context, actor string, ids []string, scheduled bool) (map[string]roster.SyncResult, map[string]error) {
	results, failed := map[string]roster.SyncResult{}, map[string]error{}
	var quiet []string
	evalErrors := map[string]int{}
	// On a store whose writers lock keys, the users each busy profile's
	// plan changes, for its transaction's locks (synclock.go).
	var planned map[string][]string
	for pending := ids; len(pending) > 0; {
		var busy []string
		err := e.view(ctx, func(o *op) error {
			var err error
			if e.lockKeys > 0 {
				planned = map[string][]string{}
			}
			busy, quiet, err = o.planMany(pending, evalErrors, planned)
			return err
		})
		if err != nil {
			for _, id := range pending {
				failed[id] = fmt.Errorf("plan: %w", err)
			}
			return results, failed
		}
		changed := e.syncGroups(ctx, actor, busy, scheduled, (*op).syncPart, planned, results, failed)
		if !changed {
			break
		}
		pending = quiet
	}
	e.recordQuiet(ctx, actor, quiet, scheduled, evalErrors, results, failed)
	return results, failed
}

// recordQuiet records the syncs of the profiles of ids, which found nothing
// to do, quietGroup profiles to a transaction with one read of the
// profiles and one write of their sync states (PutProfileSyncs): a steady
// pass over thousands of profiles is mostly this, and a read and a write
// per profile cost PostgreSQL two round trips each. Should a group's
// transaction fail, its profiles are recorded as syncGroups does, one
// after another, so that one profile's failure is its own.
func (e *Engine) recordQuiet(ctx context.Context, actor string, ids []string, scheduled bool, evalErrors map[string]int,
	results map[string]roster.SyncResult, failed map[string]error) {
	quietResult := func(o *op, p *roster.Profile) *roster.SyncResult {
		return &roster.SyncResult{Profile: p.ID, Enrolled: []string{}, Unenrolled: []string{}, Cancelled: []int64{}, Errors: evalErrors[p.ID], At: o.now}
	}
	for start := 0; start < len(ids); start += quietGroup {
		chunk := ids[start:min(start+quietGroup, len(ids))]
		var group map[string]roster.SyncResult
		err := e.updateAs(ctx, actor, func(o *op) error {
			group = map[string]roster.SyncResult{}
			// Only the profiles' sync states are written: their keys are
			// all the transaction needs.
			if err := o.lockQuiet(chunk); err != nil {
				return err
			}
			if err := o.readProfiles(); err != nil {
				return err
			}
			syncs := map[string]roster.SyncState{}
			for _, id := range chunk {
				p, err := o.syncableProfile(id, scheduled)
				if err != nil {
					return err
				}
				if p == nil {
					continue
				}
				res := quietResult(o, p)
				o.noteSync(p, res, nil)
				syncs[p.ID] = p.Sync
				group[p.ID] = *res
			}
			// Losing these records to a crash of the database loses
			// nothing but when the profiles were last found quiet: the
			// next pass finds them quiet again.
			if err := o.tx.SkipFlush(o.ctx); err != nil {
				return err
			}
			if err := o.tx.PutProfileSyncs(o.ctx, syncs); err != nil {
				return err
			}
			for id, s := range syncs {
				p := o.cache.profiles[id]
				p.Sync = s
				o.cache.profiles[id] = p
			}
			o.after = append(o.after, func() { o.e.metrics.syncs.WithLabelValues("applied").Add(float64(len(syncs))) })
			return nil
		})
		if err != nil {
			var planned map[string][]string // no users: the profiles' keys alone
			if e.lockKeys > 0 {
				planned = map[string][]string{}
			}
			e.syncGroups(ctx, actor, chunk, scheduled, func(o *op, p *roster.Profile, _ *roster.SyncResult) (*roster.SyncResult, bool, error) {
				res := quietResult(o, p)
				return res, false, o.recordSync(p, res, nil)
			}, planned, results, failed)
			continue
		}
		maps.Copy(results, group)
	}
}

// quietGroup is how many quiet profiles' syncs recordQuiet records in a
// transaction.
const quietGroup = 1024

// syncGroups runs step (a part of a sync, or recording one that found
// nothing to do) on each profile of ids that is still syncable (see
// syncableProfile), as actor, several profiles to a transaction up to a
// bound of work: a commit writes every page the transaction changed, and the
// syncs of many profiles change many of the same pages. A sync whose step
// says there is more to do ends its transaction, and its next part starts
// the next one. When a shared transaction fails, its profiles are run again
// one per transaction, as if each had had its own: those before the failing
// one commit, the failing one's error goes into failed, and the profiles
// after it are synced all the same, grouped again past the failed group.
// Results go into results (a sync's parts merged); syncGroups reports
// whether any sync changed something. On a store whose writers lock keys,
// planned holds the users each profile's plan changes, and a transaction
// takes its profiles' locks at its start (lockSyncs): it syncs only the
// profiles it locked, unless it runs alone.
func (e *Engine) syncGroups(ctx context.Context, actor string, ids []string, scheduled bool, step func(o *op, p *roster.Profile, prev *roster.SyncResult) (*roster.SyncResult, bool, error),
	planned map[string][]string, results map[string]roster.SyncResult, failed map[string]error) (changed bool) {
	alone := 0 // up to ids[alone], one profile per transaction: a group failed
	// continuing is the profile ids[next] whose sync committed parts and has
	// more to do, if any.
	continuing := false
	for next := 0; next < len(ids); {
		var group map[string]roster.SyncResult
		end, more := next, false
		err := e.updateAs(ctx, actor, func(o *op) error {
			group = map[string]roster.SyncResult{}
			start := time.Now()
			locked, err := o.lockSyncs(ids[next:], planned)
			if err != nil {
				return err
			}
			for end = next; end < len(ids); {
				id := ids[end]
				end++
				p, err := o.syncableProfile(id, scheduled && !(continuing && end == next+1))
				if err != nil {
					return err
				}
				if p != nil {
					var prev *roster.SyncResult
					if r, ok := results[id]; ok && continuing && end == next+1 {
						prev = &r
					}
					res, m, err := step(o, p, prev)
					if err != nil {
						return err
					}
					o.cache.forgetUsers()
					group[id] = *res
					if more = m; more {
						end-- // its next part starts the next transaction
						break
					}
				}
				if end <= alone || end == next+locked || o.created >= groupTasks || time.Since(start) >= groupTime {
					break
				}
			}
			return nil
		})
		if err != nil && end-next > 1 {
			alone = end
			continue
		}
		if err != nil {
			failed[ids[next]] = err
			group = nil
			more = false
			end = next + 1
		}
		for id, r := range group {
			if prev, ok := results[id]; ok && continuing && id == ids[next] {
				r = *mergeSync(&prev, &r)
			}
			results[id] = r
			if len(r.Enrolled)+len(r.Unenrolled)+len(r.Cancelled)+r.TasksCreated > 0 {
				changed = true
			}
		}
		next, continuing = end, more
	}
	return changed
}

// prefetchMin is the least number of users a sync enrolls or unenrolls for
// which it reads what it needs of them at once.
const prefetchMin = 16

// A transaction of syncs ends after the sync that takes it past groupTasks
// tasks created or groupTime spent: long enough to share the cost of a
// commit, short enough not to keep other writers waiting long.
const (
	groupTasks = 32768
	groupTime  = 3 * time.Second
)

// planMany plans the profiles ids from one view of the store and splits
// them into those with something to do (or paused: their sync records the
// skip) and the quiet ones, each in the order of ids. It sets in errs the
// number of users each profile's expression could not be evaluated for,
// and, when users is not nil, the users each busy profile's plan changes.
func (o *op) planMany(ids []string, errs map[string]int, users map[string][]string) (busy, quiet []string, err error) {
	all, err := o.tx.Profiles(o.ctx)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*roster.Profile, len(all))
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	ids = dependencyOrder(ids, byID)
	var ps, every []*roster.Profile
	for _, id := range ids {
		p, ok := byID[id]
		if !ok {
			continue // deleted since: its own sync fails, not the others'
		}
		if p.Sync.State != roster.AutomationPaused {
			ps = append(ps, p)
		}
	}
	// every: the profiles a pass may sync, and any other of ps (one whose
	// automation is off: its sync says so).
	among := make(map[string]bool, len(ps))
	for _, p := range ps {
		among[p.ID] = true
	}
	for i := range all {
		if p := &all[i]; p.Automation.Enabled && p.Sync.State != roster.AutomationPaused {
			every = append(every, p)
			delete(among, p.ID)
		}
	}
	for _, p := range ps {
		if among[p.ID] {
			every = append(every, p)
		}
	}
	settings, err := o.tenant()
	if err != nil {
		return nil, nil, err
	}
	v, done, err := o.syncView(settings, ps, every)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	// Planning is pure: the profiles are planned on every core.
	acts := make([]bool, len(ps))
	nerrs := make([]int, len(ps))
	changes := make([][]string, len(ps))
	workers := min(runtime.GOMAXPROCS(0), len(ps))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var in roster.PlanInput
			for i := w; i < len(ps); i += workers {
				// Most profiles of a pass are quiet: the view tells
				// without the planner's input.
				if quiet, errs := v.Quiet(i); quiet {
					nerrs[i] = errs
					continue
				}
				v.Fill(i, &in)
				plan := roster.PlanSync(in)
				acts[i] = !plan.Empty() || plan.Pause
				nerrs[i] = in.Errors
				if users != nil && acts[i] {
					changes[i] = planUsers(&plan, o.e.lockKeys)
				}
			}
		})
	}
	wg.Wait()
	active := make(map[string]bool, len(ids))
	for i, p := range ps {
		active[p.ID] = acts[i]
		errs[p.ID] = nerrs[i]
		if changes[i] != nil {
			users[p.ID] = changes[i]
		}
	}
	for _, id := range ids {
		// A paused or deleted profile was not planned.
		if act, planned := active[id]; act || !planned {
			busy = append(busy, id)
		} else {
			quiet = append(quiet, id)
		}
	}
	return busy, quiet, nil
}

// dependencyOrder returns ids with each profile after the profiles of ids
// whose membership its rule reads (user.member_of, or a membership
// entitlement it names), and otherwise in their order: a profile's sync
// then sees the memberships the same pass gives. Apply refuses cycles; one
// found anyway is broken where it is met.
func dependencyOrder(ids []string, byID map[string]*roster.Profile) []string {
	in := set(ids)
	out := make([]string, 0, len(ids))
	state := map[string]int{} // 1: being visited, 2: placed
	var visit func(id string)
	visit = func(id string) {
		if state[id] != 0 {
			return
		}
		state[id] = 1
		if p, ok := byID[id]; ok {
			for _, e := range p.Automation.RuleEntitlements() {
				app, local, _ := roster.SplitEntitlementID(e)
				if app == roster.BuiltinApp && in[local] {
					visit(local)
				}
			}
		}
		state[id] = 2
		out = append(out, id)
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}

// syncableProfile returns profile id when it is to be synced now, nil when
// it is not (see syncable).
func (o *op) syncableProfile(id string, scheduled bool) (*roster.Profile, error) {
	p, err := o.profile(id)
	if err != nil {
		return nil, err
	}
	if ok, err := o.syncable(p, scheduled); err != nil || !ok {
		return nil, err
	}
	return p, nil
}

// syncable reports whether p may be synced now: automations on and p's
// enabled, and, for a scheduled sync, p still due (another replica may have
// synced it since it was found due).
func (o *op) syncable(p *roster.Profile, scheduled bool) (bool, error) {
	if scheduled {
		return o.due(p)
	}
	return o.checkCanSync(p) == nil, nil
}

// checkCanSync refuses a sync that the kill switch or the profile's own
// setting forbids.
func (o *op) checkCanSync(p *roster.Profile) error {
	s, err := o.tenant()
	if err != nil {
		return err
	}
	if !s.AutomationsEnabled {
		return roster.Errorf(roster.ECONFLICT, "membership automations are turned off tenant-wide (settings.automations_enabled: false)")
	}
	if !p.Automation.Enabled {
		return roster.Errorf(roster.ECONFLICT, "the membership automation of profile %s is not enabled", p.ID)
	}
	return nil
}

// planInput builds the planner's view of one profile.
func (o *op) planInput(p *roster.Profile) (roster.PlanInput, error) {
	s, err := o.tenant()
	if err != nil {
		return roster.PlanInput{}, err
	}
	in := roster.PlanInput{Profile: p.ID, Mode: p.Automation.Mode, Safeguard: p.Automation.Safeguard, Thresholds: s.Safeguard}
	var holders []string
	if p.Automation.Expression != "" {
		// Who matches an expression is kept across syncs (syncview.Matches):
		// reading what changed since is all it takes. The users it gives
		// are active and not excluded.
		holders, in.Errors, err = syncview.Matching(o.ctx, o.tx, p, o.e.matches, &o.journal)
	} else {
		holders, err = o.tx.Holders(o.ctx, p.Automation.AnyEntitlement)
	}
	if err != nil {
		return in, err
	}
	if in.Members, err = o.tx.Members(o.ctx, p.ID); err != nil {
		return in, err
	}
	open, err := o.tx.OpenTaskRefs(o.ctx, roster.EnrollmentEntitlement(p.ID))
	if err != nil {
		return in, err
	}
	// Only the statuses of the users this profile concerns are read.
	concerned := slices.Clone(holders)
	for _, m := range in.Members {
		concerned = append(concerned, m.User)
	}
	for _, t := range open {
		concerned = append(concerned, t.User)
		if t.Kind == roster.TaskGrant {
			in.OpenEnrollments = append(in.OpenEnrollments, t)
		} else {
			in.OpenUnenrollments = append(in.OpenUnenrollments, t)
		}
	}
	if in.Disabled, err = o.tx.DisabledUsers(o.ctx, sortedUnique(concerned)); err != nil {
		return in, err
	}
	disabled, excluded := set(in.Disabled), set(p.Automation.ExcludedUsers)
	for _, u := range holders {
		if !disabled[u] && !excluded[u] {
			in.Matching = append(in.Matching, u)
		}
	}
	if in.Denials, err = o.tx.Denials(o.ctx, p.ID); err != nil {
		return in, err
	}
	in.RecentRemovals, err = o.tx.CountRemovals(o.ctx, p.ID, o.now.Add(-roster.SafeguardWindow))
	return in, err
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// syncPart plans one sync of p and applies it, or pauses it, as far as one
// transaction goes: a sync with more to do than the engine's sync chunk of
// work (see Config.SyncChunk) applies that much, reports more, and is
// carried on by the next part in the next transaction, planned afresh from
// what the parts before committed. Planning is level-based, so the parts
// never repeat or miss an enrollment, and a crash between two parts leaves
// the rest to the next sync. prev is what the sync's parts before did (nil
// for the first part): the safeguard judged the whole sync then, and is not
// asked again of the rest (removals the parts before made would count
// twice: once in the rolling hour, once against the members they left).
func (o *op) syncPart(p *roster.Profile, prev *roster.SyncResult) (res *roster.SyncResult, more bool, err error) {
	return o.syncUpTo(p, prev, o.e.syncChunk)
}

// sync plans and applies one whole sync of p in the op's transaction,
// however much it does: for a plan, whose transaction rolls back (see
// changeplan.go).
func (o *op) sync(p *roster.Profile) (*roster.SyncResult, error) {
	res, _, err := o.syncUpTo(p, nil, 0)
	return res, err
}

// syncUpTo is syncPart with a budget of work (0: no bound).
func (o *op) syncUpTo(p *roster.Profile, prev *roster.SyncResult, budget int) (res *roster.SyncResult, more bool, err error) {
	res = &roster.SyncResult{Profile: p.ID, Enrolled: []string{}, Unenrolled: []string{}, Cancelled: []int64{}, At: o.now}
	if prev != nil {
		res.At = prev.At
	}
	// This sync sees every change committed before it, and those its
	// transaction made so far: it answers the profile's mark, if any.
	if paused, err := o.beginSync(p, res, true); err != nil {
		return nil, false, err
	} else if paused {
		return res, false, nil
	}
	in, mark, err := o.keptPlanInput(p)
	if err != nil {
		return nil, false, err
	}
	if prev != nil {
		in.Safeguard = false
	}
	plan := roster.PlanSync(in)
	// The plan may change users this transaction did not lock: they are
	// locked, their state read again, and the plan made again.
	for {
		users, again, err := o.lockPlan(p, &plan)
		if err != nil {
			return nil, false, err
		}
		if again {
			in, err = o.planInput(p)
		} else if len(users) > 0 {
			err = o.refreshPlanInput(p, &in, users, nil)
		} else {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if prev != nil {
			in.Safeguard = false
		}
		plan = roster.PlanSync(in)
	}
	res.Errors = in.Errors
	o.keepInput(p, mark, in)
	if o.planned != nil {
		o.planned.sync(p, in, plan)
	}
	if plan.Pause {
		return res, false, o.pause(p, plan, res)
	}
	if more, err = o.applyPlan(p, plan, res, budget); err != nil {
		return nil, false, err
	}
	return res, more, o.recordSync(p, res, prev)
}

// beginSync begins, in the op's transaction, a part of a sync of p whose
// result is res: it marks the profiles what the transaction changed so far
// concerns (the part sees those changes), answers p's mark when answer is
// set, and reports whether p is paused, which res then says.
func (o *op) beginSync(p *roster.Profile, res *roster.SyncResult, answer bool) (paused bool, err error) {
	if err := o.markChanged(); err != nil {
		return false, err
	}
	if answer {
		if err := o.tx.ClearTrigger(o.ctx, p.ID); err != nil {
			return false, err
		}
	}
	if p.Sync.State != roster.AutomationPaused {
		return false, nil
	}
	res.Paused = true
	o.after = append(o.after, func() { o.e.metrics.syncs.WithLabelValues("skipped").Inc() })
	return true, nil
}

// applyPlan carries out a plan, or, with a budget above 0, as much of it as
// takes budget units of work — a task created, a user enrolled, unenrolled
// or whose task is cancelled, each one unit — and reports whether some is
// left. A user's enrollment or unenrollment is never split.
func (o *op) applyPlan(p *roster.Profile, plan roster.Plan, res *roster.SyncResult, budget int) (more bool, err error) {
	before := o.created
	defer func() { res.TasksCreated = o.created - before }()
	steps := 0
	spent := func() bool {
		steps++
		return budget > 0 && steps+o.created-before >= budget
	}
	for i, c := range plan.Cancel {
		t, err := o.tx.Task(o.ctx, c.Task)
		if err != nil {
			return false, err
		}
		if err := o.cancel(t, c.Reason); err != nil {
			return false, err
		}
		res.Cancelled = append(res.Cancelled, c.Task)
		if spent() {
			return i < len(plan.Cancel)-1 || len(plan.Enroll)+len(plan.Unenroll) > 0, nil
		}
	}
	for _, d := range plan.ClearDenials {
		if err := o.tx.DeleteDenial(o.ctx, d.Profile, d.User, d.Kind); err != nil {
			return false, err
		}
	}
	membersOnly := p.Automation.Mode == roster.ModeSyncMembersOnly
	ents := append([]string{roster.EnrollmentEntitlement(p.ID)}, p.Entitlements...)
	// What enrolling and unenrolling many users looks up, read at once a
	// window of users at a time (for a few, reading as they go is quicker).
	users := append(slices.Clone(plan.Enroll), plan.Unenroll...)
	for i, u := range users {
		if i%prefetchWindow == 0 && len(users) >= prefetchMin {
			if err := o.prefetch(users[i:min(i+prefetchWindow, len(users))], len(plan.Enroll)-i, ents); err != nil {
				return false, err
			}
		}
		if i < len(plan.Enroll) {
			if err := o.enrollByRule(p, u, membersOnly); err != nil {
				return false, err
			}
			res.Enrolled = append(res.Enrolled, u)
		} else {
			if err := o.unenrollByRule(p, u, membersOnly); err != nil {
				return false, err
			}
			res.Unenrolled = append(res.Unenrolled, u)
		}
		if spent() {
			return i < len(users)-1, nil
		}
	}
	return false, nil
}

// prefetchWindow is how many users' state applyPlan reads at once.
const prefetchWindow = 512

// enrollByRule enrolls user in p, whose rule matches them: at once with
// sync_members_only, through an enrollment task otherwise.
func (o *op) enrollByRule(p *roster.Profile, u string, membersOnly bool) error {
	if !membersOnly {
		_, _, err := o.startEnrollment(p, u, roster.OriginAutomation, ActorAutomation, "matches the rule of profile "+p.ID)
		return err
	}
	if err := o.addMember(p, u, roster.MemberAutomation, "matches the rule of profile "+p.ID); err != nil {
		return err
	}
	for _, e := range p.Entitlements {
		if _, err := o.justify(p, u, e); err != nil {
			return err
		}
	}
	return nil
}

// unenrollByRule unenrolls user from p, whose rule no longer matches them:
// at once with sync_members_only (the access stays), through an
// unenrollment task otherwise.
func (o *op) unenrollByRule(p *roster.Profile, u string, membersOnly bool) error {
	if membersOnly {
		if err := o.removeMember(p, u, "no longer matches the rule of profile "+p.ID); err != nil {
			return err
		}
		if err := o.unjustify(p, u, "no longer a member of profile "+p.ID+" (members only: the access stays)"); err != nil {
			return err
		}
	} else if _, _, err := o.startUnenrollment(p, u, roster.OriginAutomation, ActorAutomation, "no longer matches the rule of profile "+p.ID); err != nil {
		return err
	}
	return o.tx.AddRemoval(o.ctx, p.ID, u, o.now)
}

// recordSync saves the outcome of a sync on the profile and audits it: res
// is what this part of the sync did, prev what its parts before did (nil
// for none). The profile's last sync sums the parts; each part's event lists
// what that part did.
func (o *op) recordSync(p *roster.Profile, res, prev *roster.SyncResult) error {
	o.noteSync(p, res, prev)
	if err := o.putProfileSync(p); err != nil {
		return err
	}
	o.after = append(o.after, func() { o.e.metrics.syncs.WithLabelValues("applied").Inc() })
	if len(res.Enrolled)+len(res.Unenrolled)+len(res.Cancelled)+res.TasksCreated == 0 {
		return nil // a sync that finds nothing to do changes nothing worth an event
	}
	return o.audit(roster.ActionProfileSynced, "profile", p.ID, "", map[string]any{
		"enrolled": res.Enrolled, "unenrolled": res.Unenrolled, "cancelled": res.Cancelled, "tasks_created": res.TasksCreated,
	})
}

// noteSync sets in p's sync state the outcome of a sync: res, after the
// parts before it (prev).
func (o *op) noteSync(p *roster.Profile, res, prev *roster.SyncResult) {
	now := o.now
	p.Sync.LastAt = &now
	p.Sync.Last = mergeSync(prev, res).Summary()
	if p.Sync.State == "" {
		p.Sync.State = roster.AutomationActive
	}
}

// pause holds a sync the safeguard stopped: nothing is applied, the plan is
// staged for review, an alert is recorded and the admins are told.
func (o *op) pause(p *roster.Profile, plan roster.Plan, res *roster.SyncResult) error {
	now := o.now
	res.Paused = true
	p.Sync.State = roster.AutomationPaused
	p.Sync.PausedAt = &now
	p.Sync.Staged = &roster.Staged{Enroll: orEmpty(plan.Enroll), Unenroll: orEmpty(plan.Unenroll),
		Members: plan.Members, RecentRemovals: plan.RecentRemovals}
	p.Sync.LastAt = &now
	p.Sync.Last = res.Summary()
	if err := o.putProfile(p); err != nil {
		return err
	}
	o.after = append(o.after, func() {
		o.e.metrics.syncs.WithLabelValues("paused").Inc()
		o.e.metrics.pauses.Inc()
	})
	data := map[string]any{"staged_enroll": p.Sync.Staged.Enroll, "staged_unenroll": p.Sync.Staged.Unenroll}
	if err := o.audit(roster.ActionSafeguardPaused, "profile", p.ID, plan.PauseReason, data); err != nil {
		return err
	}
	msg := fmt.Sprintf("Roster paused the membership sync of access profile %q: %s. %d enrollments and %d removals are staged for review; resume or edit the automation.",
		p.ID, plan.PauseReason, len(plan.Enroll), len(plan.Unenroll))
	return o.alertAdmins("profile", p.ID, msg, map[string]any{
		"profile":         p.ID,
		"staged_enroll":   len(plan.Enroll),
		"staged_unenroll": len(plan.Unenroll),
	})
}

// alertAdmins tells the admins about an object that needs them: a
// notify.admins event, and a Slack message when a webhook is configured.
// fields are added to the Slack payload beside its text.
func (o *op) alertAdmins(objectType, objectID, msg string, fields map[string]any) error {
	admins, err := o.tx.Admins(o.ctx)
	if err != nil {
		return err
	}
	if err := o.audit(roster.ActionNotifyAdmins, objectType, objectID, msg, map[string]any{"recipients": admins}); err != nil {
		return err
	}
	s, err := o.tenant()
	if err != nil {
		return err
	}
	target := s.SlackWebhookURL
	if s.SlackWebhookURLEnv != "" {
		// The URL is read when the message is sent; the outbox holds the
		// variable's name, never the URL.
		target = envTarget + s.SlackWebhookURLEnv
	}
	if target == "" {
		return nil
	}
	body := map[string]any{"text": msg}
	for k, v := range fields {
		body[k] = v
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return o.enqueue(&roster.Notification{At: o.now, Channel: "slack", Target: target, Payload: string(payload), NextAt: o.now})
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// Resume applies the staged plan of a paused profile, as far as it still
// holds, and lifts the pause (admins).
func (e *Engine) Resume(ctx context.Context, profile string) (*roster.SyncResult, error) {
	var res *roster.SyncResult
	err := e.update(ctx, func(o *op) error {
		if _, err := o.requireAdmin("resume syncs"); err != nil {
			return err
		}
		p, err := o.profile(profile)
		if err != nil {
			return err
		}
		if p.Sync.State != roster.AutomationPaused {
			return roster.Errorf(roster.ECONFLICT, "the sync of profile %s is not paused", p.ID)
		}
		if err := o.checkCanSync(p); err != nil {
			return err
		}
		staged := p.Sync.Staged
		if staged == nil {
			staged = &roster.Staged{}
		}
		p.Sync.State, p.Sync.Staged, p.Sync.PausedAt = roster.AutomationActive, nil, nil
		in, err := o.planInput(p)
		if err != nil {
			return err
		}
		plan := roster.PlanSync(in)
		plan.Enroll = intersect(plan.Enroll, staged.Enroll)
		plan.Unenroll = intersect(plan.Unenroll, staged.Unenroll)
		res = &roster.SyncResult{Profile: p.ID, Enrolled: []string{}, Unenrolled: []string{}, Cancelled: []int64{}, At: o.now}
		if err := o.audit(roster.ActionSafeguardResumed, "profile", p.ID, "an admin reviewed the staged plan",
			map[string]any{"staged_enroll": staged.Enroll, "staged_unenroll": staged.Unenroll, "still_holding_enroll": plan.Enroll, "still_holding_unenroll": plan.Unenroll}); err != nil {
			return err
		}
		if _, err := o.applyPlan(p, plan, res, 0); err != nil {
			return err
		}
		return o.recordSync(p, res, nil)
	})
	return res, err
}

func intersect(a, b []string) []string {
	in := set(b)
	out := []string{}
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// Scheduler syncs every profile with automation enabled once per the tenant's
// sync_interval, the profiles due in a run together, several in one
// transaction. Tests call RunOnce after moving the clock.
type Scheduler struct {
	*Worker[string]
	// marks are access log marks (roster.AccessLogStore) taken every
	// quarter of accessLogKept, oldest first, with when.
	marks []accessMark
}

// accessMark is an access log mark, and when it was taken.
type accessMark struct {
	at   time.Time
	mark int64
}

// pruneAccessLog takes a mark of the access log every quarter of
// accessLogKept, and forgets what was logged before the newest mark
// taken at least accessLogKept, or two of the tenant's sync intervals,
// ago: the view a scheduled pass keeps (keptView) is then still brought up
// to date at the next pass, even if the scheduler took a mark just after
// it was read. Only time since the process started counts (a new process
// waits that long to prune): marks are the store's, not times, and the
// engine's clock, which tests move, is not used.
func (s *Scheduler) pruneAccessLog(ctx context.Context) error {
	now := time.Now()
	if n := len(s.marks); n > 0 && now.Sub(s.marks[n-1].at) < accessLogKept/4 {
		return nil
	}
	return s.engine.update(ctx, func(o *op) error {
		t, err := o.tenant()
		if err != nil {
			return err
		}
		kept := max(accessLogKept, 2*time.Duration(t.SyncInterval))
		mark, err := o.tx.AccessMark(o.ctx)
		if err != nil {
			return err
		}
		old := 0
		for old < len(s.marks) && now.Sub(s.marks[old].at) >= kept {
			old++
		}
		if old > 0 {
			if err := o.tx.PruneAccessLog(o.ctx, s.marks[old-1].mark); err != nil {
				return err
			}
		}
		s.marks = append(s.marks[old:], accessMark{at: now, mark: mark})
		return nil
	})
}

// NewScheduler returns a scheduler over e that looks for due profiles every
// tick.
func NewScheduler(e *Engine, tick time.Duration) *Scheduler {
	s := &Scheduler{}
	s.Worker = newWorker(e, tick, workerConfig{name: "scheduler", lease: "scheduler"}, s)
	return s
}

// The scheduler's due profiles are synced together, several in one
// transaction.
var _ batchJob[string] = (*Scheduler)(nil)

// accessLogKept is how long the access log (roster.AccessLogStore) keeps a
// change, at least (see pruneAccessLog): a profile not synced for that
// long is read whole at its next sync.
const accessLogKept = time.Hour

// due lists the profiles whose scheduled sync is due. Every quarter of
// accessLogKept, it first prunes the access log.
func (s *Scheduler) due(ctx context.Context) ([]string, error) {
	if err := s.pruneAccessLog(ctx); err != nil {
		return nil, err
	}
	var due []string
	err := s.engine.view(ctx, func(o *op) error {
		due = nil
		ps, err := o.tx.Profiles(o.ctx)
		if err != nil {
			return err
		}
		for i := range ps {
			if ok, err := o.due(&ps[i]); err != nil {
				return err
			} else if ok {
				due = append(due, ps[i].ID)
			}
		}
		due, err = o.e.unclaimed(o.ctx, o.tx, o.now, due)
		return err
	})
	return due, err
}

// process syncs one due profile.
func (s *Scheduler) process(ctx context.Context, id string) (bool, error) {
	out := s.processAll(ctx, []string{id})[0]
	return out.done, out.err
}

// processAll syncs the due profiles together.
func (s *Scheduler) processAll(ctx context.Context, ids []string) []outcome {
	results, failed := s.engine.syncMany(ctx, ActorAutomation, ids, true)
	outs := make([]outcome, len(ids))
	for i, id := range ids {
		_, synced := results[id]
		outs[i] = outcome{done: synced, err: failed[id]}
	}
	return outs
}

func (s *Scheduler) key(id string) string { return "profile " + id }

// due reports whether p's scheduled sync is due: automations on, the profile's
// automation enabled and not paused, and sync_interval passed since its last
// sync.
func (o *op) due(p *roster.Profile) (bool, error) {
	t, err := o.tenant()
	if err != nil {
		return false, err
	}
	if !t.AutomationsEnabled || !p.Automation.Enabled || p.Sync.State == roster.AutomationPaused {
		return false, nil
	}
	return p.Sync.LastAt == nil || !o.now.Before(p.Sync.LastAt.Add(time.Duration(t.SyncInterval))), nil
}

// ChangeSync syncs the profiles that changes have marked (see
// op.triggerSyncs): a grant added or removed, or a user disabled, reaches the
// profiles whose rule it can affect at once when this replica committed it,
// and within one tick when another did, while the Scheduler's interval sync
// stays the safety net. It runs on the replica holding its lease. Tests call
// RunOnce; it syncs every marked profile and returns how many it synced.
type ChangeSync struct {
	*Worker[string]
}

// NewChangeSync returns a change-driven sync over e that looks every tick;
// changes within one tick are synced together.
func NewChangeSync(e *Engine, tick time.Duration) *ChangeSync {
	c := &ChangeSync{}
	// A sync can mark other profiles (enrolling in A grants
	// access-profiles/A, which another rule may name); such cascades settle,
	// but one run does at most maxChangePasses passes and leaves the rest to
	// the next tick.
	c.Worker = newWorker(e, tick, workerConfig{name: "changes", lease: "changes", wake: e.marked, passes: maxChangePasses}, c)
	return c
}

// maxChangePasses bounds the passes of one ChangeSync run.
const maxChangePasses = 20

// due lists marked profiles.
func (c *ChangeSync) due(ctx context.Context) ([]string, error) {
	var ids []string
	err := c.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		if ids, err = tx.TriggeredProfiles(ctx, 500); err != nil {
			return err
		}
		ids, err = c.engine.unclaimed(ctx, tx, c.engine.clock.Now(), ids)
		return err
	})
	return ids, err
}

// process syncs one marked profile and reports whether it was synced. The
// mark of a profile that cannot sync now (automation off, paused, kill
// switch) is dropped: turning automation on again syncs at once, and resume
// replans.
func (c *ChangeSync) process(ctx context.Context, id string) (bool, error) {
	synced := false
	var total *roster.SyncResult
	planned := c.engine.firstLocks(ctx, id)
	for more := true; more; {
		var part *roster.SyncResult
		err := c.engine.updateAs(ctx, ActorAutomation, func(o *op) error {
			synced, more, part = false, false, nil
			o.keep = true
			if _, err := o.lockSyncs([]string{id}, planned); err != nil {
				return err
			}
			p, err := o.profile(id)
			if roster.ErrorCode(err) == roster.ENOTFOUND {
				return o.tx.ClearTrigger(o.ctx, id)
			} else if err != nil {
				return err
			}
			if o.checkCanSync(p) != nil {
				return o.tx.ClearTrigger(o.ctx, id)
			}
			res, m, err := o.syncPart(p, total)
			if err != nil {
				return err
			}
			synced, more, part = !res.Paused, m, res
			return nil
		})
		if err != nil {
			return false, err
		}
		if part != nil {
			total = mergeSync(total, part)
		}
	}
	return synced, nil
}

func (c *ChangeSync) key(id string) string { return "profile " + id }
