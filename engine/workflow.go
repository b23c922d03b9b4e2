package engine

// The task workflow: creating a task under its policy, its approval steps
// and their approvers, provisioning, and what a done task sets off.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// taskSpec describes a task to create.
type taskSpec struct {
	kind              roster.TaskKind
	user, entitlement string
	origin            roster.Origin
	profile           string
	// policy overrides the entitlement's policy (the profile's enrollment and
	// unenrollment policies, the tenant default for exclusions).
	policy string
	// bypass, when set, skips approval and says why.
	bypass      string
	requestedBy string
	reason      string
}

// defaultRequestSteps is used when neither the entitlement nor the tenant names
// a request policy: one step that resolves to nobody, so the admins decide.
// Nothing is ever granted without a decision by default.
var defaultRequestSteps = []roster.Step{{Approvers: roster.ApproverUsers}}

// policyFor returns the policy a task of this kind on this entitlement runs
// under. An unset revoke policy means revocation needs no approval.
func (o *op) policyFor(spec taskSpec, ent *roster.Entitlement) (string, []roster.Step, error) {
	if spec.bypass != "" {
		return "", []roster.Step{}, nil
	}
	id := spec.policy
	if id == "" {
		if spec.kind == roster.TaskGrant {
			id = ent.RequestPolicy
		} else {
			id = ent.RevokePolicy
		}
	}
	if id == "" {
		s, err := o.tenant()
		if err != nil {
			return "", nil, err
		}
		if spec.kind == roster.TaskGrant {
			id = s.DefaultRequestPolicy
		} else {
			id = s.DefaultRevokePolicy
		}
	}
	if id == "" {
		if spec.kind == roster.TaskGrant {
			return "(admins)", slices.Clone(defaultRequestSteps), nil
		}
		return "(none)", []roster.Step{}, nil
	}
	p, err := o.policy(id)
	if err != nil {
		return "", nil, fmt.Errorf("policy of %s task on %s: %w", spec.kind, spec.entitlement, err)
	}
	return p.ID, p.Steps, nil
}

// createTask creates a task unless an open one already exists for the same
// (user, entitlement, kind), in which case it returns that one and false.
func (o *op) createTask(spec taskSpec) (*roster.Task, bool, error) {
	if open, err := o.openTask(spec.user, spec.entitlement, spec.kind); err == nil {
		return open, false, nil
	} else if roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, false, err
	}
	ent, err := o.entitlement(spec.entitlement)
	if err != nil {
		return nil, false, err
	}
	policy, steps, err := o.policyFor(spec, ent)
	if err != nil {
		return nil, false, err
	}
	if spec.requestedBy == "" {
		spec.requestedBy = o.actor
	}
	t := &roster.Task{
		Kind: spec.kind, User: spec.user, Entitlement: spec.entitlement,
		State: roster.StatePendingApproval, Origin: spec.origin, Profile: spec.profile,
		Policy: policy, Steps: steps, Approvers: []string{},
		Provisioning: ent.Provisioning, Provisioners: []string{},
		Bypass: spec.bypass, RequestedBy: spec.requestedBy, Reason: spec.reason,
		History:   []roster.TaskAction{{At: o.now, Actor: spec.requestedBy, Action: roster.HistoryCreated, Comment: spec.reason}},
		CreatedAt: o.now, UpdatedAt: o.now,
	}
	if spec.bypass != "" {
		t.History = append(t.History, roster.TaskAction{At: o.now, Actor: spec.requestedBy, Action: roster.HistoryApprovalBypassed, Comment: spec.bypass})
	}
	// A task with no approval step and automatic provisioning is done the
	// moment it is created: it is written once, in its final state.
	instant := len(steps) == 0 && t.Provisioning == roster.ProvisionAuto
	if instant {
		o.markDone(t, ActorSystem, "")
	}
	if err := o.saveNewTask(t); err != nil {
		return nil, false, err
	}
	o.created++
	o.tally.create(t.Kind, t.Origin)
	// The event of a task done the moment it is created says so: it is the
	// task's only event (no task.done follows), since nothing happened
	// between the two.
	if err := o.audit(roster.ActionTaskCreated, "task", taskID(t), spec.reason, createdData(t, instant, nil)); err != nil {
		return nil, false, err
	}
	if instant {
		if o.planned != nil {
			o.planned.task(t)
		}
		o.transitioned(roster.StateDone)
		return t, true, o.carryOutInstant(t)
	}
	if err := o.advance(t); err != nil {
		return nil, false, err
	}
	if o.planned != nil {
		o.planned.task(t)
	}
	return t, true, nil
}

