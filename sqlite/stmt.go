package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/rosterhq/roster/internal/sqlstore"
)

// maxCachedStatements bounds a pool's statement cache; queries past it run
// unprepared. The store's queries come in a bounded number of shapes.
const maxCachedStatements = 512

// stmtCache keeps a pool's prepared statements, so that SQLite compiles each
// distinct query once instead of on every call (database/sql prepares anew
// otherwise, which cost a third of a busy sync). A query is prepared on the
// pool only between transactions: preparing inside one would wait for the
// connection the transaction holds (the writer pool has just one).
type stmtCache struct {
	pool      *sql.DB
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	pending   map[string]bool
	preparing bool
	closed    bool
	wg        sync.WaitGroup
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// lookup returns query's prepared statement, or nil after noting the query
// to prepare once the transaction is over.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	if len(c.stmts)+len(c.pending) < maxCachedStatements {
		c.pending[query] = true
	}
	return nil
}

// prepare prepares, in the background, the queries noted since the last
// call. It holds no lock while it waits for a connection, so a transaction
// that holds one is never kept from finishing; a query that fails to prepare
// is simply not cached.
func (c *stmtCache) prepare() {
	c.mu.Lock()
	if c.preparing || c.closed || len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	c.preparing = true
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		for _, q := range queries {
			s, err := c.pool.PrepareContext(context.Background(), q)
			c.mu.Lock()
			delete(c.pending, q)
			if err == nil && !c.closed {
				c.stmts[q] = s
			} else if err == nil {
				s.Close()
			}
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.preparing = false
		c.mu.Unlock()
	}()
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

// cachedTx is a transaction whose statements come from its pool's cache, or
// else are prepared on the transaction itself the first time it meets them
// and kept until it ends: a long transaction (a first apply, a large sync)
// compiles each query once even before the pool's cache has it. It has the
// methods of *sql.Tx the store uses.
type cachedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	// local is used by one goroutine at a time: the writer goroutine runs
	// its jobs while the transaction's own goroutine gives more, and every
	// other statement waits for it first (see writeBehind).
	local map[string]*sql.Stmt
	// held are the rows written behind (see writeBehind); every other
	// statement writes them first.
	held *writeBehind
}

func newCachedTx(tx *sql.Tx, cache *stmtCache) cachedTx {
	return cachedTx{tx: tx, cache: cache, local: map[string]*sql.Stmt{}, held: newWriteBehind()}
}

// flush writes the held rows.
func (t cachedTx) flush(ctx context.Context) error {
	if t.held.err == nil && !t.held.held() {
		return nil
	}
	return t.held.flush(ctx, t)
}

// stmt returns query's statement bound to the transaction, or nil when it
// cannot be prepared (the caller then runs the query unprepared, which
// reports the error).
func (t cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := t.local[query]; ok {
		return s
	}
	var s *sql.Stmt
	if pooled := t.cache.lookup(query); pooled != nil {
		s = t.tx.StmtContext(ctx, pooled)
	} else if prepared, err := t.tx.PrepareContext(ctx, query); err == nil {
		s = prepared
	} else {
		return nil
	}
	t.local[query] = s
	return s
}

// ExecContext runs a statement that returns no rows.
func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.execDirect(ctx, query, args...)
}

// behind gives job to the transaction's writer goroutine (see
// writeBehind): it runs after the jobs given before it, and every later
// statement but another job waits for it. An error sticks. Until a full
// chunk of held rows has started the goroutine, job runs at once and its
// error is returned too: a transaction that writes a few rows (a decision,
// say) would only pay for the hand-over.
func (t cachedTx) behind(job func() error) error {
	if t.held.err != nil {
		return t.held.err
	}
	if !t.held.bg.started() {
		if err := job(); err != nil {
			t.held.err = err
			return err
		}
		return nil
	}
	t.held.bg.submit(job)
	return nil
}

// ExecBehind runs a statement by the writer goroutine, without waiting for
// it (see sqlstore.BehindExecer): for a statement that reads nothing the
// transaction wrote. An error sticks.
func (t cachedTx) ExecBehind(ctx context.Context, query string, args ...any) error {
	return t.behind(func() error {
		_, err := t.execDirect(ctx, query, args...)
		return err
	})
}

// stop waits for the transaction's writer goroutine and ends it.
func (t cachedTx) stop() error {
	if err := t.held.bg.stop(); err != nil && t.held.err == nil {
		t.held.err = err
	}
	return t.held.err
}

// execDirect runs a statement without writing the held rows first.
func (t cachedTx) execDirect(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
// A failure to write the held rows first sticks: the transaction cannot
// commit.
func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.flush(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// Query implements sqlstore.Querier.
func (t cachedTx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// QueryRow implements sqlstore.Querier.
func (t cachedTx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return t.QueryRowContext(ctx, query, args...)
}

// Exec implements sqlstore.Querier.
func (t cachedTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExecUnique implements sqlstore.Querier: a failed statement leaves an
// SQLite transaction usable as it is.
func (t cachedTx) ExecUnique(ctx context.Context, query string, args ...any) (int64, error) {
	return t.Exec(ctx, query, args...)
}
