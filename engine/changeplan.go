package engine

// Plan before apply: the apply of a file and the syncs it sets off, run in a
// transaction that is rolled back, with what they did recorded on the way.
// Because the plan runs the engine's own apply, sync and workflow, it is
// exact whatever a profile's rule is made of.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine/internal/same"
)

// Plan says what applying req's file would do now, and changes nothing
// (admins): the file is applied, the syncs the apply sets off are run — those
// of the profiles saved with their automation enabled, then, as the
// change-driven sync would, those of every profile marked — and the
// transaction is rolled back. No event, message, webhook call or metric
// comes of it.
func (e *Engine) Plan(ctx context.Context, req roster.ApplyRequest) (*roster.ChangePlan, error) {
	var plan *roster.ChangePlan
	err := e.store.Update(ctx, func(tx roster.Tx) (err error) {
		o := e.newOp(ctx, tx, roster.ActorFromContext(ctx))
		// A plan is rolled back: what its syncs taught the engine's
		// matches is undone before.
		defer o.journal.Undo()
		o.planned = &planRecorder{dry: true, summary: req.Summary}
		old, err := o.rules()
		if err != nil {
			return err
		}
		a, err := o.applyFile(req, &roster.ApplyResult{Changes: []string{}})
		if err != nil {
			return err
		}
		if _, err := o.settle(a.toSync); err != nil {
			return err
		}
		if plan, err = o.planned.result(o, old); err != nil {
			return err
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return nil, err
	}
	return plan, nil
}

// rules returns every profile's rule entitlements, by profile, as they are
// before a plan's apply: a member who no longer matches is told which of
// them left the rule.
func (o *op) rules() (map[string][]string, error) {
	ps, err := o.tx.Profiles(o.ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(ps))
	for _, p := range ps {
		out[p.ID] = p.Automation.AnyEntitlement
	}
	return out, nil
}

// settle runs in the op's transaction the syncs an apply sets off: first
// those of toSync (profiles saved with their automation enabled, which
// Apply syncs after its commit), then, pass after pass as the change-driven
// sync does, those of every profile marked, until none is. It returns the
// results of toSync's syncs.
func (o *op) settle(toSync []string) ([]roster.SyncResult, error) {
	if err := o.markChanged(); err != nil {
		return nil, err
	}
	var synced []roster.SyncResult
	for _, id := range toSync {
		p, err := o.profile(id)
		if err != nil {
			return nil, err
		}
		if o.checkCanSync(p) != nil {
			continue // the kill switch is on: the rule is saved, nothing runs
		}
		res, err := o.sync(p)
		if err != nil {
			return nil, fmt.Errorf("sync profile %s: %w", id, err)
		}
		synced = append(synced, *res)
	}
	// The change-driven sync acts as automation, with no token.
	actor, via := o.actor, o.via
	o.actor, o.via = ActorAutomation, roster.Actor{}
	defer func() { o.actor, o.via = actor, via }()
	for range maxChangePasses {
		if err := o.markChanged(); err != nil {
			return nil, err
		}
		ids, err := o.tx.TriggeredProfiles(o.ctx, 500)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			p, err := o.profile(id)
			if roster.ErrorCode(err) == roster.ENOTFOUND || err == nil && o.checkCanSync(p) != nil {
				if err := o.tx.ClearTrigger(o.ctx, id); err != nil {
					return nil, err
				}
				continue
			} else if err != nil {
				return nil, err
			}
			if _, err := o.sync(p); err != nil {
				return nil, fmt.Errorf("sync profile %s: %w", id, err)
			}
		}
	}
	return synced, nil
}

// planRecorder is what an op running a plan records: the objects the apply
// adds or changes, the tasks created, and each sync's plan.
type planRecorder struct {
	// dry is set on a plan, which is rolled back: the op records no audit
	// events.
	dry bool
	// summary is set on a plan asked for in summary: tasks done or ended
	// at once are only counted (in done), and the syncs' inputs are not
	// kept (ChangePlan.Summary).
	summary   bool
	changes   []roster.ObjectChange
	unchanged int
	tasks     []plannedTask
	syncs     []plannedSync
	// done counts, by profile, the tasks of a summary that were closed
	// when created, and revoked lists the users whose grants they end.
	done    map[string]*roster.PlanCounts
	revoked map[string][]string
	// closedIDs numbers, down from -1, the tasks of a dry plan closed when
	// created, whose rows are not written (op.saveNewTask).
	closedIDs int64
}

type plannedTask struct {
	id      int64
	profile string
	task    roster.PlannedTask
}

type plannedSync struct {
	profile *roster.Profile
	// in is the sync's input; a summary keeps only its RecentRemovals.
	// members counts its Members.
	in       roster.PlanInput
	members  int
	plan     roster.Plan
	disabled map[string]bool
}

// change records an object the apply adds (d nil) or changes.
func (r *planRecorder) change(kind, id string, d *same.Diff) {
	c := roster.ObjectChange{Kind: kind, ID: id, Op: roster.ChangeAdd, Fields: map[string]roster.FieldChange{}}
	if d != nil {
		c.Op = roster.ChangeUpdate
		for k := range d.Before {
			before, _ := d.Before[k].(map[string]any)
			after, _ := d.After[k].(map[string]any)
			if before == nil || after == nil {
				c.Fields[k] = roster.FieldChange{Before: d.Before[k], After: d.After[k]}
				continue
			}
			// An object (a profile's automation): the fields in it that
			// changed, as "automation.any_entitlement".
			for sub := range maps.Keys(before) {
				if _, ok := after[sub]; !ok {
					after[sub] = nil
				}
			}
			for sub, a := range after {
				// What an expression reads is derived from it: its change
				// is the expression's.
				if sub == "expression_reads" {
					continue
				}
				if !same.Content(before[sub], a) {
					c.Fields[k+"."+sub] = roster.FieldChange{Before: before[sub], After: a}
				}
			}
		}
	}
	r.changes = append(r.changes, c)
}

// task records a task just created.
func (r *planRecorder) task(t *roster.Task) {
	if r.summary && !t.State.Open() {
		if r.done == nil {
			r.done, r.revoked = map[string]*roster.PlanCounts{}, map[string][]string{}
		}
		c := r.done[t.Profile]
		if c == nil {
			c = &roster.PlanCounts{}
			r.done[t.Profile] = c
		}
		c.Tasks++
		if isRevocation(t.Kind, t.Entitlement) {
			c.Revoke++
			r.revoked[t.Profile] = append(r.revoked[t.Profile], t.User)
		}
		return
	}
	r.tasks = append(r.tasks, plannedTask{id: t.ID, profile: t.Profile, task: roster.PlannedTask{
		Kind: t.Kind, User: t.User, Entitlement: t.Entitlement, Approvers: append([]string{}, t.Approvers...),
		State: t.State, Origin: t.Origin,
	}})
}

// sync records the plan a sync of p computed from in.
func (r *planRecorder) sync(p *roster.Profile, in roster.PlanInput, plan roster.Plan) {
	cp := *p
	s := plannedSync{profile: &cp, members: len(in.Members), plan: plan}
	if r.summary {
		s.in = roster.PlanInput{RecentRemovals: in.RecentRemovals}
	} else {
		s.in, s.disabled = in, set(in.Disabled)
	}
	r.syncs = append(r.syncs, s)
}

// result puts together what was recorded. old holds each profile's rule
// entitlements before the apply. A summary's profiles have their Counts
// alone, and no reasons or names are read for it.
func (r *planRecorder) result(o *op, old map[string][]string) (*roster.ChangePlan, error) {
	out := &roster.ChangePlan{Changes: r.changes, Unchanged: r.unchanged, Profiles: []roster.ProfilePlan{}, Summary: r.summary}
	if out.Changes == nil {
		out.Changes = []roster.ObjectChange{}
	}
	byID := map[string]*roster.ProfilePlan{}
	// unenroll and revoked: per profile, the users losing access, for
	// Losing.
	unenroll, revoked := map[string][]string{}, maps.Clone(r.revoked)
	if revoked == nil {
		revoked = map[string][]string{}
	}
	get := func(id string) *roster.ProfilePlan {
		if pp, ok := byID[id]; ok {
			return pp
		}
		pp := &roster.ProfilePlan{Profile: id, Enroll: []string{}, Unenroll: []string{}, Tasks: []roster.PlannedTask{}, Revoke: []roster.PlannedRevoke{}}
		byID[id] = pp
		return pp
	}
	for id, c := range r.done {
		get(id).Counts = *c
	}
	for _, s := range r.syncs {
		if s.plan.Empty() && !s.plan.Pause {
			continue
		}
		pp := get(s.profile.ID)
		pp.Counts.Enroll += len(s.plan.Enroll)
		pp.Counts.Unenroll += len(s.plan.Unenroll)
		unenroll[pp.Profile] = append(unenroll[pp.Profile], s.plan.Unenroll...)
		v := &roster.SafeguardVerdict{Verdict: roster.VerdictPass, WouldRemove: len(s.plan.Unenroll), Members: s.members, Recent: s.in.RecentRemovals}
		if s.plan.Pause {
			v.Verdict, v.Reason = roster.VerdictPause, s.plan.PauseReason
		}
		if pp.Safeguard == nil || v.Verdict == roster.VerdictPause {
			pp.Safeguard = v
		}
		if r.summary {
			continue
		}
		pp.Enroll = append(pp.Enroll, s.plan.Enroll...)
		pp.Unenroll = append(pp.Unenroll, s.plan.Unenroll...)
		why, err := o.reasons(s, old[s.profile.ID])
		if err != nil {
			return nil, err
		}
		if pp.Why == nil {
			pp.Why = map[string]string{}
		}
		maps.Copy(pp.Why, why)
	}
	for _, t := range r.tasks {
		if t.task.State.Open() {
			// A later sync of the plan may have cancelled it, or passed it
			// to another profile: the plan says how it would stand.
			now, err := o.tx.Task(o.ctx, t.id)
			if err != nil {
				return nil, err
			}
			t.profile, t.task.State, t.task.Approvers = now.Profile, now.State, append([]string{}, now.Approvers...)
		}
		pp := get(t.profile)
		pp.Counts.Tasks++
		if isRevocation(t.task.Kind, t.task.Entitlement) {
			pp.Counts.Revoke++
			revoked[t.profile] = append(revoked[t.profile], t.task.User)
		}
		if r.summary {
			continue
		}
		pp.Tasks = append(pp.Tasks, t.task)
		if isRevocation(t.task.Kind, t.task.Entitlement) {
			pp.Revoke = append(pp.Revoke, roster.PlannedRevoke{User: t.task.User, Entitlement: t.task.Entitlement})
		}
	}
	var users, losing []string
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		pp := byID[id]
		out.Profiles = append(out.Profiles, *pp)
		if !pp.Paused() {
			losing = append(losing, unenroll[id]...)
		}
		losing = append(losing, revoked[id]...)
		if r.summary {
			continue
		}
		users = append(users, pp.Enroll...)
		users = append(users, pp.Unenroll...)
		for _, t := range pp.Tasks {
			users = append(users, t.User)
		}
	}
	out.Losing = len(sortedUnique(losing))
	if len(users) > 0 {
		us, err := o.tx.UsersOf(o.ctx, sortedUnique(users))
		if err != nil {
			return nil, err
		}
		out.Names = make(map[string]string, len(us))
		for _, u := range us {
			out.Names[u.ID] = u.Name
		}
	}
	return out, nil
}

