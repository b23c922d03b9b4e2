package postgres

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// analyzeMin is how many rows a commit must have copied into a table for
// the analyzer to gather its statistics at once.
const analyzeMin = 10000

// analyzer gathers the planner's statistics of the tables a commit wrote in
// bulk (an apply of thousands of users or grants, a sync's enablement), in
// the background, right after the commit. Autovacuum would, but only at its
// next round (autovacuum_naptime, a minute by default), and until then the
// planner plans with the statistics of before: on a database loaded just
// now, none, so it scans every user where an index finds the few disabled
// ones. Analyzing reads a sample of each table (30,000 rows), whatever its
// size.
type analyzer struct {
	pool   *pgxpool.Pool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// pending are the tables to analyze next; running says a goroutine is
	// analyzing, and takes pending when it is done.
	pending map[string]bool
	running bool
}

func newAnalyzer(pool *pgxpool.Pool) *analyzer {
	ctx, cancel := context.WithCancel(context.Background())
	return &analyzer{pool: pool, ctx: ctx, cancel: cancel, pending: map[string]bool{}}
}

// wrote tells the analyzer how many rows a commit copied into each table.
func (a *analyzer) wrote(copied map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for table, n := range copied {
		if n >= analyzeMin {
			a.pending[table] = true
		}
	}
	if len(a.pending) == 0 || a.running || a.ctx.Err() != nil {
		return
	}
	a.running = true
	a.wg.Add(1)
	go a.run()
}

// run analyzes the pending tables until none are left. A failure (the
// database closing) leaves them to autovacuum.
func (a *analyzer) run() {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		tables := slices.Sorted(maps.Keys(a.pending))
		clear(a.pending)
		if len(tables) == 0 || a.ctx.Err() != nil {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = pgx.Identifier{t}.Sanitize()
		}
		a.pool.Exec(a.ctx, `ANALYZE `+strings.Join(names, ", "))
	}
}

// close stops the analyzer, cancelling an ANALYZE under way.
func (a *analyzer) close() {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
}