func taskID(t *roster.Task) string { return strconv.FormatInt(t.ID, 10) }

// instantTask is a task done the moment it was created, while its effect is
// carried out, with its task.created event (op.instant).
type instantTask struct {
	t  *roster.Task
	ev *roster.Event
	// effects are the events folded into ev so far, and sealed how many
	// of them ev's data holds.
	effects []roster.Effect
	sealed  int
	// outer is the instant task whose carrying out created this one.
	outer *instantTask
}

// carryOutInstant carries out t, done the moment it was created, with the
// events that record what that did to t's own grant and membership folded
// into its task.created event, the op's last (see roster.Event.Effects):
// a grant task's grant.added, an enrollment's profile.member_added and
// the grant that shows it. Carrying out an enrollment creates the
// profile's grant tasks, each folding its own; the events about other
// objects stay events of their own.
func (o *op) carryOutInstant(t *roster.Task) error {
	ev := o.lastEvent()
	if ev == nil || ev.Action != roster.ActionTaskCreated || ev.ObjectID != taskID(t) {
		return o.carryOut(t) // a plan: no events
	}
	i := &instantTask{t: t, ev: ev, outer: o.instant}
	o.instant = i
	defer func() {
		i.seal()
		o.instant = i.outer
	}()
	return o.carryOut(t)
}

// covers reports whether an event of action on the object is one carrying
// out i's task records about the task's own grant or membership, and so is
// folded into its task.created event, which must still be held: a flush
// before it arrives writes it as an event of its own.
func (i *instantTask) covers(action roster.AuditAction, objectType, objectID string, data any) bool {
	if i == nil || i.ev == nil || !slices.Contains(roster.EffectActions, action) {
		return false
	}
	t := i.t
	switch objectType {
	case "grant":
		return objectID == t.User+" "+t.Entitlement
	case "profile":
		if (action != roster.ActionMemberAdded && action != roster.ActionMemberRemoved) ||
			t.Profile == "" || objectID != t.Profile || t.Entitlement != roster.EnrollmentEntitlement(t.Profile) {
			return false
		}
		m, ok := data.(map[string]any)
		return ok && m["user"] == t.User
	}
	return false
}

// fold records f in i's task.created event, once sealed.
func (i *instantTask) fold(f roster.Effect) {
	i.effects = append(i.effects, f)
}

// seal writes the effects folded so far into the data of i's task.created
// event, encoded once when its task is carried out.
func (i *instantTask) seal() {
	if i.ev != nil && i.sealed < len(i.effects) {
		i.ev.Data = createdData(i.t, true, i.effects)
		i.sealed = len(i.effects)
	}
}

// release seals the task.created events of i and the tasks around it, about
// to be written: what comes after is an event of its own.
func (i *instantTask) release() {
	for ; i != nil; i = i.outer {
		i.seal()
		i.ev = nil
	}
}

// createdData is the data of a task.created event: what the task is, and,
// for a task done at once, "state": "done" and the effects folded into it
// (see roster.ActionTaskCreated and roster.Event.Effects). It is encoded by
// hand, in json.Marshal's order of a map's keys: a sync creates tasks by
// the million.
func createdData(t *roster.Task, done bool, effects []roster.Effect) json.RawMessage {
	b := make([]byte, 0, 192)
	field := func(k, v string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(append(appendJSONString(b, k), ':'), v)
	}
	field("bypass", t.Bypass)
	if len(effects) > 0 {
		b = appendEffects(b, effects)
	}
	field("entitlement", t.Entitlement)
	field("kind", string(t.Kind))
	field("origin", string(t.Origin))
	field("policy", t.Policy)
	field("profile", t.Profile)
	if done {
		field("state", string(roster.StateDone))
	}
	field("user", t.User)
	return append(b, '}')
}