// isRevocation reports whether a task of kind on entitlement ends access
// the plan lists (Revoke): a revocation of an app's entitlement, not of a
// profile's built-in ones.
func isRevocation(kind roster.TaskKind, entitlement string) bool {
	return kind == roster.TaskRevoke && !strings.HasPrefix(entitlement, roster.BuiltinApp+"/")
}

// reasons says, for each user a sync of s would enroll or unenroll, why: the
// rule matches them; or they are disabled, excluded, or no longer match —
// naming the entitlements they hold that left the rule (oldRule is the
// rule's entitlements before the apply).
func (o *op) reasons(s plannedSync, oldRule []string) (map[string]string, error) {
	out := make(map[string]string, len(s.plan.Enroll)+len(s.plan.Unenroll))
	for _, u := range s.plan.Enroll {
		out[u] = "matches the rule"
	}
	if len(s.plan.Unenroll) == 0 {
		return out, nil
	}
	excluded := set(s.profile.Automation.ExcludedUsers)
	left := map[string][]string{}
	for _, ent := range oldRule {
		if slices.Contains(s.profile.Automation.AnyEntitlement, ent) {
			continue
		}
		holders, err := o.tx.Holders(o.ctx, []string{ent})
		if err != nil {
			return nil, err
		}
		for _, u := range holders {
			left[u] = append(left[u], ent)
		}
	}
	for _, u := range s.plan.Unenroll {
		switch {
		case s.disabled[u]:
			out[u] = "disabled"
		case excluded[u]:
			out[u] = "excluded"
		case len(left[u]) > 0:
			out[u] = "no longer matches: " + strings.Join(left[u], ", ") + " left the rule"
		default:
			out[u] = "no longer matches the rule"
		}
	}
	return out, nil
}
