package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// The locks of read-write transactions are transaction-scoped advisory
// locks, in two levels. Every read-write transaction holds writerLock: most
// hold it exclusively, taken before their first statement, and run alone, as
// if one after another. A transaction that calls Lock first holds it shared,
// beside the other such transactions, and holds the keys it names (a user,
// a profile) besides, exclusive or shared: two that name the same key, one of
// them exclusively, run one after the other. Decisions lock their task
// (its subject, its profile shared); a sync locks its profiles exclusively
// and the users its plan changes (engine/synclock.go); recording quiet
// syncs locks their profiles. The keys of one call are taken in one order,
// writerLock first, then users, then profiles, so that no two transactions
// wait on each other. A later call takes more keys out of that order (a
// sync whose fresh plan names a user its first did not): should two
// transactions then wait on each other, PostgreSQL picks a deadlock victim
// after deadlock_timeout and Update runs it again. A transaction whose keys
// would pass maxLockKeys takes writerLock exclusively instead and runs
// alone: PostgreSQL's lock table is shared by every connection.

// lockMode is which level of writerLock a transaction holds.
type lockMode int8

const (
	lockNone lockMode = iota
	lockShared
	lockExclusive
)

// The classes of the keys Lock takes, the first of the two integers of a
// two-key advisory lock (the writer lock, one bigint, is apart from them).
const (
	classUser    int32 = 1
	classProfile int32 = 2
)

// lockedTx is a read-write transaction that takes writerLock exclusively
// before its first statement, unless Lock took the lighter locks first.
// Every statement of the store goes through it.
type lockedTx struct {
	pgx.Tx
	mode lockMode
	// held are the keys Lock took, each with whether it is held shared.
	held map[lockKey]bool
}

// writer takes writerLock exclusively, unless the transaction holds it.
func (l *lockedTx) writer(ctx context.Context) error {
	if l.mode != lockNone {
		return nil
	}
	l.mode = lockExclusive
	if !takeWriterLock {
		return nil
	}
	if _, err := l.Tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writerLock)); err != nil {
		return fmt.Errorf("postgres: take the writer lock: %w", err)
	}
	return nil
}