// appendEffects appends ,"effects":[…] to b as json.Marshal encodes
// effects: each effect's fields in their names' order, its data (compact
// JSON, as op.audit has it) as it is.
func appendEffects(b []byte, effects []roster.Effect) []byte {
	b = append(b, `,"effects":[`...)
	for i, f := range effects {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `{"action":`...), string(f.Action))
		if len(f.Data) > 0 {
			b = append(append(b, `,"data":`...), f.Data...)
		}
		b = appendJSONString(append(b, `,"object_id":`...), f.ObjectID)
		b = appendJSONString(append(b, `,"object_type":`...), f.ObjectType)
		if f.Reason != "" {
			b = appendJSONString(append(b, `,"reason":`...), f.Reason)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// advance moves a task whose current step is t.Step forward: it resolves the
// step's approvers and waits, or, past the last step, enters provisioning.
func (o *op) advance(t *roster.Task) error {
	if t.Step < len(t.Steps) {
		approvers, note, err := o.resolveStep(t, t.Steps[t.Step])
		if err != nil {
			return err
		}
		t.State = roster.StatePendingApproval
		t.Approvers = approvers
		t.UpdatedAt = o.now
		if note != "" {
			t.History = append(t.History, roster.TaskAction{At: o.now, Actor: ActorSystem, Action: roster.HistoryRoutedToAdmins, Step: t.Step, Comment: note})
			if err := o.audit(roster.ActionTaskRoutedToAdmins, "task", taskID(t), note, map[string]any{"step": t.Step, "approvers": approvers}); err != nil {
				return err
			}
		}
		if err := o.saveTask(t); err != nil {
			return err
		}
		o.transitioned(roster.StatePendingApproval)
		if err := o.audit(roster.ActionNotifyApprovers, "task", taskID(t), fmt.Sprintf("task %d waits on step %d of %d", t.ID, t.Step+1, len(t.Steps)),
			map[string]any{"recipients": approvers, "user": t.User, "entitlement": t.Entitlement, "kind": t.Kind}); err != nil {
			return err
		}
		return o.tellApprovers(t, approvers)
	}
	t.Approvers = []string{}
	switch t.Provisioning {
	case roster.ProvisionManual, roster.ProvisionConnector:
		provisioners, err := o.provisionersFor(t)
		if err != nil {
			return err
		}
		t.State = roster.StatePendingProvisioning
		t.Provisioners = provisioners
		t.UpdatedAt = o.now
		if err := o.saveTask(t); err != nil {
			return err
		}
		o.transitioned(roster.StatePendingProvisioning)
		if t.Provisioning == roster.ProvisionConnector {
			// The app's connector carries it out; admins may complete it by hand.
			o.after = append(o.after, o.e.wakeProvisioner)
			return nil
		}
		if err := o.audit(roster.ActionNotifyProvisioners, "task", taskID(t), fmt.Sprintf("task %d waits to be provisioned", t.ID),
			map[string]any{"recipients": provisioners, "user": t.User, "entitlement": t.Entitlement, "kind": t.Kind}); err != nil {
			return err
		}
		return o.tell(mailProvision, t, provisioners, "")
	default:
		return o.complete(t, ActorSystem, "")
	}
}

func (o *op) transitioned(state roster.TaskState) { o.tally.move(state) }

// taskTally counts tasks created, by kind and origin, and moved, by the
// state entered.
type taskTally struct {
	created map[[2]string]int
	moved   map[roster.TaskState]int
}

func (t *taskTally) create(kind roster.TaskKind, origin roster.Origin) {
	if t.created == nil {
		t.created = map[[2]string]int{}
	}
	t.created[[2]string{string(kind), string(origin)}]++
}

func (t *taskTally) move(state roster.TaskState) {
	if t.moved == nil {
		t.moved = map[roster.TaskState]int{}
	}
	t.moved[state]++
}

// record adds the counts to the metrics.
func (t *taskTally) record(m *metrics) {
	for k, n := range t.created {
		m.created.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
	for state, n := range t.moved {
		m.transitions.WithLabelValues(string(state)).Add(float64(n))
	}
}

// resolveStep returns the users who may act on a step of t. The subject is
// never among them unless the step is self; inactive users are left out. When
// the step resolves to nobody its fallback is used, and when that is empty
// too the admins decide: note then says why.
//
// A step escalated after waiting settings.notifications.escalate_after also
// has the escalation's approvers (see Reminders).
//
// The delegates in force of the approvers are approvers too (withDelegates).
func (o *op) resolveStep(t *roster.Task, s roster.Step) (approvers []string, note string, err error) {
	approvers, note, err = o.resolveDirect(t, s)
	if err != nil {
		return nil, "", err
	}
	approvers, err = o.withDelegates(t, approvers)
	return approvers, note, err
}

// resolveDirect is resolveStep without the approvers' delegates.
func (o *op) resolveDirect(t *roster.Task, s roster.Step) (approvers []string, note string, err error) {
	approvers, note, err = o.resolveBase(t, s)
	if err != nil || !stepHas(t, roster.HistoryEscalated) {
		return approvers, note, err
	}
	added, err := o.escalationApprovers(t, s)
	if err != nil {
		return nil, "", err
	}
	return sortedUnique(append(slices.Clone(approvers), added...)), note, nil
}

// resolveBase resolves a step as its policy says, without escalation.
func (o *op) resolveBase(t *roster.Task, s roster.Step) (approvers []string, note string, err error) {
	subject, err := o.user(t.User)
	if err != nil {
		return nil, "", err
	}
	o.subject = subject // for the messages that tell of the step
	var candidates []string
	switch s.Approvers {
	case roster.ApproverSelf:
		approvers, err := o.eligible([]string{t.User})
		return approvers, "", err
	case roster.ApproverManager:
		if subject.Manager != "" {
			candidates = []string{subject.Manager}
		}
	case roster.ApproverAppOwner:
		app, _, _ := roster.SplitEntitlementID(t.Entitlement)
		a, err := o.tx.App(o.ctx, app)
		if err != nil {
			return nil, "", err
		}
		candidates = a.Owners
	case roster.ApproverUsers:
		candidates = s.Users
	case roster.ApproverEntitlementMembers:
		candidates, err = o.tx.Holders(o.ctx, []string{s.Entitlement})
		if err != nil {
			return nil, "", err
		}
	default:
		return nil, "", fmt.Errorf("task %d: unknown approver kind %q", t.ID, s.Approvers)
	}
	excluded := priorApprovers(t)
	excluded = append(excluded, t.User)
	if approvers, err = o.eligible(candidates, excluded...); err != nil || len(approvers) > 0 {
		return approvers, "", err
	}
	if approvers, err = o.eligible(s.Fallback, excluded...); err != nil || len(approvers) > 0 {
		return approvers, "", err
	}
	admins, err := o.tx.Admins(o.ctx)
	if err != nil {
		return nil, "", err
	}
	approvers, err = o.eligible(admins, excluded...)
	note = fmt.Sprintf("step %d (%s) resolved to nobody eligible (the subject and earlier approvers are left out) and has no eligible fallback, so it goes to the admins", t.Step+1, s.Approvers)
	if len(approvers) == 0 {
		note = fmt.Sprintf("step %d (%s) resolved to nobody eligible, and no admin other than the subject can decide: an admin must cancel the task", t.Step+1, s.Approvers)
	}
	return approvers, note, err
}

// priorApprovers returns who approved an earlier step of t: separation of
// duties keeps them from approving another step of the same task.
func priorApprovers(t *roster.Task) []string {
	var ids []string
	for _, h := range t.History {
		if h.Action == roster.HistoryApproved && h.Step < t.Step {
			ids = append(ids, h.Actor)
			if h.For != "" {
				// A delegate's approval is the person's too.
				ids = append(ids, h.For)
			}
		}
	}
	return ids
}

// eligible keeps the active users of ids, less the excluded ones and the
// auditors (who act on nothing), sorted.
func (o *op) eligible(ids []string, excluded ...string) ([]string, error) {
	out := []string{}
	for _, id := range sortedUnique(ids) {
		if slices.Contains(excluded, id) {
			continue
		}
		u, err := o.user(id)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if u.Active() && u.Role != roster.RoleAuditor {
			out = append(out, id)
		}
	}
	return out, nil
}

// provisionersFor returns who may complete provisioning of t: the
// entitlement's provisioners, or the admins when it lists none — never the
// task's subject, who does not carry out their own access.
func (o *op) provisionersFor(t *roster.Task) ([]string, error) {
	ent, err := o.entitlement(t.Entitlement)
	if err != nil {
		return nil, err
	}
	ids, err := o.eligible(ent.Provisioners, t.User)
	if err != nil || len(ids) > 0 {
		return ids, err
	}
	admins, err := o.tx.Admins(o.ctx)
	if err != nil {
		return nil, err
	}
	return o.eligible(admins, t.User)
}

// taskAction runs one action on a task in its own transaction.
func (e *Engine) taskAction(ctx context.Context, id int64, fn func(o *op, caller *roster.User, t *roster.Task) error) (*roster.Task, error) {
	var out *roster.Task
	// pending says the task waited on approval and concerned the caller.
	pending := false
	err := e.update(ctx, func(o *op) error {
		// A decision changes its task's subject and nobody else: it runs
		// beside decisions on other people's tasks.
		if err := o.tx.Lock(o.ctx, roster.LockTask(id)); err != nil {
			return err
		}
		caller, err := o.requireActor()
		if err != nil {
			return err
		}
		t, err := o.tx.Task(o.ctx, id)
		if err != nil {
			return err
		}
		// Someone the task does not concern learns nothing of it, not even
		// its state or approvers: the answer a read of it gets.
		if !readsAll(caller) && !concerns(t, caller.ID) {
			if could, err := o.couldAct(t, caller.ID); err != nil {
				return err
			} else if !could {
				return roster.Errorf(roster.EFORBIDDEN, "task %d does not concern you", id)
			}
		}
		pending = t.State == roster.StatePendingApproval
		if err := o.surround(t); err != nil {
			return err
		}
		if err := fn(o, caller, t); err != nil {
			return err
		}
		out = t
		return nil
	})
	if pending && roster.ErrorCode(err) == roster.EFORBIDDEN {
		// A refusal undoes the decision's transaction, and with it the
		// step's approvers resolved again: those of an
		// entitlement_members step, which nothing else resolves again,
		// would otherwise never hear that the task now waits on them.
		if rerr := e.updateAs(ctx, ActorSystem, func(o *op) error {
			t, err := o.tx.Task(o.ctx, id)
			if err != nil {
				return err
			}
			return o.reassignTask(t)
		}); rerr != nil && roster.ErrorCode(rerr) != roster.ENOTFOUND {
			e.logger.Warn("could not resolve a task's approvers again after a refused decision", "task", id, "error", rerr)
		}
	}
	return out, err
}

// ApproveTask approves the current step of a task as the caller.
func (e *Engine) ApproveTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return e.taskAction(ctx, id, func(o *op, caller *roster.User, t *roster.Task) error { return o.approve(caller, t, comment) })
}

// DenyTask denies a task as the caller.
func (e *Engine) DenyTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return e.taskAction(ctx, id, func(o *op, caller *roster.User, t *roster.Task) error { return o.deny(caller, t, comment) })
}

