package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
)

// connectors keeps the opened connectors of this process, reopened when
// their configuration changes, and one lock per connector so that its syncs
// and its provisioning never overlap in this process: a sync never mistakes
// a grant provisioned while it read the system for one removed outside
// Roster.
type connectors struct {
	mu    sync.Mutex
	open  map[string]openConnector
	locks map[string]*sync.Mutex
}

type openConnector struct {
	conn connector.Connector
	// config is the configuration it was opened with.
	config string
}

// lock returns the lock of connector id.
func (cs *connectors) lock(id string) *sync.Mutex {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.locks == nil {
		cs.locks = map[string]*sync.Mutex{}
	}
	l, ok := cs.locks[id]
	if !ok {
		l = &sync.Mutex{}
		cs.locks[id] = l
	}
	return l
}

// get returns the opened connector for c, opening it (again) when its
// configuration changed since.
func (e *Engine) openConnector(c *roster.Connector) (connector.Connector, error) {
	config, err := json.Marshal([]any{c.Type, c.App, c.Settings})
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", c.ID, err)
	}
	cs := &e.conns
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if oc, ok := cs.open[c.ID]; ok && oc.config == string(config) {
		return oc.conn, nil
	} else if ok {
		oc.conn.Close()
	}
	conn, err := connector.Open(c.Type, e.connectorConfig(c))
	if err != nil {
		return nil, roster.Errorf(roster.EINVALID, "connector %s: %v", c.ID, err)
	}
	if cs.open == nil {
		cs.open = map[string]openConnector{}
	}
	cs.open[c.ID] = openConnector{conn: conn, config: string(config)}
	return conn, nil
}

func (e *Engine) connectorConfig(c *roster.Connector) connector.Config {
	return connector.Config{ID: c.ID, App: c.App, Settings: connector.Settings(c.Settings),
		Now: e.clock.Now, Logger: e.logger.With("connector", c.ID), Access: e.access}
}

// closeConnectors closes every opened connector.
func (e *Engine) closeConnectors() {
	cs := &e.conns
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for id, oc := range cs.open {
		oc.conn.Close()
		delete(cs.open, id)
	}
}

// CheckConnector validates a connector's type and settings without
// contacting its system (the declarative parser asks).
func (k *known) CheckConnector(c *roster.Connector) error {
	conn, err := connector.Open(c.Type, k.o.e.connectorConfig(c))
	if err != nil {
		return err
	}
	return conn.Close()
}

// HasConnectorApp reports whether an existing connector feeds app.
func (k *known) HasConnectorApp(app string) bool {
	_, err := k.o.appConnector(app)
	return k.exists(err)
}

// appConnector returns the connector that feeds app, or ENOTFOUND.
func (o *op) appConnector(app string) (*roster.Connector, error) {
	cs, err := o.tx.Connectors(o.ctx)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].App == app {
			return &cs[i], nil
		}
	}
	return nil, roster.Errorf(roster.ENOTFOUND, "no connector feeds app %s", app)
}

