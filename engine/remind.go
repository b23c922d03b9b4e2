package engine

// Reminders and escalation of approval steps that wait too long.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Reminders looks for approval steps that have waited longer than
// settings.notifications.remind_after, and reminds their approvers once, and
// for steps that have waited longer than escalate_after, which it escalates:
// the step's fallback users (the admins when it names none) become approvers
// of the step too, the task's history and the audit log say so, and they are
// told. Each is recorded in the task's history in the transaction that
// sends the messages, so it happens once per step whichever replica runs
// it; the worker runs on the holder of the "reminders" lease. Tests call
// RunOnce, which returns how many tasks it reminded or escalated.
type Reminders struct {
	*Worker[int64]
}

// NewReminders returns a worker over e that looks for waiting steps every
// tick.
func NewReminders(e *Engine, tick time.Duration) *Reminders {
	r := &Reminders{}
	r.Worker = newWorker(e, tick, workerConfig{name: "reminders", lease: "reminders"}, r)
	return r
}

// stepStarted returns when t's current approval step started: when the task
// was created, or when its previous step was approved.
func stepStarted(t *roster.Task) time.Time {
	start := t.CreatedAt
	for _, h := range t.History {
		if h.Action == roster.HistoryApproved && h.Step == t.Step-1 {
			start = h.At
		}
	}
	return start
}

// stepHas reports whether t's history holds action for its current step.
func stepHas(t *roster.Task, action roster.HistoryAction) bool {
	return slices.ContainsFunc(t.History, func(h roster.TaskAction) bool { return h.Action == action && h.Step == t.Step })
}

// waitNext says what a waiting task is due now: a reminder, an escalation or
// nothing.
func waitNext(t *roster.Task, n roster.Notifications, now time.Time) roster.HistoryAction {
	if t.State != roster.StatePendingApproval || t.Step >= len(t.Steps) {
		return ""
	}
	waited := now.Sub(stepStarted(t))
	if n.EscalateAfter > 0 && waited >= time.Duration(n.EscalateAfter) && !stepHas(t, roster.HistoryEscalated) {
		return roster.HistoryEscalated
	}
	if n.RemindAfter > 0 && waited >= time.Duration(n.RemindAfter) && !stepHas(t, roster.HistoryReminded) && !stepHas(t, roster.HistoryEscalated) {
		return roster.HistoryReminded
	}
	return ""
}

// due lists the tasks waiting for approval that are due a reminder or an
// escalation.
func (r *Reminders) due(ctx context.Context) ([]int64, error) {
	var due []int64
	err := r.engine.view(ctx, func(o *op) error {
		due = nil
		s, err := o.tenant()
		if err != nil {
			return err
		}
		n := s.Notifications
		if n.RemindAfter <= 0 && n.EscalateAfter <= 0 {
			return nil
		}
		f := roster.TaskFilter{State: roster.StatePendingApproval, Limit: roster.MaxPageSize}
		for {
			page, err := o.tx.Tasks(o.ctx, f)
			if err != nil {
				return err
			}
			for i := range page.Items {
				if waitNext(&page.Items[i], n, o.now) != "" {
					due = append(due, page.Items[i].ID)
				}
			}
			if page.NextCursor == "" {
				return nil
			}
			f.Cursor = page.NextCursor
		}
	})
	return due, err
}

func (r *Reminders) key(id int64) string { return fmt.Sprint("task ", id) }

// process reminds or escalates one task, as it stands when read again.
func (r *Reminders) process(ctx context.Context, id int64) (bool, error) {
	acted := false
	err := r.engine.updateAs(ctx, ActorSystem, func(o *op) error {
		acted = false
		t, err := o.tx.Task(o.ctx, id)
		if err != nil {
			return err
		}
		s, err := o.tenant()
		if err != nil {
			return err
		}
		switch waitNext(t, s.Notifications, o.now) {
		case roster.HistoryReminded:
			acted = true
			return o.remind(t, s.Notifications.RemindAfter)
		case roster.HistoryEscalated:
			acted = true
			return o.escalate(t, s.Notifications.EscalateAfter)
		}
		return nil
	})
	return acted, err
}

// remind records a reminder of t's current step and tells its approvers.
func (o *op) remind(t *roster.Task, after roster.Duration) error {
	before := slices.Clone(t.Approvers)
	if err := o.refreshApprovers(t); err != nil {
		return err
	}
	note := fmt.Sprintf("step %d has waited more than %s", t.Step+1, after)
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: ActorSystem, Action: roster.HistoryReminded, Step: t.Step,
		Comment: note + "; reminded " + strings.Join(t.Approvers, ", ")})
	t.UpdatedAt = o.now
	if err := o.saveTask(t); err != nil {
		return err
	}
	if err := o.audit(roster.ActionTaskReminded, "task", taskID(t), note, map[string]any{"step": t.Step, "recipients": t.Approvers}); err != nil {
		return err
	}
	// Approvers the step has only now are asked, not reminded.
	fresh := newApprovers(before, t.Approvers)
	if err := o.tellApprovers(t, fresh); err != nil {
		return err
	}
	return o.tell(mailRemind, t, newApprovers(fresh, t.Approvers), note)
}

// escalate adds the escalation approvers to t's current step, records it and
// tells them.
func (o *op) escalate(t *roster.Task, after roster.Duration) error {
	before := slices.Clone(t.Approvers)
	added, err := o.escalationApprovers(t, t.Steps[t.Step])
	if err != nil {
		return err
	}
	note := fmt.Sprintf("step %d has waited more than %s", t.Step+1, after)
	comment := note + "; nobody else to add"
	if fresh := newApprovers(before, added); len(fresh) > 0 {
		comment = note + "; added " + strings.Join(fresh, ", ")
	}
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: ActorSystem, Action: roster.HistoryEscalated, Step: t.Step, Comment: comment})
	// Resolved again with the escalation recorded: the step's approvers and
	// the added ones, as every later check of the step resolves it.
	approvers, _, err := o.resolveStep(t, t.Steps[t.Step])
	if err != nil {
		return err
	}
	t.Approvers, t.UpdatedAt = approvers, o.now
	if err := o.saveTask(t); err != nil {
		return err
	}
	fresh := newApprovers(before, approvers)
	if err := o.audit(roster.ActionTaskEscalated, "task", taskID(t), comment, map[string]any{"step": t.Step, "added": fresh, "approvers": approvers}); err != nil {
		return err
	}
	return o.tell(mailEscalate, t, fresh, note)
}

// escalationApprovers returns who an escalated step adds to its approvers:
// the step's eligible fallback users, or the eligible admins when it has
// none — never the subject or an earlier step's approver.
func (o *op) escalationApprovers(t *roster.Task, s roster.Step) ([]string, error) {
	excluded := append(priorApprovers(t), t.User)
	if len(s.Fallback) > 0 {
		if ids, err := o.eligible(s.Fallback, excluded...); err != nil || len(ids) > 0 {
			return ids, err
		}
	}
	admins, err := o.tx.Admins(o.ctx)
	if err != nil {
		return nil, err
	}
	return o.eligible(admins, excluded...)
}