// ProvisionTask completes a task waiting in provisioning as the caller.
func (e *Engine) ProvisionTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return e.taskAction(ctx, id, func(o *op, caller *roster.User, t *roster.Task) error { return o.provision(caller, t, comment) })
}

// CancelTask cancels an open task: admins may cancel any, a requester their own.
func (e *Engine) CancelTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return e.taskAction(ctx, id, func(o *op, caller *roster.User, t *roster.Task) error {
		if caller.Role != roster.RoleAdmin && t.RequestedBy != caller.ID {
			return roster.Errorf(roster.EFORBIDDEN, "only admins and the requester may cancel task %d", t.ID)
		}
		if t.State == roster.StateCancelled && repeated(t, caller.ID, roster.HistoryCancelled, t.Step) {
			return nil
		}
		return o.cancel(t, comment)
	})
}

// repeated reports whether the caller already took this action on this step,
// so that a retried call returns the task without acting twice.
func repeated(t *roster.Task, actor string, action roster.HistoryAction, step int) bool {
	for _, h := range t.History {
		if h.Actor == actor && h.Action == action && h.Step == step {
			return true
		}
	}
	return false
}

// checkApprover refuses anyone who is not a current approver of t's step,
// and returns whom the caller decides for when they do as a delegate.
func (o *op) checkApprover(t *roster.Task, caller *roster.User, verb roster.HistoryAction) (forUser string, err error) {
	if t.State != roster.StatePendingApproval {
		return "", roster.Errorf(roster.ECONFLICT, "task %d is %s, not pending approval: it cannot be %s", t.ID, t.State, verb)
	}
	if slices.Contains(t.Approvers, caller.ID) {
		return o.decidesFor(t, caller.ID)
	}
	if caller.ID == t.User {
		return "", roster.Errorf(roster.EFORBIDDEN, "you cannot decide on your own access (task %d)", t.ID)
	}
	why, err := o.delegationEnded(t, caller.ID)
	if err != nil {
		return "", err
	}
	if why != "" {
		why = ": " + why
	}
	return "", roster.Errorf(roster.EFORBIDDEN, "you are not an approver of step %d of task %d (approvers: %s)%s", t.Step+1, t.ID, strings.Join(t.Approvers, ", "), why)
}

