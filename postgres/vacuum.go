package postgres

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// vacuumMin is how many events seals must have moved out of event_queue
// since its last vacuum for the vacuumer to vacuum it.
const vacuumMin = 10000

// vacuumQueue is the statement that vacuums the queue (a variable, for the
// test that makes it fail).
var vacuumQueue = `VACUUM (SKIP_LOCKED) event_queue`

// vacuumer vacuums event_queue in the background once seals have moved
// vacuumMin events or more out of it and the last of them left it empty.
// Every event is written into the queue and deleted from it when sealed, so
// after a bulk apply that queued 200,000 events the queue is 2,858 pages of
// dead tuples, in its heap and its primary key, until autovacuum's next
// round (a minute at best, later when it is busy elsewhere, never where it
// is off), and every seal, which the engine runs after each commit that
// queued events, reads past them: with them, a seal of 3 events took 6 to
// 8 ms (median of 31) and one of none 1 to 2 ms; vacuumed, 1.3 to 3.9 ms and
// 0.1 to 0.2 ms. Looking at the queue through its primary key (queueHead)
// alone saves the heap but not the index's dead entries, which the seal's
// DELETE reads too: 8 ms and 1.3 to 4 ms. The vacuum removes both, and cuts
// the empty pages off the heap's end.
//
// It waits for a seal that leaves the queue empty, not merely for
// vacuumMin deletes: a bulk seal is a run of seals of 4,096 events, and a
// vacuum between two of them would leave the dead of those after it, and
// have to read the heap again. VACUUM cannot run in a transaction: it runs
// on a connection of its own from the pool, one at a time, with SKIP_LOCKED
// so that it never waits behind another replica's vacuum or autovacuum's,
// which does the same work. Its locks let seals and queuing go on beside
// it, but for the moment at its end when it cuts the heap: it takes that
// lock only when it is free, and lets it go, leaving the pages, when a
// transaction has waited for it (20 ms at most). A vacuum that fails (the
// connection lost, a timeout) is reported to the logger and changes
// nothing: autovacuum will do it; one cancelled because the store closes
// is not reported.
type vacuumer struct {
	pool   *pgxpool.Pool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	logger *slog.Logger
	// deleted counts the events sealed since the last vacuum began; due
	// says a vacuum should run; running says a goroutine is vacuuming, and
	// runs again when it is done if due.
	deleted      int
	due, running bool
}

func newVacuumer(pool *pgxpool.Pool) *vacuumer {
	ctx, cancel := context.WithCancel(context.Background())
	return &vacuumer{pool: pool, ctx: ctx, cancel: cancel, logger: slog.New(slog.DiscardHandler)}
}

// setLogger sets where failed vacuums are reported.
func (v *vacuumer) setLogger(l *slog.Logger) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.logger = l
}

// sealed tells the vacuumer that a commit moved n events out of the queue,
// and, with drained, that it left none behind that had committed.
func (v *vacuumer) sealed(n int, drained bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.deleted += n
	if drained && v.deleted >= vacuumMin {
		v.due = true
	}
	if !v.due || v.running || v.ctx.Err() != nil {
		return
	}
	v.running = true
	v.wg.Add(1)
	go v.run()
}

// run vacuums the queue until no vacuum is due.
func (v *vacuumer) run() {
	defer v.wg.Done()
	for {
		v.mu.Lock()
		if !v.due || v.ctx.Err() != nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.due, v.deleted = false, 0
		logger := v.logger
		v.mu.Unlock()
		if _, err := v.pool.Exec(v.ctx, vacuumQueue); err != nil && v.ctx.Err() == nil {
			logger.Warn("could not vacuum the event queue: autovacuum will", "error", err)
		}
	}
}

// close stops the vacuumer, cancelling a VACUUM under way.
func (v *vacuumer) close() {
	v.mu.Lock()
	v.cancel()
	v.mu.Unlock()
	v.wg.Wait()
}
