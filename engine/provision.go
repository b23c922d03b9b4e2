package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
)

// Provisioner carries out the tasks in provisioning whose entitlement has
// provisioning: connector, through the connector of the entitlement's app. A
// failure is retried with backoff; a permanent one, or the last try, fails
// the task with the system's error. It runs on the replica that holds the
// connectors' lease, beside the ConnectorScheduler, every tick and whenever
// a task is waiting. Tests call RunOnce; it tries every due task once and
// returns how many were done.
type Provisioner struct {
	*Worker[roster.Task]
	// MaxAttempts is how often a task is tried before it fails.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles with each
	// further one, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
}

// NewProvisioner returns a provisioner over e: 5 attempts, 2s backoff
// doubling up to 5 minutes.
func NewProvisioner(e *Engine, tick time.Duration) *Provisioner {
	p := &Provisioner{MaxAttempts: 5, Backoff: 2 * time.Second, MaxBackoff: 5 * time.Minute}
	p.Worker = newWorker(e, tick, workerConfig{name: "provisioner", lease: connectorLease, wake: e.provision}, p)
	return p
}

// wakeProvisioner tells the provisioner a task is waiting.
func (e *Engine) wakeProvisioner() {
	select {
	case e.provision <- struct{}{}:
	default:
	}
}

// delay is the wait after the n-th failed attempt.
func (p *Provisioner) delay(n int) time.Duration {
	d := p.Backoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// ActorConnector is the actor of what connector id does.
func ActorConnector(id string) string { return "connector:" + id }

// due lists the tasks due for an attempt.
func (p *Provisioner) due(ctx context.Context) ([]roster.Task, error) {
	var due []roster.Task
	err := p.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		due, err = tx.DueConnectorTasks(ctx, p.engine.clock.Now(), 100)
		return err
	})
	return due, err
}

func (p *Provisioner) key(t roster.Task) string { return fmt.Sprint("task ", t.ID) }

