package engine

// Delegation: a person names someone to decide in their place until a time.
// While it is in force the delegate is one more approver of every step that
// waits on the person — resolved with the step (resolveStep), so checked
// like any approver: active, not an auditor, never the task's subject nor
// an earlier step's approver — and their decision is recorded as theirs for
// the person (TaskAction.For). Delegation is not transitive: a delegate's
// own delegate does not decide for the person. It covers approval only, not
// provisioning nor a step that asks the subject themself.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rosterhq/roster"
)

// Delegate names req.Delegate to decide in user's place until req.Until.
func (e *Engine) Delegate(ctx context.Context, user string, req roster.DelegationRequest) (*roster.Delegation, error) {
	var out *roster.Delegation
	err := e.update(ctx, func(o *op) error {
		caller, err := o.mayDelegate(user)
		if err != nil {
			return err
		}
		if req.Delegate == "" {
			return roster.Errorf(roster.EINVALID, "name the delegate (--to USER)")
		}
		if req.Delegate == user {
			return roster.Errorf(roster.EINVALID, "%s cannot be their own delegate", user)
		}
		if req.Until.IsZero() {
			return roster.Errorf(roster.EINVALID, "say until when the delegation lasts (--until DATE)")
		}
		if !req.Until.After(o.now) {
			return roster.Errorf(roster.EINVALID, "until %s is not in the future", req.Until.UTC().Format(time.RFC3339))
		}
		v, err := o.tx.User(o.ctx, req.Delegate)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Errorf(roster.EINVALID, "delegate %q is not a user", req.Delegate)
		} else if err != nil {
			return err
		}
		switch {
		case !v.Active():
			return roster.Errorf(roster.EINVALID, "delegate %s is disabled", v.ID)
		case v.Role == roster.RoleAuditor:
			return roster.Errorf(roster.EINVALID, "delegate %s is an auditor: auditors decide nothing", v.ID)
		case v.Kind == roster.UserService:
			return roster.Errorf(roster.EINVALID, "delegate %s is a service account: only people decide in someone's place", v.ID)
		}
		d := &roster.Delegation{User: user, Delegate: v.ID, Until: req.Until.UTC().Truncate(time.Microsecond), SetBy: caller.ID, SetAt: o.now}
		data := map[string]any{"delegate": d.Delegate, "until": d.Until}
		if old, err := o.tx.Delegation(o.ctx, user); err == nil && old.InForce(o.now) {
			data["replaced"] = map[string]any{"delegate": old.Delegate, "until": old.Until}
		} else if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if err := o.tx.PutDelegation(o.ctx, d); err != nil {
			return err
		}
		o.delegs = nil
		if err := o.audit(roster.ActionDelegationSet, "user", user,
			fmt.Sprintf("%s decides in %s's place until %s", d.Delegate, user, d.Until.Format(time.RFC3339)), data); err != nil {
			return err
		}
		out = d
		return o.reassignWaitingOn(user)
	})
	return out, err
}

// EndDelegation ends user's delegation at once.
func (e *Engine) EndDelegation(ctx context.Context, user string) (*roster.Delegation, error) {
	var out *roster.Delegation
	err := e.update(ctx, func(o *op) error {
		if _, err := o.mayDelegate(user); err != nil {
			return err
		}
		d, err := o.tx.Delegation(o.ctx, user)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if err != nil || !d.InForce(o.now) {
			return roster.Errorf(roster.ENOTFOUND, "%s has no delegation in force", user)
		}
		if err := o.tx.DeleteDelegation(o.ctx, user); err != nil {
			return err
		}
		o.delegs = nil
		if err := o.audit(roster.ActionDelegationEnded, "user", user, fmt.Sprintf("%s no longer decides in %s's place", d.Delegate, user),
			map[string]any{"delegate": d.Delegate, "until": d.Until}); err != nil {
			return err
		}
		out = d
		return o.reassignWaitingOn(user)
	})
	return out, err
}