// Exec implements pgx.Tx.
func (l *lockedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := l.writer(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return l.Tx.Exec(ctx, sql, args...)
}

// Query implements pgx.Tx.
func (l *lockedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := l.writer(ctx); err != nil {
		return nil, err
	}
	return l.Tx.Query(ctx, sql, args...)
}

// QueryRow implements pgx.Tx.
func (l *lockedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := l.writer(ctx); err != nil {
		return errRow{err}
	}
	return l.Tx.QueryRow(ctx, sql, args...)
}

// Begin implements pgx.Tx: a savepoint, inside the locks.
func (l *lockedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := l.writer(ctx); err != nil {
		return nil, err
	}
	return l.Tx.Begin(ctx)
}

// CopyFrom implements pgx.Tx.
func (l *lockedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := l.writer(ctx); err != nil {
		return 0, err
	}
	return l.Tx.CopyFrom(ctx, table, columns, src)
}

// SendBatch implements pgx.Tx. Should the writer lock fail, the
// transaction is aborted, and so is the batch.
func (l *lockedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	l.writer(ctx)
	return l.Tx.SendBatch(ctx, b)
}

// errRow is a pgx.Row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// lockKey is one two-key advisory lock.
type lockKey struct {
	class, key int32
	shared     bool
}

// keyOf returns the lock of id in class: a hash, so that two ids may share
// a lock, which only makes their transactions wait for each other.
func keyOf(class int32, id string, shared bool) lockKey {
	h := fnv.New32a()
	h.Write([]byte(id))
	return lockKey{class: class, key: int32(h.Sum32()), shared: shared}
}

// Lock implements roster.LockStore. Called first in a read-write
// transaction, it takes writerLock shared and keys; a task's key stands for
// its subject, exclusively, and its profile, shared — exclusively for an
// exclusion task, since a denied one changes the profile. A task's user,
// profile and entitlement never change, so reading them before the locks
// is safe. A task that does not exist locks nothing more: whoever reads it
// next finds it missing. Called again, it takes the keys not yet held (a
// key held shared and asked for exclusively is taken exclusively). Should
// the keys held pass maxLockKeys, it takes writerLock exclusively instead —
// on a later call while holding it shared, which waits for every other
// holder — and the transaction runs alone.
func (t *tx) Lock(ctx context.Context, keys ...roster.LockKey) error {
	l := t.locked
	if l == nil || l.mode == lockExclusive {
		return nil
	}
	first := l.mode == lockNone
	l.mode = lockShared
	if first && len(keys) == 1 && keys[0].Kind == "task" {
		return t.lockTask(ctx, keys[0])
	}
	var locks []lockKey
	writer := takeWriterLock && first
	for _, k := range keys {
		switch k.Kind {
		case "events":
			// The chain's head, locked by SealEvents, is what sealers
			// wait on; the rows they write no writer reads.
			writer = false
		case "user":
			locks = append(locks, keyOf(classUser, k.ID, k.Shared))
		case "profile":
			locks = append(locks, keyOf(classProfile, k.ID, k.Shared))
		case "task":
			id, err := strconv.ParseInt(k.ID, 10, 64)
			if err != nil {
				return fmt.Errorf("lock task %q: %w", k.ID, err)
			}
			var user, profile, ent string
			err = l.Tx.QueryRow(ctx, `SELECT user_id, profile_id, entitlement_id FROM tasks WHERE id = $1`, id).Scan(&user, &profile, &ent)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			} else if err != nil {
				return t.note(fmt.Errorf("lock task %d: %w", id, err))
			}
			locks = append(locks, keyOf(classUser, user, k.Shared))
			if profile != "" {
				// A decision on an exclusion may change the profile
				// itself (a denied one leaves its excluded users): it
				// holds the profile alone.
				exclusion := ent == roster.ExclusionEntitlement(profile)
				locks = append(locks, keyOf(classProfile, profile, !exclusion))
			}
		default:
			return fmt.Errorf("lock: unknown kind of key %q", k.Kind)
		}
	}
	// One order for every transaction; a key held both ways is held
	// exclusively.
	slices.SortFunc(locks, func(a, b lockKey) int {
		if a.class != b.class {
			return int(a.class - b.class)
		}
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		if a.shared == b.shared {
			return 0
		} else if !a.shared {
			return -1
		}
		return 1
	})
	locks = slices.CompactFunc(locks, func(a, b lockKey) bool { return a.class == b.class && a.key == b.key })
	// The keys held already, as strongly, are not taken again.
	if l.held == nil {
		l.held = map[lockKey]bool{}
	}
	held := len(l.held)
	locks = slices.DeleteFunc(locks, func(k lockKey) bool {
		shared, ok := l.held[lockKey{class: k.class, key: k.key}]
		if !ok {
			held++
		}
		return ok && (!shared || k.shared)
	})
	if held > maxLockKeys {
		// Too many keys for PostgreSQL's lock table, shared by every
		// connection: the transaction runs alone.
		l.mode = lockExclusive
		if !takeWriterLock {
			return nil
		}
		if _, err := l.Tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writerLock)); err != nil {
			return t.note(fmt.Errorf("postgres: take the writer lock: %w", err))
		}
		return nil
	}
	var q strings.Builder
	args := []any{}
	if writer {
		q.WriteString(`SELECT pg_advisory_xact_lock_shared($1)`)
		args = append(args, int64(writerLock))
	}
	for _, k := range locks {
		if len(args) == 0 {
			q.WriteString(`SELECT `)
		} else {
			q.WriteString(`, `)
		}
		f := "pg_advisory_xact_lock"
		if k.shared {
			f += "_shared"
		}
		fmt.Fprintf(&q, "%s($%d::int, $%d::int)", f, len(args)+1, len(args)+2)
		args = append(args, k.class, k.key)
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := l.Tx.Exec(ctx, q.String(), args...); err != nil {
		return t.note(fmt.Errorf("postgres: take locks: %w", err))
	}
	for _, k := range locks {
		l.held[lockKey{class: k.class, key: k.key}] = k.shared
	}
	return nil
}

