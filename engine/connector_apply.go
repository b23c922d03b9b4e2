package engine

// Declaring connectors in a file: the parser's checks of a connector's
// settings and of the apps connectors feed, and the upsert of a connector
// that keeps its runtime state.

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine/internal/same"
)

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
		if err := a.change(roster.ActionAppCreated, app.ID, nil); err != nil {
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
	changed := err == nil && !same.Content(*old, *c)
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
