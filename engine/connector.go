package engine

// Connectors: the connectors this process has open, one lock per connector,
// and the reads of connectors. What a connector does lives by job:
// connector_apply.go declares connectors from a file, connector_sync.go
// reads a system and applies its snapshot, connector_schedule.go syncs each
// connector on its interval, and provision.go carries out tasks through
// connectors.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

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

// openConnector returns the opened connector for c, opening it (again) when its
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

// Close releases what the engine holds open: its connectors' connections.
func (e *Engine) Close() { e.closeConnectors() }

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