// exclusionAffix is what an exclusion task's entitlement adds before and
// after its profile's id (roster.ExclusionEntitlement).
var exclusionAffix = strings.SplitN(roster.ExclusionEntitlement("\x00"), "\x00", 2)

// lockTask takes the locks of a decision on one task (Lock, one task's
// key) in one statement, which reads the task's subject and profile and
// computes their keys itself (roster_lock_key, keyOf's twin): the writer
// lock shared, then the subject, then the profile, in the order Lock sorts
// them in (by class). In the same round trip, a second statement, which
// starts once the first holds the locks, reads the task for Task: what a
// read after the locks would find.
func (t *tx) lockTask(ctx context.Context, k roster.LockKey) error {
	id, err := strconv.ParseInt(k.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("lock task %q: %w", k.ID, err)
	}
	args := []any{id, exclusionAffix[0], exclusionAffix[1]}
	writer := "NULL"
	if takeWriterLock {
		writer = "pg_advisory_xact_lock_shared($4)"
		args = append(args, int64(writerLock))
	}
	user := "pg_advisory_xact_lock"
	if k.Shared {
		user += "_shared"
	}
	// A decision on an exclusion may change the profile itself (a denied
	// one leaves its excluded users): it holds the profile alone. A task
	// that does not exist locks nothing but the writer lock.
	lock := fmt.Sprintf(`SELECT %s, %s(%d, roster_lock_key(t.user_id)),
		CASE WHEN t.profile_id = '' THEN NULL
			WHEN t.entitlement_id = $2 || t.profile_id || $3 THEN pg_advisory_xact_lock(%d, roster_lock_key(t.profile_id))
			ELSE pg_advisory_xact_lock_shared(%d, roster_lock_key(t.profile_id)) END
		FROM (SELECT 1) AS one LEFT JOIN tasks t ON t.id = $1`, writer, user, classUser, classProfile, classProfile)
	var b pgx.Batch
	b.Queue(lock, args...)
	b.Queue(rebind(sqlstore.TaskByID), id)
	// The task's subject and the caller, whom the decision reads too.
	b.Queue(`SELECT `+sqlstore.UserColumns+` FROM users WHERE id = (SELECT user_id FROM tasks WHERE id = $1) OR id = $2`,
		id, roster.ActorFromContext(ctx))
	// And what it reads around the task (Around).
	around, aroundResult := sqlstore.AroundReads(dialect{}, sqlstore.AroundKey{Task: id})
	for _, r := range around {
		b.Queue(rebind(r.Query), r.Args...)
	}
	br := t.locked.Tx.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return t.note(fmt.Errorf("postgres: take the locks of task %d: %w", id, err))
	}
	p := &prefetchedTask{id: id}
	task, err := sqlstore.ScanTask(br.QueryRow())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		p.err = roster.Errorf(roster.ENOTFOUND, "task %d not found", id)
	case err != nil:
		return t.note(fmt.Errorf("task %d: %w", id, err))
	default:
		p.task = &task
	}
	rows, err := br.Query()
	if err != nil {
		return t.note(fmt.Errorf("users of task %d: %w", id, err))
	}
	for rows.Next() {
		u, err := sqlstore.ScanUser(rows)
		if err != nil {
			rows.Close()
			return t.note(fmt.Errorf("users of task %d: %w", id, err))
		}
		p.users = append(p.users, u)
	}
	if rows.Close(); rows.Err() != nil {
		return t.note(fmt.Errorf("users of task %d: %w", id, rows.Err()))
	}
	if err := t.collect(br, around); err != nil {
		return fmt.Errorf("around task %d: %w", id, err)
	}
	if p.task != nil {
		p.around, p.aroundKey = aroundResult, sqlstore.AroundKey{User: p.task.User, Profile: p.task.Profile, Entitlement: p.task.Entitlement}
	}
	if err := br.Close(); err != nil {
		return t.note(fmt.Errorf("postgres: take the locks of task %d: %w", id, err))
	}
	t.prefetched = p
	return nil
}

