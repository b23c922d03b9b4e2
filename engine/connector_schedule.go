package engine

// The connector scheduler: each connector's sync on its interval.

import (
	"context"
	"time"

	"github.com/rosterhq/roster"
)

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