// Delegations returns whom user named and for whom they decide.
func (e *Engine) Delegations(ctx context.Context, user string) (*roster.UserDelegations, error) {
	var out *roster.UserDelegations
	err := e.view(ctx, func(o *op) error {
		caller, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(caller) && caller.ID != user {
			return roster.Errorf(roster.EFORBIDDEN, "you may only read your own delegations")
		}
		if _, err := o.tx.User(o.ctx, user); err != nil {
			return err
		}
		all, err := o.tx.DelegationsInForce(o.ctx, o.now)
		if err != nil {
			return err
		}
		out = &roster.UserDelegations{User: user, DecidesFor: []roster.Delegation{}}
		for _, d := range all {
			if d.User == user {
				out.Delegate = &d
			}
			if d.Delegate == user {
				out.DecidesFor = append(out.DecidesFor, d)
			}
		}
		return nil
	})
	return out, err
}

// mayDelegate returns the caller if they may set or end user's delegation:
// user themself, or an admin.
func (o *op) mayDelegate(user string) (*roster.User, error) {
	caller, err := o.requireActor()
	if err != nil {
		return nil, err
	}
	if caller.ID != user && caller.Role != roster.RoleAdmin {
		return nil, roster.Errorf(roster.EFORBIDDEN, "only %s or an admin may set or end %s's delegation", user, user)
	}
	if _, err := o.tx.User(o.ctx, user); err != nil {
		return nil, err
	}
	return caller, nil
}

// delegations returns the delegations in force at the op's time by the
// user who set them, read once per op.
func (o *op) delegations() (map[string]roster.Delegation, error) {
	if o.delegs != nil {
		return o.delegs, nil
	}
	all, err := o.tx.DelegationsInForce(o.ctx, o.now)
	if err != nil {
		return nil, err
	}
	o.delegs = make(map[string]roster.Delegation, len(all))
	for _, d := range all {
		o.delegs[d.User] = d
	}
	return o.delegs, nil
}

// withDelegates adds to a step's approvers the delegates in force of each,
// who are eligible as approvers themselves: never the subject, an earlier
// step's approver, an inactive user or an auditor. A step that asks the
// subject themself is not delegated.
func (o *op) withDelegates(t *roster.Task, approvers []string) ([]string, error) {
	if len(approvers) == 0 {
		return approvers, nil
	}
	ds, err := o.delegations()
	if err != nil || len(ds) == 0 {
		return approvers, err
	}
	var delegates []string
	for _, a := range approvers {
		if d, ok := ds[a]; ok && a != t.User {
			delegates = append(delegates, d.Delegate)
		}
	}
	if len(delegates) == 0 {
		return approvers, nil
	}
	delegates, err = o.eligible(delegates, append(priorApprovers(t), t.User)...)
	if err != nil || len(delegates) == 0 {
		return approvers, err
	}
	return sortedUnique(append(slices.Clone(approvers), delegates...)), nil
}

// decidesFor returns whom caller decides t's current step for: "" when
// they are an approver of it in their own right, else the first of its
// approvers whose delegate they are.
func (o *op) decidesFor(t *roster.Task, caller string) (string, error) {
	direct, _, err := o.resolveDirect(t, t.Steps[t.Step])
	if err != nil || slices.Contains(direct, caller) {
		return "", err
	}
	ds, err := o.delegations()
	if err != nil {
		return "", err
	}
	for _, a := range direct {
		if d, ok := ds[a]; ok && d.Delegate == caller {
			return a, nil
		}
	}
	return "", nil
}

// delegationEnded explains a refusal to someone whose delegation from one
// of t's approvers has ended; "" when there is none.
func (o *op) delegationEnded(t *roster.Task, caller string) (string, error) {
	for _, a := range t.Approvers {
		d, err := o.tx.Delegation(o.ctx, a)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return "", err
		}
		if d.Delegate == caller && !d.InForce(o.now) {
			return fmt.Sprintf("your delegation from %s ended at %s", a, d.Until.Format(time.RFC3339)), nil
		}
	}
	return "", nil
}