// checkIssuer applies separation of duties to the issuer of the token the
// caller acts with, whose action it is too (roster.Actor): they may not be
// t's subject. (An issuer who approved an earlier step is not refused: an
// admin issues most people's first token, and would otherwise block every
// step after one they approved.)
func (o *op) checkIssuer(t *roster.Task) error {
	issuer := o.via.Issuer
	if issuer == "" || o.via.User != o.actor {
		return nil
	}
	if issuer == t.User {
		return roster.Errorf(roster.EFORBIDDEN, "you cannot decide on your own access (task %d): you act with token %s, which %s issued, so the action counts as theirs too", t.ID, o.via.Token, issuer)
	}
	return nil
}

// approve records an approval of t's current step and moves it on.
func (o *op) approve(caller *roster.User, t *roster.Task, comment string) error {
	// Nobody approves two steps of one task, so an approval by someone who
	// approved an earlier step is a retry: it acts no more.
	for step := 0; step < t.Step; step++ {
		if repeated(t, caller.ID, roster.HistoryApproved, step) {
			return nil
		}
	}
	if err := o.refreshApprovers(t); err != nil {
		return err
	}
	forUser, err := o.checkApprover(t, caller, roster.HistoryApproved)
	if err != nil {
		return err
	}
	if err := o.checkIssuer(t); err != nil {
		return err
	}
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: caller.ID, Action: roster.HistoryApproved, Step: t.Step, Comment: comment, For: forUser})
	if err := o.audit(roster.ActionTaskApproved, "task", taskID(t), comment, decisionData(t.Step, forUser)); err != nil {
		return err
	}
	t.Step++
	if err := o.advance(t); err != nil {
		return err
	}
	if t.Step < len(t.Steps) {
		return nil
	}
	return o.tellRequester(mailApproved, t, caller.ID, comment)
}

