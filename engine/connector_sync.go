package engine

// Syncing a connector: reading its system outside any transaction, then, in
// one, planning what the snapshot changes (connsync.PlanSnapshot, a pure
// function of the snapshot and what Roster holds) and applying it, or
// holding it when it removes more than the delete threshold allows.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine/internal/connsync"
	"github.com/rosterhq/roster/engine/internal/same"
)

// SyncConnector reads the connector's system now and applies what changed
// (admins). A sync that would remove more than the delete threshold allows
// is held instead: the result says so and nothing is applied.
func (e *Engine) SyncConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	actor := roster.ActorFromContext(ctx)
	err := e.view(ctx, func(o *op) error {
		if _, err := o.requireAdmin("sync connectors"); err != nil {
			return err
		}
		_, err := o.tx.Connector(o.ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e.syncConnector(ctx, actor, id)
}

// ResumeConnector carries out a held connector sync as it was staged
// (admins).
func (e *Engine) ResumeConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	l := e.conns.lock(id)
	l.Lock()
	defer l.Unlock()
	var res *roster.ConnectorSyncResult
	err := e.update(ctx, func(o *op) error {
		if _, err := o.requireAdmin("resume connectors"); err != nil {
			return err
		}
		c, err := o.tx.Connector(o.ctx, id)
		if err != nil {
			return err
		}
		if c.Status.State != roster.ConnectorHeld {
			return roster.Errorf(roster.ECONFLICT, "connector %s holds no sync: it is %s", id, c.Status.State)
		}
		data, err := o.tx.StagedSnapshot(o.ctx, id)
		if err != nil {
			return err
		}
		var st staged
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("decode the held snapshot of %s: %w", id, err)
		}
		res, err = o.applySnapshot(c, &st.Snapshot, st.Started, true)
		if err != nil {
			return err
		}
		if err := o.audit(roster.ActionConnectorResumed, "connector", id, "held sync confirmed by "+o.actor, res); err != nil {
			return err
		}
		return o.finishRun(c, res, st.Started, o.now.Sub(st.Started), nil)
	})
	return res, err
}

// staged is what a held sync keeps: the snapshot and when it was read.
type staged struct {
	Started  time.Time          `json:"started"`
	Snapshot connector.Snapshot `json:"snapshot"`
}