// process carries out one task through its app's connector and reports
// whether it is done.
func (p *Provisioner) process(ctx context.Context, t roster.Task) (bool, error) {
	e := p.engine
	var (
		c    *roster.Connector
		user *roster.User
	)
	err := e.view(ctx, func(o *op) error {
		app, _, _ := roster.SplitEntitlementID(t.Entitlement)
		var err error
		if c, err = o.appConnector(app); err != nil {
			return err
		}
		user, err = o.tx.User(o.ctx, t.User)
		return err
	})
	var sysErr error
	switch {
	case roster.ErrorCode(err) == roster.ENOTFOUND:
		sysErr = connector.Permanent(errors.New(roster.ErrorMessage(err)))
	case err != nil:
		return false, err
	default:
		l := e.conns.lock(c.ID)
		l.Lock()
		sysErr = p.call(ctx, c, user, &t)
		l.Unlock()
	}
	actor := ActorSystem
	if c != nil {
		actor = ActorConnector(c.ID)
	}
	outcome := ""
	err = e.updateAs(ctx, actor, func(o *op) error {
		if err := o.tx.Lock(o.ctx, roster.LockTask(t.ID)); err != nil {
			return err
		}
		cur, err := o.tx.Task(o.ctx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != roster.StatePendingProvisioning {
			outcome = "" // settled meanwhile (cancelled, or provisioned by hand)
			return nil
		}
		if sysErr == nil {
			outcome = "done"
			// What carrying it out reads, at once (with the locks, on
			// PostgreSQL), as a decision does.
			if err := o.surround(cur); err != nil {
				return err
			}
			if err := o.tx.DeleteProvisionAttempt(o.ctx, t.ID); err != nil {
				return err
			}
			return o.complete(cur, actor, "carried out by connector "+c.ID)
		}
		a, err := o.tx.ProvisionAttempt(o.ctx, t.ID)
		if err != nil {
			return err
		}
		a.Attempts++
		a.LastError = sysErr.Error()
		if connector.IsPermanent(sysErr) || a.Attempts >= p.MaxAttempts {
			outcome = "failed"
			if err := o.tx.PutProvisionAttempt(o.ctx, a); err != nil {
				return err
			}
			return o.fail(cur, actor, a)
		}
		outcome = "retry"
		a.NextAt = o.now.Add(p.delay(a.Attempts))
		cur.Error = fmt.Sprintf("attempt %d of %d failed, retrying at %s: %s", a.Attempts, p.MaxAttempts, a.NextAt.Format(time.RFC3339), a.LastError)
		cur.UpdatedAt = o.now
		cur.History = append(cur.History, roster.TaskAction{At: o.now, Actor: actor, Action: roster.HistoryProvisioningFailed, Step: cur.Step, Comment: a.LastError})
		if err := o.saveTask(cur); err != nil {
			return err
		}
		if err := o.tx.PutProvisionAttempt(o.ctx, a); err != nil {
			return err
		}
		return o.audit(roster.ActionTaskProvisioningRetry, "task", taskID(cur), a.LastError, map[string]any{"attempt": a.Attempts, "next_at": a.NextAt})
	})
	if err != nil {
		return false, err
	}
	if outcome != "" {
		e.metrics.provisioning.WithLabelValues(outcome).Inc()
	}
	if sysErr != nil {
		e.logger.Warn("connector provisioning failed", "task", t.ID, "outcome", outcome, "error", sysErr)
	}
	return outcome == "done", nil
}

// call asks the connector to grant or revoke.
func (p *Provisioner) call(ctx context.Context, c *roster.Connector, user *roster.User, t *roster.Task) error {
	conn, err := p.engine.openConnector(c)
	if err != nil {
		return connector.Permanent(err)
	}
	_, local, _ := roster.SplitEntitlementID(t.Entitlement)
	who := connector.Subject{ID: user.ID, Email: user.Email, MatchBy: c.MatchBy}
	if t.Kind == roster.TaskRevoke {
		return conn.Revoke(ctx, who, local)
	}
	return conn.Grant(ctx, who, local)
}

// fail closes a task as failed with the system's error and tells the admins.
func (o *op) fail(t *roster.Task, actor string, a *roster.ProvisionAttempt) error {
	t.Error = a.LastError
	t.History = append(t.History, roster.TaskAction{At: o.now, Actor: actor, Action: roster.HistoryFailed, Step: t.Step,
		Comment: fmt.Sprintf("after %d attempts: %s", a.Attempts, a.LastError)})
	if err := o.close(t, roster.StateFailed); err != nil {
		return err
	}
	if err := o.audit(roster.ActionTaskFailed, "task", taskID(t), a.LastError, map[string]any{"attempts": a.Attempts, "user": t.User, "entitlement": t.Entitlement, "kind": t.Kind}); err != nil {
		return err
	}
	msg := fmt.Sprintf("Roster could not %s %s for %s (task %d): %s. Fix it, then retry the task (roster task retry %d).", t.Kind, t.Entitlement, t.User, t.ID, a.LastError, t.ID)
	return o.alertAdmins("task", taskID(t), msg, map[string]any{"task": t.ID})
}

// RetryTask puts a failed task back into provisioning, for its connector to
// try again from the first attempt (admins).
func (e *Engine) RetryTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return e.taskAction(ctx, id, func(o *op, caller *roster.User, t *roster.Task) error {
		if caller.Role != roster.RoleAdmin {
			return roster.Errorf(roster.EFORBIDDEN, "only admins may retry tasks")
		}
		if t.State != roster.StateFailed {
			return roster.Errorf(roster.ECONFLICT, "task %d is %s: only failed tasks can be retried", t.ID, t.State)
		}
		if _, err := o.openTask(t.User, t.Entitlement, t.Kind); err == nil {
			return roster.Errorf(roster.ECONFLICT, "task %d cannot be retried: another open %s task for %s and %s exists", t.ID, t.Kind, t.User, t.Entitlement)
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if err := o.tx.DeleteProvisionAttempt(o.ctx, t.ID); err != nil {
			return err
		}
		t.History = append(t.History, roster.TaskAction{At: o.now, Actor: caller.ID, Action: roster.HistoryRetried, Step: t.Step, Comment: comment})
		t.Error, t.ClosedAt = "", nil
		if err := o.audit(roster.ActionTaskRetried, "task", taskID(t), comment, nil); err != nil {
			return err
		}
		return o.advance(t)
	})
}