// decisionData is the data of a decision's event: its step, and whom a
// delegate decided for.
func decisionData(step int, forUser string) map[string]any {
	if forUser == "" {
		return map[string]any{"step": step}
	}
	return map[string]any{"step": step, "for": forUser}
}

// tellRequester tells the person who asked for t that it was decided.
func (o *op) tellRequester(kind mailKind, t *roster.Task, decider, comment string) error {
	to := requester(t, decider)
	if len(to) == 0 {
		return nil
	}
	note := "decided by " + decider
	if u, err := o.user(decider); err == nil && u.Name != "" {
		note = "decided by " + u.Name
	}
	if comment != "" {
		note += ": " + comment
	}
	if err := o.audit(roster.ActionNotifyRequester, "task", taskID(t), fmt.Sprintf("task %d was %s", t.ID, kind),
		map[string]any{"recipients": to, "user": t.User, "entitlement": t.Entitlement, "kind": t.Kind}); err != nil {
		return err
	}
	return o.tell(kind, t, to, note)
}

// deny closes t as denied.
func (o *op) deny(caller *roster.User, t *roster.Task, comment string) error {
	if t.State == roster.StateDenied && repeated(t, caller.ID, roster.HistoryDenied, t.Step) {
		return nil
	}
	if err := o.refreshApprovers(t); err != nil {
		return err
	}
	forUser, err := o.checkApprover(t, caller, roster.HistoryDenied)
	if err != nil {
		return err
	}
	if err := o.checkIssuer(t); err != nil {
		return err
	}
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: caller.ID, Action: roster.HistoryDenied, Step: t.Step, Comment: comment, For: forUser})
	if err := o.close(t, roster.StateDenied); err != nil {
		return err
	}
	if err := o.audit(roster.ActionTaskDenied, "task", taskID(t), comment, decisionData(t.Step, forUser)); err != nil {
		return err
	}
	if err := o.tellRequester(mailDenied, t, caller.ID, comment); err != nil {
		return err
	}
	// Remember a denied automation enrollment or unenrollment so that sync does
	// not ask again until the user's match flips.
	if t.Origin == roster.OriginAutomation && t.Entitlement == roster.EnrollmentEntitlement(t.Profile) {
		return o.tx.PutDenial(o.ctx, &roster.Denial{Profile: t.Profile, User: t.User, Kind: t.Kind, At: o.now})
	}
	// A denied exclusion is withdrawn.
	if t.Kind == roster.TaskGrant && t.Entitlement == roster.ExclusionEntitlement(t.Profile) {
		return o.exclusionDenied(t)
	}
	return nil
}

