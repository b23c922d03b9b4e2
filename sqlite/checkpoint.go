package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointInterval is the least time between two checkpoints.
const checkpointInterval = time.Second

// checkpointer copies the write-ahead log back into the database file on a
// connection of its own, at most once a second after a commit. SQLite would
// otherwise checkpoint inside whichever commit passes a thousand pages of
// log, on the writer's time: a tenth of a sync that creates many tasks. The
// checkpoints are PASSIVE, so they never wait for or hold up the writer or
// the readers; SQLite checkpoints once more when the last connection closes.
type checkpointer struct {
	pool *sql.DB
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
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
		c.pool.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.pool.Close()
}