// prefetchedTask is a task, its subject and the caller read by lockTask, for
// the Task and User that follow, and what it read around the task, for the
// Around of aroundKey that follows.
type prefetchedTask struct {
	id        int64
	task      *roster.Task
	err       error
	users     []roster.User
	around    func(now time.Time) *roster.Around
	aroundKey sqlstore.AroundKey
}

// Around implements roster.Tx: what lockTask read around its task, once,
// when asked of the task's subject, profile and entitlement and no
// statement that writes ran since (forget), else a read.
func (t *tx) Around(ctx context.Context, user, profile, entitlement string, now time.Time) (*roster.Around, error) {
	if p := t.prefetched; p != nil && p.around != nil &&
		p.aroundKey == (sqlstore.AroundKey{User: user, Profile: profile, Entitlement: entitlement}) {
		a := p.around(now)
		p.around = nil
		return a, nil
	}
	return t.Tx.Around(ctx, user, profile, entitlement, now)
}

// Task implements roster.Tx: the task lockTask read, when no statement
// that may change a task ran since (forget), else a read.
func (t *tx) Task(ctx context.Context, id int64) (*roster.Task, error) {
	if p := t.prefetched; p != nil && p.id == id && (p.task != nil || p.err != nil) {
		task, err := p.task, p.err
		p.task, p.err = nil, nil
		return task, err
	}
	return t.Tx.Task(ctx, id)
}

// User implements roster.Tx: the subject of the task or the caller as
// lockTask read them, once each, when no statement that may change a user
// ran since, else a read.
func (t *tx) User(ctx context.Context, id string) (*roster.User, error) {
	if p := t.prefetched; p != nil {
		for i := range p.users {
			if p.users[i].ID == id {
				u := p.users[i]
				p.users = slices.Delete(p.users, i, i+1)
				return &u, nil
			}
		}
	}
	return t.Tx.User(ctx, id)
}

// forget drops what lockTask read of the tables that query, which names
// those of mask (heldNamedIn), may change, and what it read around the
// task, whatever the statement writes: a SELECT changes none.
func (t *tx) forget(query string, mask int) {
	p := t.prefetched
	if p == nil || isSelect(query) {
		return
	}
	p.around = nil
	if mask&(1|1<<3) == 0 {
		return
	}
	if mask&1 != 0 {
		p.task, p.err = nil, nil
	}
	if mask&(1<<3) != 0 {
		p.users = nil
	}
}

// isSelect reports whether query is a SELECT, which writes nothing (the
// store's SELECTs call no function that writes).
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// maxLockKeys bounds the keys a transaction holds (roster.KeyLockingStore):
// an advisory lock takes a slot of PostgreSQL's shared lock table, which
// holds max_locks_per_transaction (64 by default) times max_connections
// locks for every connection together. A sync that changes more users than
// this runs alone, as bulk enablement is quickest anyway.
const maxLockKeys = 256

var _ roster.KeyLockingStore = (*DB)(nil)

// MaxLockKeys implements roster.KeyLockingStore.
func (db *DB) MaxLockKeys() int { return maxLockKeys }

// SkipFlush implements roster.FlushStore: this transaction's commit does not
// wait for its WAL to reach the disk (synchronous_commit off, for it alone).
// A crash of the database may lose it, never leave it half done.
func (t *tx) SkipFlush(ctx context.Context) error {
	_, err := t.exec(ctx, `SET LOCAL synchronous_commit TO OFF`)
	if err != nil {
		return fmt.Errorf("postgres: skip the commit's flush: %w", err)
	}
	return nil
}
