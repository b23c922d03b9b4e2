package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// Sealing the audit log. On a store whose transactions append events beside
// one another (PostgreSQL), an op queues its events (Tx.QueueEvents) rather
// than chaining them, which would make every transaction that writes events
// wait for the one before it to commit. They are chained afterwards, once
// committed, after every event sealed before: by the Sealer, woken by each
// commit that queued some, and before anything reads the audit log (Events,
// VerifyAudit, ExportEvents) or sends webhook messages (the Notifier), so a
// reader sees every event committed before it asked. The webhook messages of queued
// events are enqueued when they are sealed, in the same transaction.

// sealBatch is how many queued events one transaction seals at most.
const sealBatch = 4096

// queuesEvents reports whether the store queues events (see above).
func (e *Engine) queuesEvents() bool {
	q, ok := e.store.(interface{ QueuesEvents() bool })
	return ok && q.QueuesEvents()
}

// sealEvents chains the events queued by transactions that committed
// before it, sealBatch at a time, and enqueues their webhook messages. It
// returns how many it sealed; on a store that queues nothing, it does
// nothing.
func (e *Engine) sealEvents(ctx context.Context) (int, error) {
	if !e.queuesEvents() {
		return 0, nil
	}
	total := 0
	for {
		n := 0
		err := e.updateAs(ctx, ActorSystem, func(o *op) error {
			// Sealing waits for no writer, not even an apply that runs
			// alone: the chain's head is what sealers wait on.
			if err := o.tx.Lock(o.ctx, roster.LockEvents); err != nil {
				return err
			}
			evs, err := o.tx.SealEvents(o.ctx, sealBatch)
			if err != nil {
				return err
			}
			n = len(evs)
			return o.enqueueWebhooks(evs)
		})
		if err != nil {
			return total, fmt.Errorf("seal the audit log: %w", err)
		}
		total += n
		if n < sealBatch {
			return total, nil
		}
	}
}

// wakeSealer tells the Sealer events are queued.
func (e *Engine) wakeSealer() {
	select {
	case e.seal <- struct{}{}:
	default:
	}
}

// Sealer chains queued audit events in the background (see above): every
// Tick, and at once when a commit of this process queued some. Every
// replica runs one; they seal one after the other.
type Sealer struct {
	// Tick is how often it seals when nothing wakes it. Zero or less:
	// Start does nothing, and events are sealed when the log is read.
	Tick time.Duration
	// Gather is how long it waits, once woken by a commit, for the commits
	// that follow before it seals: one seal then chains the events of many
	// (on PostgreSQL a seal costs about nine round trips, as much as a
	// decision). A reader of the audit log seals first (sealed), so it
	// only delays webhook messages, by Gather at most.
	Gather time.Duration

	engine     *Engine
	stop, done chan struct{}
}

// sealGather is a Sealer's Gather by default.
const sealGather = 50 * time.Millisecond

// NewSealer returns a sealer over e that seals every tick, and sealGather
// after a commit wakes it.
func NewSealer(e *Engine, tick time.Duration) *Sealer {
	return &Sealer{Tick: tick, Gather: sealGather, engine: e}
}

// RunOnce seals what is queued and returns how many events it sealed.
func (s *Sealer) RunOnce(ctx context.Context) (int, error) {
	n, err := s.engine.sealEvents(ctx)
	if err != nil {
		s.engine.metrics.workerFailures.WithLabelValues("sealer").Inc()
		s.engine.logger.Error("background work failed", "worker", "sealer", "error", err)
	}
	return n, err
}

// Start seals in the background, every Tick and whenever woken, until
// Stop. It does nothing when Tick is zero or less, or when the store
// queues no events.
func (s *Sealer) Start(ctx context.Context) {
	if s.Tick <= 0 || !s.engine.queuesEvents() {
		return
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		ticker := time.NewTicker(s.Tick)
		defer ticker.Stop()
		for {
			s.RunOnce(ctx) // logs its failures
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-s.engine.seal:
				if !s.gather(ctx) {
					return
				}
			}
		}
	}()
}

// gather waits Gather for more commits to queue events; false when the
// sealer is stopped meanwhile.
func (s *Sealer) gather(ctx context.Context) bool {
	if s.Gather <= 0 {
		return true
	}
	timer := time.NewTimer(s.Gather)
	defer timer.Stop()
	select {
	case <-s.stop:
		return false
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// Stop stops the sealer and waits for its current run to end.
func (s *Sealer) Stop() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stop = nil
}

// sealed runs before a read of the audit log: it seals what is queued, so
// that the read sees every event committed before it.
func (e *Engine) sealed(ctx context.Context) error {
	_, err := e.sealEvents(ctx)
	return err
}