// tellApprovers tells those of t's approvers in recipients that its current
// step waits on them: a delegate hears for whom they decide.
func (o *op) tellApprovers(t *roster.Task, recipients []string) error {
	ds, err := o.delegations()
	if err != nil {
		return err
	}
	notes := map[string]string{}
	for _, a := range t.Approvers {
		if d, ok := ds[a]; ok && a != t.User && slices.Contains(recipients, d.Delegate) && notes[d.Delegate] == "" {
			notes[d.Delegate] = fmt.Sprintf("you decide for %s as their delegate until %s", a, d.Until.Format("2006-01-02 15:04 MST"))
		}
	}
	var plain []string
	for _, a := range recipients {
		if notes[a] == "" {
			plain = append(plain, a)
		}
	}
	if err := o.tell(mailApprove, t, plain, ""); err != nil {
		return err
	}
	for _, v := range slices.Sorted(maps.Keys(notes)) {
		if err := o.tell(mailApprove, t, []string{v}, notes[v]); err != nil {
			return err
		}
	}
	return nil
}

// reassignWaitingOn resolves again the current step of the open tasks that
// wait on user's approval, so that a delegate set or ended takes effect on
// them at once, and tells the new approvers.
func (o *op) reassignWaitingOn(user string) error {
	f := roster.TaskFilter{Approver: user, State: roster.StatePendingApproval, Limit: roster.MaxPageSize}
	var tasks []roster.Task
	for {
		page, err := o.tx.Tasks(o.ctx, f)
		if err != nil {
			return err
		}
		tasks = append(tasks, page.Items...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	for i := range tasks {
		if err := o.reassignTask(&tasks[i]); err != nil {
			return err
		}
	}
	return nil
}

// DelegationExpiry ends the delegations whose time is over: each is
// removed, the audit log says it ran out (user.delegation_ended, by the
// system, with ran_out), and the open tasks that waited on its delegate in
// the person's place wait on the person alone again, so that the delegate's
// inbox and reminders stop showing them. Until it runs, an ended delegation
// already decides nothing (decisions check it at their time). The worker
// runs on the holder of the "delegations" lease; tests call RunOnce, which
// returns how many delegations it ended.
type DelegationExpiry struct {
	*Worker[string]
}

// NewDelegationExpiry returns a worker over e that looks for delegations
// whose time is over every tick.
func NewDelegationExpiry(e *Engine, tick time.Duration) *DelegationExpiry {
	x := &DelegationExpiry{}
	x.Worker = newWorker(e, tick, workerConfig{name: "delegations", lease: "delegations"}, x)
	return x
}

func (x *DelegationExpiry) due(ctx context.Context) ([]string, error) {
	var users []string
	err := x.engine.view(ctx, func(o *op) error {
		ended, err := o.tx.DelegationsEnded(o.ctx, o.now)
		users = nil
		for _, d := range ended {
			users = append(users, d.User)
		}
		return err
	})
	return users, err
}

func (x *DelegationExpiry) key(user string) string { return "delegation of " + user }

// process ends user's delegation if, read again, its time is still over.
func (x *DelegationExpiry) process(ctx context.Context, user string) (bool, error) {
	ended := false
	err := x.engine.updateAs(ctx, ActorSystem, func(o *op) error {
		ended = false
		d, err := o.tx.Delegation(o.ctx, user)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if d.InForce(o.now) {
			return nil // set again meanwhile
		}
		if err := o.tx.DeleteDelegation(o.ctx, user); err != nil {
			return err
		}
		o.delegs = nil
		if err := o.audit(roster.ActionDelegationEnded, "user", user, fmt.Sprintf("%s's delegation to %s ran out", user, d.Delegate),
			map[string]any{"delegate": d.Delegate, "until": d.Until, "ran_out": true}); err != nil {
			return err
		}
		ended = true
		return o.reassignWaitingOn(user)
	})
	return ended, err
}