// provision completes a task waiting in provisioning.
func (o *op) provision(caller *roster.User, t *roster.Task, comment string) error {
	if t.State == roster.StateDone && repeated(t, caller.ID, roster.HistoryProvisioned, t.Step) {
		return nil
	}
	if t.State != roster.StatePendingProvisioning {
		return roster.Errorf(roster.ECONFLICT, "task %d is %s, not pending provisioning", t.ID, t.State)
	}
	if caller.ID == t.User {
		return roster.Errorf(roster.EFORBIDDEN, "you cannot carry out your own access (task %d): another provisioner or admin must", t.ID)
	}
	if err := o.checkIssuer(t); err != nil {
		return err
	}
	if !slices.Contains(t.Provisioners, caller.ID) && caller.Role != roster.RoleAdmin {
		return roster.Errorf(roster.EFORBIDDEN, "you are not a provisioner of task %d (provisioners: %s)", t.ID, strings.Join(t.Provisioners, ", "))
	}
	return o.complete(t, caller.ID, comment)
}

// cancel closes an open task as cancelled.
func (o *op) cancel(t *roster.Task, reason string) error {
	if !t.Open() {
		return roster.Errorf(roster.ECONFLICT, "task %d is %s: only open tasks can be cancelled", t.ID, t.State)
	}
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: o.actor, Action: roster.HistoryCancelled, Step: t.Step, Comment: reason})
	if err := o.close(t, roster.StateCancelled); err != nil {
		return err
	}
	return o.audit(roster.ActionTaskCancelled, "task", taskID(t), reason, nil)
}

// close moves t to a final state and saves it.
func (o *op) close(t *roster.Task, state roster.TaskState) error {
	now := o.now
	t.State, t.UpdatedAt, t.ClosedAt = state, now, &now
	t.Approvers, t.Provisioners = []string{}, []string{}
	if err := o.saveTask(t); err != nil {
		return err
	}
	o.transitioned(state)
	return nil
}

// complete marks t done and carries out its effect.
func (o *op) complete(t *roster.Task, actor, comment string) error {
	o.markDone(t, actor, comment)
	if err := o.saveTask(t); err != nil {
		return err
	}
	o.transitioned(roster.StateDone)
	return o.done(t, comment)
}

// markDone moves t to done in memory, provisioned by actor.
func (o *op) markDone(t *roster.Task, actor, comment string) {
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: actor, Action: roster.HistoryProvisioned, Step: t.Step, Comment: comment})
	now := o.now
	t.State, t.UpdatedAt, t.ClosedAt = roster.StateDone, now, &now
	t.Approvers, t.Provisioners = []string{}, []string{}
}

// done records that t, saved in state done, is done, and carries out its
// effect.
func (o *op) done(t *roster.Task, comment string) error {
	if err := o.audit(roster.ActionTaskDone, "task", taskID(t), comment, map[string]any{"kind": t.Kind, "user": t.User, "entitlement": t.Entitlement}); err != nil {
		return err
	}
	return o.carryOut(t)
}

// appendJSONString appends s to b as json.Marshal encodes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// carryOut carries out the effect of t, saved in state done.
func (o *op) carryOut(t *roster.Task) error {
	app, local, _ := roster.SplitEntitlementID(t.Entitlement)
	if app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") {
		if t.Kind == roster.TaskGrant {
			return o.enrolled(t)
		}
		return o.unenrolled(t)
	}
	if t.Kind == roster.TaskRevoke {
		return o.removeGrant(t.User, t.Entitlement, fmt.Sprintf("revoke task %d done", t.ID))
	}
	var sources []string
	switch {
	case app == roster.BuiltinApp:
		sources = []string{roster.ProfileSource(t.Profile)} // the record of an exclusion
	case t.Profile == "":
		sources = []string{roster.SourceDirect}
	}
	// A profile's request gets the profile's source from addGrant only if
	// the user is still a member of it (SPEC §1: sources are the user's
	// profiles that contain the entitlement, not who asked); one no profile
	// justifies any more counts as direct.
	return o.addGrant(t.User, t.Entitlement, sources, fmt.Sprintf("grant task %d done", t.ID))
}

