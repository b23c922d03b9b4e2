package engine

import (
	"context"
	"time"
)

// loop runs a background service's RunOnce every tick, and at once when its
// wake channel fires, until Stop. Scheduler, ChangeSync, Notifier,
// Provisioner and ConnectorScheduler embed it.
type loop struct {
	stop, done chan struct{}
}

// start runs run in the background; what fails is logged as what.
func (l *loop) start(ctx context.Context, e *Engine, what string, tick time.Duration, wake <-chan struct{}, run func(context.Context) (int, error)) {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for {
			if _, err := run(ctx); err != nil {
				e.logger.Error(what+" failed", "error", err)
			}
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-wake:
			}
		}
	}()
}

// Stop stops the service and waits for its current run to end.
func (l *loop) Stop() {
	if l.stop == nil {
		return
	}
	close(l.stop)
	<-l.done
	l.stop = nil
}
