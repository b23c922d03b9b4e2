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
// admin. Tests call RunOnce; it syncs every due connector and returns how
// many it synced.
type ConnectorScheduler struct {
	*Worker[string]
}

// NewConnectorScheduler returns a connector scheduler over e that looks for
// due connectors every tick.
func NewConnectorScheduler(e *Engine, tick time.Duration) *ConnectorScheduler {
	s := &ConnectorScheduler{}
	s.Worker = newWorker(e, tick, workerConfig{name: "connectors", lease: connectorLease}, s)
	return s
}

// due lists the connectors due for a sync.
func (s *ConnectorScheduler) due(ctx context.Context) ([]string, error) {
	var due []string
	err := s.engine.store.View(ctx, func(tx roster.Tx) error {
		due = nil
		cs, err := tx.Connectors(ctx)
		if err != nil {
			return err
		}
		now := s.engine.clock.Now()
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
	return due, err
}

// process syncs one connector. A connector whose system fails is synced
// all the same: the failure is recorded as its last run, which says why.
func (s *ConnectorScheduler) process(ctx context.Context, id string) (bool, error) {
	if _, err := s.engine.syncConnector(ctx, ActorSystem, id); err != nil {
		if code := roster.ErrorCode(err); code != roster.EUNAVAILABLE && code != roster.EINVALID {
			return false, err
		}
		s.engine.logger.Warn("connector sync failed", "connector", id, "error", err)
	}
	return true, nil
}

func (s *ConnectorScheduler) key(id string) string { return "connector " + id }