// couldAct reports whether user would decide t's current step, or carry it
// out, were it open: a closed task no longer lists them, and the one of two
// approvers who decided second is told the task is closed, not that it does
// not concern them.
func (o *op) couldAct(t *roster.Task, user string) (bool, error) {
	// The current step, and the one before: an approval that lost a race
	// finds the task a step further on.
	for _, step := range []int{t.Step, t.Step - 1} {
		if step < 0 || step >= len(t.Steps) {
			continue
		}
		at := *t // resolved as when the task stood at that step
		at.Step = step
		approvers, _, err := o.resolveStep(&at, t.Steps[step])
		if err != nil || slices.Contains(approvers, user) {
			return err == nil, err
		}
	}
	if t.Provisioning == roster.ProvisionAuto {
		return false, nil
	}
	provisioners, err := o.provisionersFor(t)
	return slices.Contains(provisioners, user), err
}

// refreshApprovers resolves t's current approval step again, so that a
// decision is checked against who may decide now — the subject's manager
// today, the app's owners today, the entitlement's holders today — not when
// the step started. When they changed, t keeps the new list (saved by the
// caller's change, or by the decision that follows).
func (o *op) refreshApprovers(t *roster.Task) error {
	_, err := o.reresolve(t)
	return err
}

// reresolve is refreshApprovers, reporting whether the approvers changed.
func (o *op) reresolve(t *roster.Task) (bool, error) {
	if t.State != roster.StatePendingApproval || t.Step >= len(t.Steps) {
		return false, nil
	}
	approvers, note, err := o.resolveStep(t, t.Steps[t.Step])
	if err != nil {
		return false, err
	}
	if slices.Equal(approvers, t.Approvers) {
		return false, nil
	}
	comment := "approvers are now " + strings.Join(approvers, ", ")
	if note != "" {
		comment = note
	}
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: ActorSystem, Action: roster.HistoryReassigned, Step: t.Step, Comment: comment})
	t.Approvers, t.UpdatedAt = approvers, o.now
	return true, o.audit(roster.ActionTaskReassigned, "task", taskID(t), comment, map[string]any{"step": t.Step, "approvers": approvers})
}

// reassign resolves again the current step of the open tasks whose approvers
// depend on what changed — the subject's manager (user set), an app's owners
// (app set) — and saves the ones whose approvers moved.
func (o *op) reassign(user, app string) error {
	var tasks []roster.Task
	switch {
	case user != "":
		ts, err := o.tx.UserOpenTasks(o.ctx, user)
		if err != nil {
			return err
		}
		tasks = ts
	case app != "":
		page, err := o.tx.Entitlements(o.ctx, roster.EntitlementFilter{App: app, Limit: roster.MaxPageSize})
		for err == nil {
			for _, e := range page.Items {
				ts, err := o.tx.OpenTasks(o.ctx, e.ID)
				if err != nil {
					return err
				}
				tasks = append(tasks, ts...)
			}
			if page.NextCursor == "" {
				break
			}
			page, err = o.tx.Entitlements(o.ctx, roster.EntitlementFilter{App: app, Limit: roster.MaxPageSize, Cursor: page.NextCursor})
		}
		if err != nil {
			return err
		}
	}
	want := roster.ApproverManager
	if app != "" {
		want = roster.ApproverAppOwner
	}
	for i := range tasks {
		t := &tasks[i]
		if t.State != roster.StatePendingApproval || t.Step >= len(t.Steps) || t.Steps[t.Step].Approvers != want {
			continue
		}
		if err := o.reassignTask(t); err != nil {
			return err
		}
	}
	return nil
}

// reassignTask resolves t's current step again and, when its approvers
// moved, saves it and tells them.
func (o *op) reassignTask(t *roster.Task) error {
	changed, err := o.reresolve(t)
	if err != nil || !changed {
		return err
	}
	if err := o.saveTask(t); err != nil {
		return err
	}
	if err := o.audit(roster.ActionNotifyApprovers, "task", taskID(t), fmt.Sprintf("task %d waits on step %d of %d", t.ID, t.Step+1, len(t.Steps)),
		map[string]any{"recipients": t.Approvers, "user": t.User, "entitlement": t.Entitlement, "kind": t.Kind}); err != nil {
		return err
	}
	// Those told of this step already are not told again (the messages'
	// keys): only the new approvers hear of it.
	return o.tellApprovers(t, t.Approvers)
}