// applyConnector upserts a connector from a declarative file, keeping its
// runtime state. Saving a held connector with a changed configuration
// discards the held sync, as editing a paused profile discards its plan.
func (a *applier) applyConnector(c *roster.Connector) error {
	if other, err := a.appConnector(c.App); err == nil && other.ID != c.ID {
		return roster.Errorf(roster.EINVALID, "connector %s: app %s is already fed by connector %s: an app has one connector", c.ID, c.App, other.ID)
	} else if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	if _, err := a.tx.App(a.ctx, c.App); roster.ErrorCode(err) == roster.ENOTFOUND {
		app := &roster.App{ID: c.App, Name: c.App, Owners: []string{}, CreatedAt: a.now, UpdatedAt: a.now}
		if err := a.tx.PutApp(a.ctx, app); err != nil {
			return err
		}
		if err := a.change(roster.ActionAppCreated, app.ID); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	old, err := a.tx.Connector(a.ctx, c.ID)
	if err == nil {
		c.Status = old.Status
	} else if roster.ErrorCode(err) == roster.ENOTFOUND {
		c.Status = roster.ConnectorStatus{State: roster.ConnectorActive}
	}
	changed := err == nil && !same(*old, *c)
	if changed && c.Status.State == roster.ConnectorHeld {
		c.Status.State, c.Status.Held, c.Status.HeldAt, c.Status.HeldWhy = roster.ConnectorActive, nil, nil, ""
		if err := a.tx.PutStagedSnapshot(a.ctx, c.ID, nil); err != nil {
			return err
		}
		if err := a.audit(roster.ActionConnectorHoldDiscarded, "connector", c.ID, "configuration changed", nil); err != nil {
			return err
		}
	}
	return upsert(a, connectorLifecycle, c.ID, old, err, c, func() error { return a.tx.PutConnector(a.ctx, c) })
}

// Connectors lists the connectors with their last run (admins and auditors).
func (e *Engine) Connectors(ctx context.Context) ([]roster.Connector, error) {
	var out []roster.Connector
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("list connectors"); err != nil {
			return err
		}
		out, err = o.tx.Connectors(o.ctx)
		return err
	})
	return out, err
}

// Connector returns one connector (admins and auditors).
func (e *Engine) Connector(ctx context.Context, id string) (*roster.Connector, error) {
	var out *roster.Connector
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("read connectors"); err != nil {
			return err
		}
		out, err = o.tx.Connector(o.ctx, id)
		return err
	})
	return out, err
}

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

// maxSkipped bounds the list of items a sync reports it could not take in.
const maxSkipped = 20

// snapshotPlan is what applying a snapshot changes.
type snapshotPlan struct {
	res *roster.ConnectorSyncResult
	// Users to put (created or changed), with whether their status changed.
	users        []roster.User
	created      map[string]bool
	statusChange map[string]bool
	fed          []string
	newEnts      []roster.Entitlement
	seenEnts     []string
	addGrants    [][2]string
	removeGrants [][2]string
	hasEnts      bool
	// activeFed and grants are the active users the connector fed and the
	// grants of its app before this sync: what the delete threshold is a
	// share of.
	activeFed, grants int
}

func (pl *snapshotPlan) skip(what, why string) {
	if len(pl.res.Skipped) < maxSkipped {
		pl.res.Skipped = append(pl.res.Skipped, roster.ConnectorSkippedItem{What: what, Why: why})
	}
}

