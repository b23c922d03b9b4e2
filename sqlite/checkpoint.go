package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointInterval is the least time between two checkpoints.
var checkpointInterval = time.Second

// restartFrames is the size of the log (in pages) from which the writer
// finishes a checkpoint itself after a commit, so that the log starts over.
var restartFrames = 65536 // 256 MiB of 4 KiB pages

// checkpointer copies the write-ahead log back into the database file on a
// connection of its own, at most once a second after a commit. SQLite would
// otherwise checkpoint inside whichever commit passes a thousand pages of
// log, on the writer's time: a tenth of a sync that creates many tasks. The
// checkpoints are PASSIVE, so they never wait for or hold up the writer or
// the readers; SQLite checkpoints once more when the last connection closes.
//
// A log only starts over when a write begins with every frame copied, which
// a background checkpoint never sees while writes follow one another: so
// once the log passes restartFrames, the writer, after its next commit,
// checkpoints what is left (little: the background has copied the rest),
// and the write after it starts the log over.
type checkpointer struct {
	pool *sql.DB
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
	// large is set when the log passed restartFrames.
	large atomic.Bool
	// rounds counts the background checkpoints tried (for tests).
	rounds atomic.Int64
}

func newCheckpointer(pool *sql.DB) *checkpointer {
	c := &checkpointer{pool: pool, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

// committed tells the checkpointer that a write transaction committed.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default: // a checkpoint is already due
	}
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		// An error (the database closing, a busy checkpoint lock) leaves the
		// log to the next checkpoint.
		var busy, log, copied int
		if err := c.pool.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err == nil && log >= restartFrames {
			c.large.Store(true)
		}
		c.rounds.Add(1)
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// finish checkpoints on the writer, after a commit, when the log has grown
// past restartFrames.
func (c *checkpointer) finish(ctx context.Context, writer *sql.DB) {
	if c.large.CompareAndSwap(true, false) {
		writer.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.pool.Close()
}