// syncConnector reads the system outside any transaction, then applies the
// snapshot in one.
func (e *Engine) syncConnector(ctx context.Context, actor, id string) (*roster.ConnectorSyncResult, error) {
	l := e.conns.lock(id)
	l.Lock()
	defer l.Unlock()
	var c *roster.Connector
	err := e.store.View(ctx, func(tx roster.Tx) (err error) {
		c, err = tx.Connector(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	started := e.clock.Now()
	conn, err := e.openConnector(c)
	var snap *connector.Snapshot
	if err == nil {
		snap, err = conn.Sync(ctx)
	}
	took := e.clock.Now().Sub(started)
	if err != nil {
		e.metrics.connectorSyncs.WithLabelValues("failed").Inc()
		sysErr := err
		uerr := e.updateAs(ctx, actor, func(o *op) error {
			c, err := o.tx.Connector(o.ctx, id)
			if err != nil {
				return err
			}
			if err := o.audit(roster.ActionConnectorSyncFailed, "connector", id, sysErr.Error(), nil); err != nil {
				return err
			}
			return o.finishRun(c, nil, started, took, sysErr)
		})
		if uerr != nil {
			return nil, uerr
		}
		if roster.ErrorCode(sysErr) == roster.EINVALID {
			return nil, sysErr
		}
		return nil, roster.Errorf(roster.EUNAVAILABLE, "connector %s: %v", id, sysErr)
	}
	var res *roster.ConnectorSyncResult
	err = e.updateAs(ctx, actor, func(o *op) error {
		c, err := o.tx.Connector(o.ctx, id)
		if err != nil {
			return err
		}
		res, err = o.applySnapshot(c, snap, started, false)
		if err != nil {
			return err
		}
		if res.Held {
			if err := o.hold(c, snap, started, res); err != nil {
				return err
			}
		} else if res.Changed() {
			// A sync that changed nothing leaves its run in the connector's
			// status, not in the audit log.
			if err := o.audit(roster.ActionConnectorSynced, "connector", id, "", res); err != nil {
				return err
			}
		}
		return o.finishRun(c, res, started, took, nil)
	})
	if err != nil {
		return nil, err
	}
	outcome := "applied"
	if res.Held {
		outcome = "held"
	}
	e.metrics.connectorSyncs.WithLabelValues(outcome).Inc()
	return res, nil
}

// finishRun records a run in the connector's status. c must be the copy the
// op read (applySnapshot and hold update its status).
func (o *op) finishRun(c *roster.Connector, res *roster.ConnectorSyncResult, started time.Time, took time.Duration, sysErr error) error {
	run := &roster.ConnectorRun{At: started, Duration: roster.Duration(took), Result: res}
	if sysErr != nil {
		run.Error = sysErr.Error()
	} else if res != nil && !res.Held {
		at := started
		c.Status.LastOKAt = &at
	}
	c.Status.LastRun = run
	if c.Status.State == "" {
		c.Status.State = roster.ConnectorActive
	}
	return o.tx.PutConnector(o.ctx, c)
}

// hold stages a sync that removes too much, alerts the admins, and changes
// nothing else.
func (o *op) hold(c *roster.Connector, snap *connector.Snapshot, started time.Time, res *roster.ConnectorSyncResult) error {
	data, err := json.Marshal(staged{Started: started, Snapshot: *snap})
	if err != nil {
		return fmt.Errorf("encode held snapshot: %w", err)
	}
	if err := o.tx.PutStagedSnapshot(o.ctx, c.ID, data); err != nil {
		return err
	}
	now := o.now
	c.Status.State, c.Status.Held, c.Status.HeldAt, c.Status.HeldWhy = roster.ConnectorHeld, res, &now, res.Reason
	if err := o.audit(roster.ActionConnectorHeld, "connector", c.ID, res.Reason, res); err != nil {
		return err
	}
	msg := fmt.Sprintf("Roster held a sync of connector %s: %s. Review it, then run `roster connector resume %s` to carry it out.", c.ID, res.Reason, c.ID)
	return o.alertAdmins("connector", c.ID, msg, map[string]any{"connector": c.ID, "held": res})
}

// applySnapshot turns what the system reported into changes of users,
// entitlements and grants, as connsync.PlanSnapshot plans them. Unless force
// is set, a snapshot that would remove more than the delete threshold allows
// changes nothing and comes back Held. Grants changed after started (by
// provisioning while the system was read) are left alone.
func (o *op) applySnapshot(c *roster.Connector, snap *connector.Snapshot, started time.Time, force bool) (*roster.ConnectorSyncResult, error) {
	in, err := o.snapshotInput(c, snap, started, force)
	if err != nil {
		return nil, err
	}
	pl := connsync.PlanSnapshot(in)
	res := pl.Result
	if res.Held {
		return res, nil
	}
	reason := "connector " + c.ID
	for i := range pl.Users {
		u := &pl.Users[i]
		o.forgetUser(u.ID)
		if err := o.tx.PutUser(o.ctx, u); err != nil {
			return nil, err
		}
		action := roster.ActionUserUpdated
		switch {
		case pl.Created[u.ID]:
			action = roster.ActionUserCreated
		case pl.StatusChanged[u.ID]:
			o.userChanged(u.ID)
			action = roster.UserStatusAction(u.Status)
			if !u.Active() {
				if err := o.endSessions(u.ID); err != nil {
					return nil, err
				}
			}
		}
		var data any
		if pl.Created[u.ID] {
			o.fieldsChanged(nil, u)
		} else {
			// in.Users is ordered by id, and the plan's users are copies.
			if i, found := slices.BinarySearchFunc(in.Users, u.ID, func(v roster.User, id string) int { return strings.Compare(v.ID, id) }); found {
				o.fieldsChanged(&in.Users[i], u)
				if d := same.Changes(in.Users[i], *u); d != nil {
					data = d
				}
			}
		}
		if err := o.audit(action, "user", u.ID, reason, data); err != nil {
			return nil, err
		}
	}
	if c.Users {
		if err := o.tx.SetConnectorUsers(o.ctx, c.ID, pl.Fed); err != nil {
			return nil, err
		}
	}
	for i := range pl.NewEntitlements {
		if err := o.putEntitlement(&pl.NewEntitlements[i]); err != nil {
			return nil, err
		}
		if err := o.audit(roster.ActionEntitlementFound, "entitlement", pl.NewEntitlements[i].ID, reason, nil); err != nil {
			return nil, err
		}
	}
	for _, g := range pl.AddGrants {
		if err := o.addGrant(g.User, g.Entitlement, []string{roster.SourceDirect}, "seen by "+reason); err != nil {
			return nil, err
		}
	}
	for _, g := range pl.RemoveGrants {
		if err := o.deleteGrant(g.User, g.Entitlement); err != nil {
			return nil, err
		}
		o.grantChanged(g.Entitlement)
		if err := o.audit(roster.ActionGrantRemovedOutside, "grant", g.User+" "+g.Entitlement,
			"removed outside Roster: "+reason+" no longer reports it", nil); err != nil {
			return nil, err
		}
	}
	if pl.PlansAccess {
		c.Status.Entitlements = pl.Entitlements
	}
	if c.Status.State == roster.ConnectorHeld {
		c.Status.State, c.Status.Held, c.Status.HeldAt, c.Status.HeldWhy = roster.ConnectorActive, nil, nil, ""
		if err := o.tx.PutStagedSnapshot(o.ctx, c.ID, nil); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// snapshotInput reads what planning a sync of c that read snap needs: every
// user, the users c fed (for a source of people), and, when the sync plans
// access, which of the reported entitlements exist and the grants of c's
// app.
func (o *op) snapshotInput(c *roster.Connector, snap *connector.Snapshot, started time.Time, force bool) (connsync.Input, error) {
	in := connsync.Input{Connector: c, Snapshot: snap, Started: started, Now: o.now, Force: force}
	var err error
	if in.Users, err = o.tx.AllUsers(o.ctx); err != nil {
		return in, err
	}
	if c.Users {
		if in.Fed, err = o.tx.ConnectorUsers(o.ctx, c.ID); err != nil {
			return in, err
		}
	}
	if !connsync.PlansAccess(c, snap) {
		return in, nil
	}
	in.Entitlements = map[string]bool{}
	for _, id := range connsync.EntitlementIDs(c.App, snap) {
		if _, err := o.entitlement(id); err == nil {
			in.Entitlements[id] = true
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return in, err
		}
	}
	cursor := ""
	for {
		page, err := o.tx.Grants(o.ctx, roster.GrantFilter{App: c.App, Cursor: cursor, Limit: 5000})
		if err != nil {
			return in, err
		}
		for _, g := range page.Items {
			in.Grants = append(in.Grants, connsync.Grant{Access: connsync.Access{User: g.User, Entitlement: g.Entitlement}, UpdatedAt: g.UpdatedAt})
		}
		if page.NextCursor == "" {
			return in, nil
		}
		cursor = page.NextCursor
	}
}
