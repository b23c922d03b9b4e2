package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
// open task for the same (user, entitlement, kind) exists. A task created
// closed is written behind (see writeBehind).
//
// The insert names the open-task index as its ON CONFLICT arbiter, so a
// duplicate inserts nothing instead of raising a unique violation: the
// transaction stays usable without a savepoint (a subtransaction per created
// task would overflow PostgreSQL's per-backend subtransaction cache when a
// sync creates many tasks at once). Under SERIALIZABLE, a duplicate created
// by a concurrent transaction that this one cannot see is a serialization
// failure, and Update runs fn again.
func (t *tx) CreateTask(ctx context.Context, task *roster.Task) error {
	args, err := sqlstore.TaskArgs(dialect{}, task)
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	if !task.Open() {
		// A task created closed cannot conflict: it takes an id from the
		// sequence now and is written behind (see writeBehind).
		id, err := t.taskID(ctx)
		if err != nil {
			return fmt.Errorf("create task: %w", err)
		}
		task.ID = id
		if err := t.hold(ctx, 0, append([]any{id}, args...)); err != nil {
			return fmt.Errorf("create task: %w", err)
		}
		return nil
	}
	// The ids taken for held tasks come before this one's: drop the rest,
	// so that tasks keep the order they were created in.
	t.held.ids, t.held.block = nil, 1
	var id int64
	err = t.Q.QueryRow(ctx, sqlstore.TaskInsert+sqlstore.TaskValues+`
		ON CONFLICT (user_id, entitlement_id, kind) WHERE state IN `+sqlstore.OpenStates+` DO NOTHING
		RETURNING id`, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.OpenConflict(task)
	} else if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	task.ID = id
	return nil
}

// UpdateTask implements roster.Tx. A task saved closed cannot collide in
// the open-task index; in a read-write transaction its update is held
// (holdStatement) until the transaction's next flush of tasks — before a
// statement that reads them, or in COMMIT's round trip — and that no task
// had its id fails the transaction then. A decision, which saves its task
// closed once its last step is approved, then makes one round trip fewer.
func (t *tx) UpdateTask(ctx context.Context, task *roster.Task) error {
	if task.Open() || t.locked == nil {
		return t.Tx.UpdateTask(ctx, task)
	}
	args, err := sqlstore.TaskArgs(dialect{}, task)
	if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	id := task.ID
	query := rebind(sqlstore.TaskUpdate)
	mask := heldNamedIn(query)
	t.forget(query, mask)
	found := func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return roster.Errorf(roster.ENOTFOUND, "task %d not found", id)
		}
		return nil
	}
	return t.holdStatement(ctx, mask, found, fmt.Sprintf("update of task %d", id), query, append(args, id)...)
}

// BulkGrants does nothing on PostgreSQL: its writes are not held back by
// index maintenance the way SQLite's are.
func (t *tx) BulkGrants(ctx context.Context, n int) (end func() error, err error) {
	return func() error { return nil }, nil
}

// PutProfileSyncs implements roster.Tx: the sync states of many profiles in
// one statement, a round trip instead of one per profile.
func (t *tx) PutProfileSyncs(ctx context.Context, syncs map[string]roster.SyncState) error {
	if len(syncs) == 0 {
		return nil
	}
	ids, states, err := t.ProfileSyncArgs(syncs)
	if err != nil {
		return err
	}
	text := make([]string, len(states))
	for i, s := range states {
		text[i] = string(s.(json.RawMessage))
	}
	n, err := t.exec(ctx, `
		UPDATE profiles AS p SET sync = v.sync::jsonb
		FROM unnest($1::text[], $2::text[]) AS v (id, sync)
		WHERE p.id = v.id`, ids, text)
	if err != nil {
		return fmt.Errorf("put profiles' syncs: %w", err)
	}
	if int(n) != len(ids) {
		return roster.Errorf(roster.ENOTFOUND, "put profiles' syncs: %d of the %d profiles not found", len(ids)-int(n), len(ids))
	}
	return nil
}
