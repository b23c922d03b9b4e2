package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Worker runs one kind of background work, its job, on the replica that
// holds the job's database lease: every Tick, and at once when the job's
// wake-up fires, it reads what is due and processes it item by item. An item
// that fails is logged, counted (roster_worker_failures_total) and left as
// it was, due for the next run; the items after it are processed all the
// same. Scheduler, ChangeSync, Notifier, Provisioner and ConnectorScheduler
// are Workers, each with its own job. Tests call RunOnce.
type Worker[T any] struct {
	// Tick is how often it looks for due work when nothing wakes it. Zero or
	// less: Start does nothing, and only RunOnce runs the job.
	Tick time.Duration

	engine *Engine
	job    job[T]
	workerConfig
	stop, done chan struct{}
}

// job is one kind of background work: what is due, and how one item of it is
// processed.
type job[T any] interface {
	// due reads what is due now.
	due(ctx context.Context) ([]T, error)
	// process processes one item, in transactions of its own, and reports
	// whether it did what the worker counts (a sync, a delivery). An error
	// leaves the item as it was.
	process(ctx context.Context, item T) (bool, error)
	// key names an item in logs and errors ("profile sales"); the items of
	// one run have different keys.
	key(item T) string
}

// batchJob is a job whose due items are processed together, several in one
// transaction, rather than one at a time: processAll gives each item the
// outcome process would have given it, in the order of items.
type batchJob[T any] interface {
	job[T]
	processAll(ctx context.Context, items []T) []outcome
}

// outcome is what processing one item came to.
type outcome struct {
	done bool
	err  error
}

// workerConfig says how a Worker runs its job.
type workerConfig struct {
	// name names the worker in logs and metrics ("scheduler").
	name string
	// lease is the database lease the job runs under.
	lease string
	// wake, when it fires, runs the job at once.
	wake <-chan struct{}
	// passes is how many times one run reads what is due, while there is
	// some (processing an item can make another due); 0 means once. An item
	// that failed is not tried again in the same run.
	passes int
}

// newWorker returns a worker over e that runs j every tick.
func newWorker[T any](e *Engine, tick time.Duration, cfg workerConfig, j job[T]) *Worker[T] {
	return &Worker[T]{Tick: tick, engine: e, job: j, workerConfig: cfg}
}

// RunOnce processes what is due, if this replica holds the lease, and returns
// how many items it processed to the end the worker counts. The error joins
// the failures of the run: an item's, which did not stop the others, or
// reading what is due, which ends the run.
func (w *Worker[T]) RunOnce(ctx context.Context) (int, error) {
	if leader, err := w.engine.lead(ctx, w.lease); err != nil || !leader {
		if err != nil {
			w.failed("", err)
		}
		return 0, err
	}
	n := 0
	var errs []error
	failed := map[string]bool{}
	for pass := range max(w.passes, 1) {
		if pass > 0 {
			// Still the lease holder? (It renews the lease as it runs.)
			if leader, err := w.engine.lead(ctx, w.lease); err != nil || !leader {
				if err != nil {
					w.failed("", err)
					errs = append(errs, fmt.Errorf("%s: %w", w.name, err))
				}
				break
			}
		}
		items, err := w.job.due(ctx)
		if err != nil {
			w.failed("", err)
			return n, errors.Join(append(errs, fmt.Errorf("%s: read what is due: %w", w.name, err))...)
		}
		items = slices.DeleteFunc(items, func(item T) bool { return failed[w.job.key(item)] })
		if len(items) == 0 {
			break
		}
		for i, out := range w.process(ctx, items) {
			if out.err != nil {
				key := w.job.key(items[i])
				failed[key] = true
				w.failed(key, out.err)
				errs = append(errs, fmt.Errorf("%s: %s: %w", w.name, key, out.err))
			} else if out.done {
				n++
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return n, errors.Join(errs...)
}

// process processes items, together when the job is a batchJob and else
// each on its own, so that one failing does not stop the others.
func (w *Worker[T]) process(ctx context.Context, items []T) []outcome {
	if b, ok := w.job.(batchJob[T]); ok {
		return b.processAll(ctx, items)
	}
	outs := make([]outcome, 0, len(items))
	for _, item := range items {
		if ctx.Err() != nil {
			break // stopping: the rest stays due
		}
		done, err := w.job.process(ctx, item)
		outs = append(outs, outcome{done, err})
	}
	return outs
}

// failed logs and counts a failure of the item named key, or of the run.
func (w *Worker[T]) failed(key string, err error) {
	w.engine.metrics.workerFailures.WithLabelValues(w.name).Inc()
	if key == "" {
		w.engine.logger.Error("background work failed", "worker", w.name, "error", err)
		return
	}
	w.engine.logger.Error("background work failed", "worker", w.name, "item", key, "error", err)
}

// Start runs the job in the background, every Tick and whenever it is woken,
// until Stop. It does nothing when Tick is zero or less.
func (w *Worker[T]) Start(ctx context.Context) {
	if w.Tick <= 0 {
		return
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		ticker := time.NewTicker(w.Tick)
		defer ticker.Stop()
		for {
			w.RunOnce(ctx) // logs its failures
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-w.wake:
			}
		}
	}()
}

// Stop stops the worker and waits for its current run to end. Stopping a
// worker that is not running does nothing.
func (w *Worker[T]) Stop() {
	if w.stop == nil {
		return
	}
	close(w.stop)
	<-w.done
	w.stop = nil
}