// applySnapshot turns what the system reported into changes of users,
// entitlements and grants. Unless force is set, a snapshot that would
// remove more than the delete threshold allows changes nothing and comes
// back Held. Grants changed after started (by provisioning while the system
// was read) are left alone.
func (o *op) applySnapshot(c *roster.Connector, snap *connector.Snapshot, started time.Time, force bool) (*roster.ConnectorSyncResult, error) {
	pl, err := o.planSnapshot(c, snap, started)
	if err != nil {
		return nil, err
	}
	res := pl.res
	if !force && c.Status.LastOKAt != nil {
		if why := pl.overThreshold(c.DeleteThresholdPercent); why != "" {
			res.Held, res.Reason = true, why
			return res, nil
		}
	}
	reason := "connector " + c.ID
	for i := range pl.users {
		u := &pl.users[i]
		if err := o.tx.PutUser(o.ctx, u); err != nil {
			return nil, err
		}
		action := roster.ActionUserUpdated
		switch {
		case pl.created[u.ID]:
			action = roster.ActionUserCreated
		case pl.statusChange[u.ID]:
			o.userChanged(u.ID)
			action = roster.UserStatusAction(u.Status)
		}
		if err := o.audit(action, "user", u.ID, reason, nil); err != nil {
			return nil, err
		}
	}
	if c.Users {
		if err := o.tx.SetConnectorUsers(o.ctx, c.ID, pl.fed); err != nil {
			return nil, err
		}
	}
	for i := range pl.newEnts {
		if err := o.putEntitlement(&pl.newEnts[i]); err != nil {
			return nil, err
		}
		if err := o.audit(roster.ActionEntitlementFound, "entitlement", pl.newEnts[i].ID, reason, nil); err != nil {
			return nil, err
		}
	}
	for _, g := range pl.addGrants {
		if err := o.addGrant(g[0], g[1], []string{roster.SourceDirect}, "seen by "+reason); err != nil {
			return nil, err
		}
	}
	for _, g := range pl.removeGrants {
		if err := o.deleteGrant(g[0], g[1]); err != nil {
			return nil, err
		}
		o.grantChanged(g[1])
		if err := o.audit(roster.ActionGrantRemovedOutside, "grant", g[0]+" "+g[1],
			"removed outside Roster: "+reason+" no longer reports it", nil); err != nil {
			return nil, err
		}
	}
	if pl.hasEnts {
		c.Status.Entitlements = pl.seenEnts
	}
	if c.Status.State == roster.ConnectorHeld {
		c.Status.State, c.Status.Held, c.Status.HeldAt, c.Status.HeldWhy = roster.ConnectorActive, nil, nil, ""
		if err := o.tx.PutStagedSnapshot(o.ctx, c.ID, nil); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// overThreshold says why the plan removes more than limit percent of the
// users or grants the connector feeds, or "".
func (pl *snapshotPlan) overThreshold(limit int) string {
	over := func(removed, of int) bool { return of > 0 && removed*100 > limit*of }
	r := pl.res
	if n := r.Users.Disabled; over(n, pl.activeFed) {
		return fmt.Sprintf("it would disable %d of the %d active users it feeds, more than the delete threshold of %d%%", n, pl.activeFed, limit)
	}
	if n := r.Grants.Removed; over(n, pl.grants) {
		return fmt.Sprintf("it would remove %d of the %d grants it feeds, more than the delete threshold of %d%%", n, pl.grants, limit)
	}
	return ""
}

// planSnapshot computes what a snapshot changes, without changing anything.
func (o *op) planSnapshot(c *roster.Connector, snap *connector.Snapshot, started time.Time) (*snapshotPlan, error) {
	pl := &snapshotPlan{res: &roster.ConnectorSyncResult{Connector: c.ID}, created: map[string]bool{}, statusChange: map[string]bool{}}
	users, err := o.tx.AllUsers(o.ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*roster.User, len(users))
	byEmail := make(map[string]*roster.User, len(users))
	for i := range users {
		u := &users[i]
		byID[u.ID] = u
		if u.Email != "" {
			byEmail[strings.ToLower(u.Email)] = u
		}
	}
	// Map accounts to user ids.
	accountUser := make(map[string]string, len(snap.Accounts))
	for _, a := range snap.Accounts {
		var uid string
		if c.MatchBy == connector.MatchByEmail {
			if u := byEmail[strings.ToLower(a.Email)]; u != nil && a.Email != "" {
				uid = u.ID
			} else if c.Users && a.Email != "" {
				uid = connector.UserID(a.ID)
				if u := byID[uid]; u != nil && !strings.EqualFold(u.Email, a.Email) {
					pl.skip("account "+a.ID, fmt.Sprintf("user %s exists with another email", uid))
					continue
				}
			}
		} else {
			uid = connector.UserID(a.ID)
			if !c.Users && byID[uid] == nil {
				uid = ""
			}
		}
		if uid == "" || uid == "-" {
			pl.res.Unmatched++
			continue
		}
		if uid == roster.AdminUser {
			pl.skip("account "+a.ID, "the built-in admin is not fed by connectors")
			continue
		}
		accountUser[a.ID] = uid
	}
	if c.Users {
		if err := o.planUsers(c, snap, pl, byID, accountUser); err != nil {
			return nil, err
		}
	}
	if err := o.planAccess(c, snap, pl, accountUser, started); err != nil {
		return nil, err
	}
	return pl, nil
}

// planUsers plans the users a source of people creates, updates and disables.
func (o *op) planUsers(c *roster.Connector, snap *connector.Snapshot, pl *snapshotPlan, byID map[string]*roster.User, accountUser map[string]string) error {
	before, err := o.tx.ConnectorUsers(o.ctx, c.ID)
	if err != nil {
		return err
	}
	for _, id := range before {
		if u := byID[id]; u != nil && u.Active() {
			pl.activeFed++
		}
	}
	listed := map[string]bool{}
	for _, a := range snap.Accounts {
		uid, ok := accountUser[a.ID]
		if !ok || listed[uid] {
			continue
		}
		listed[uid] = true
		want := roster.User{ID: uid, Email: a.Email, Name: a.Name, Department: a.Department, Title: a.Title,
			Status: roster.UserActive, Role: roster.RoleUser, Attributes: a.Attributes}
		if a.Manager != "" {
			if m, ok := accountUser[a.Manager]; ok {
				want.Manager = m
			} else {
				want.Manager = connector.UserID(a.Manager)
			}
		}
		if a.Disabled {
			want.Status = roster.UserDisabled
		}
		if want.Name == "" {
			want.Name = uid
		}
		old := byID[uid]
		if old == nil {
			want.CreatedAt, want.UpdatedAt = o.now, o.now
			pl.created[uid] = true
			pl.users = append(pl.users, want)
			pl.res.Users.Added++
			continue
		}
		next := *old
		next.Email, next.Name, next.Manager, next.Department, next.Title, next.Status =
			want.Email, want.Name, want.Manager, want.Department, want.Title, want.Status
		if len(want.Attributes) > 0 {
			next.Attributes = want.Attributes
		}
		if same(*old, next) {
			continue
		}
		next.UpdatedAt = o.now
		if old.Status != next.Status {
			pl.statusChange[uid] = true
			if next.Status == roster.UserDisabled {
				pl.res.Users.Disabled++
			} else {
				pl.res.Users.Changed++
			}
		} else {
			pl.res.Users.Changed++
		}
		pl.users = append(pl.users, next)
	}
	for _, id := range before {
		u := byID[id]
		if listed[id] || u == nil || !u.Active() || id == roster.AdminUser {
			continue
		}
		next := *u
		next.Status, next.UpdatedAt = roster.UserDisabled, o.now
		pl.statusChange[id] = true
		pl.res.Users.Disabled++
		pl.users = append(pl.users, next)
	}
	pl.fed = make([]string, 0, len(listed))
	for id := range listed {
		pl.fed = append(pl.fed, id)
	}
	slices.Sort(pl.fed)
	return nil
}

// planAccess plans the entitlements and grants of the connector's app.
func (o *op) planAccess(c *roster.Connector, snap *connector.Snapshot, pl *snapshotPlan, accountUser map[string]string, started time.Time) error {
	if len(snap.Entitlements) == 0 && len(snap.Grants) == 0 && len(c.Status.Entitlements) == 0 {
		return nil // a source of people only, such as an HR feed
	}
	pl.hasEnts = true
	seen := map[string]bool{}
	for _, se := range snap.Entitlements {
		id := roster.EntitlementID(c.App, se.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		pl.seenEnts = append(pl.seenEnts, se.ID)
		if _, err := o.entitlement(id); err == nil {
			continue
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		d := c.EntitlementDefaults
		name := se.Name
		if name == "" {
			name = se.ID
		}
		pl.newEnts = append(pl.newEnts, roster.Entitlement{ID: id, App: c.App, Name: name,
			RequestPolicy: d.RequestPolicy, RevokePolicy: d.RevokePolicy, Provisioning: orDefault(d.Provisioning, roster.ProvisionConnector),
			Provisioners: orEmpty(d.Provisioners), Risk: orDefault(d.Risk, roster.RiskLow), CreatedAt: o.now, UpdatedAt: o.now})
		pl.res.Entitlements.Added++
	}
	slices.Sort(pl.seenEnts)
	for _, local := range c.Status.Entitlements {
		if !seen[roster.EntitlementID(c.App, local)] {
			pl.res.Entitlements.Removed++
		}
	}
	want := map[[2]string]bool{}
	for _, g := range snap.Grants {
		uid, ok := accountUser[g.Account]
		ent := roster.EntitlementID(c.App, g.Entitlement)
		if !ok || !seen[ent] {
			continue
		}
		want[[2]string{uid, ent}] = true
	}
	have := map[[2]string]bool{}
	cursor := ""
	for {
		page, err := o.tx.Grants(o.ctx, roster.GrantFilter{App: c.App, Cursor: cursor, Limit: 5000})
		if err != nil {
			return err
		}
		for _, g := range page.Items {
			key := [2]string{g.User, g.Entitlement}
			have[key] = true
			pl.grants++
			if !want[key] && !g.UpdatedAt.After(started) {
				pl.removeGrants = append(pl.removeGrants, key)
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for key := range want {
		if !have[key] {
			pl.addGrants = append(pl.addGrants, key)
		}
	}
	sortPairs(pl.addGrants)
	sortPairs(pl.removeGrants)
	pl.res.Grants.Added, pl.res.Grants.Removed = len(pl.addGrants), len(pl.removeGrants)
	return nil
}

func sortPairs(ps [][2]string) {
	slices.SortFunc(ps, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// connectorLease is the lease under which connector syncs and connector
// provisioning run, on one replica, so that the per-connector lock keeps them
// apart.
const connectorLease = "connectors"

// ConnectorScheduler syncs each connector every sync_interval, on the
// replica that holds the "connectors" lease. A held connector waits for an
// admin. Tests call RunOnce.
type ConnectorScheduler struct {
	engine *Engine
	// Tick is how often it looks for connectors that are due.
	Tick time.Duration
	loop
}

// NewConnectorScheduler returns a connector scheduler over e.
func NewConnectorScheduler(e *Engine, tick time.Duration) *ConnectorScheduler {
	return &ConnectorScheduler{engine: e, Tick: tick}
}

// RunOnce syncs every due connector and returns how many it synced. A
// connector whose system fails is recorded as failed (its last run says
// why) and does not stop the others.
func (s *ConnectorScheduler) RunOnce(ctx context.Context) (int, error) {
	e := s.engine
	if leader, err := e.lead(ctx, connectorLease); err != nil || !leader {
		return 0, err
	}
	var due []string
	err := e.store.View(ctx, func(tx roster.Tx) error {
		cs, err := tx.Connectors(ctx)
		if err != nil {
			return err
		}
		now := e.clock.Now()
		for _, c := range cs {
			if c.Status.State == roster.ConnectorHeld {
				continue
			}
			if c.Status.LastRun == nil || !now.Before(c.Status.LastRun.At.Add(time.Duration(c.SyncInterval))) {
				due = append(due, c.ID)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		if _, err := e.syncConnector(ctx, ActorSystem, id); err != nil {
			if code := roster.ErrorCode(err); code != roster.EUNAVAILABLE && code != roster.EINVALID {
				return n, err
			}
			e.logger.Warn("connector sync failed", "connector", id, "error", err)
		}
		n++
	}
	return n, nil
}

// Start runs it in the background until Stop.
func (s *ConnectorScheduler) Start(ctx context.Context) {
	s.loop.start(ctx, s.engine, "connector sync", s.Tick, nil, s.RunOnce)
}

// Close releases what the engine holds open: its connectors' connections.
func (e *Engine) Close() { e.closeConnectors() }
