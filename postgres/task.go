package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
)

const taskColumns = `id, kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
	approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
	created_at, updated_at, closed_at`

// openStates is the SQL list of the open task states; it matches the
// tasks_open_unique index.
const openStates = `('pending_approval', 'pending_provisioning')`

// scanTask scans a row of taskColumns.
func scanTask(r rowScanner) (roster.Task, error) {
	var (
		t                                      roster.Task
		steps, approvers, provisioners, histry []byte
	)
	if err := r.Scan(&t.ID, &t.Kind, &t.User, &t.Entitlement, &t.State, &t.Origin, &t.Profile,
		&t.Policy, &steps, &t.Step, &approvers, &t.Provisioning, &provisioners, &t.Bypass,
		&t.RequestedBy, &t.Reason, &t.Error, &histry, &t.CreatedAt, &t.UpdatedAt, &t.ClosedAt); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt, t.ClosedAt = decTime(t.CreatedAt), decTime(t.UpdatedAt), decTimePtr(t.ClosedAt)
	for _, c := range []struct {
		col string
		b   []byte
		v   any
	}{
		{"task steps", steps, &t.Steps},
		{"task approvers", approvers, &t.Approvers},
		{"task provisioners", provisioners, &t.Provisioners},
		{"task history", histry, &t.History},
	} {
		if err := decJSON(c.col, c.b, c.v); err != nil {
			return t, err
		}
	}
	return t, nil
}

// taskArgs returns the values of every column of taskColumns but id, in order.
func taskArgs(t *roster.Task) ([]any, error) {
	var history []roster.TaskAction
	if t.History != nil {
		history = make([]roster.TaskAction, len(t.History))
		for i, a := range t.History {
			a.At = utc(a.At)
			history[i] = a
		}
	}
	var e encoder
	args := []any{t.Kind, t.User, t.Entitlement, t.State, t.Origin, t.Profile, t.Policy,
		e.json(t.Steps), t.Step, e.json(t.Approvers), t.Provisioning, e.json(t.Provisioners),
		t.Bypass, t.RequestedBy, t.Reason, t.Error, e.json(history),
		e.time(t.CreatedAt), e.time(t.UpdatedAt), e.timePtr(t.ClosedAt)}
	return args, e.err
}

// openConflict is the error for a second open task of (user, entitlement, kind).
func openConflict(t *roster.Task) error {
	return roster.Errorf(roster.ECONFLICT, "an open %s task for user %q and entitlement %q already exists",
		t.Kind, t.User, t.Entitlement)
}

// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
// open task for the same (user, entitlement, kind) exists.
//
// The insert names the open-task index as its ON CONFLICT arbiter, so a
// duplicate inserts nothing instead of raising a unique violation: the
// transaction stays usable without a savepoint (a subtransaction per created
// task would overflow PostgreSQL's per-backend subtransaction cache when a
// sync creates many tasks at once). Under SERIALIZABLE, a duplicate created
// by a concurrent transaction that this one cannot see is a serialization
// failure, and Update runs fn again.
func (t *tx) CreateTask(ctx context.Context, task *roster.Task) error {
	args, err := taskArgs(task)
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	var id int64
	err = t.queryRow(ctx, `
		INSERT INTO tasks (kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
			approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
			created_at, updated_at, closed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT (user_id, entitlement_id, kind) WHERE state IN `+openStates+` DO NOTHING
		RETURNING id`, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return openConflict(task)
	} else if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	task.ID = id
	return nil
}

// UpdateTask replaces a task. It fails with ENOTFOUND when no task has its ID
// and with ECONFLICT when it would reopen a task that has an open twin. A
// task saved in an open state is written inside a savepoint, rolled back to
// on a unique violation, so the transaction stays usable after ECONFLICT.
func (t *tx) UpdateTask(ctx context.Context, task *roster.Task) error {
	args, err := taskArgs(task)
	if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	const query = `
		UPDATE tasks SET kind = $1, user_id = $2, entitlement_id = $3, state = $4, origin = $5, profile_id = $6,
			policy_id = $7, steps = $8, step = $9, approvers = $10, provisioning = $11, provisioners = $12,
			bypass = $13, requested_by = $14, reason = $15, error = $16, history = $17,
			created_at = $18, updated_at = $19, closed_at = $20
		WHERE id = $21`
	args = append(args, task.ID)
	var tag pgconn.CommandTag
	if task.Open() {
		// Only a task saved open can collide in the partial open-task index.
		err = t.savepoint(ctx, func(sp pgx.Tx) (err error) {
			tag, err = sp.Exec(ctx, query, args...)
			return err
		})
	} else {
		tag, err = t.exec(ctx, query, args...)
	}
	if isUniqueViolation(err) {
		return openConflict(task)
	} else if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return roster.Errorf(roster.ENOTFOUND, "task %d not found", task.ID)
	}
	return nil
}

// savepoint runs fn inside a savepoint. When fn fails the transaction rolls
// back to the savepoint, so it stays usable and fn's error is returned.
func (t *tx) savepoint(ctx context.Context, fn func(sp pgx.Tx) error) error {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return t.note(fmt.Errorf("savepoint: %w", err))
	}
	if err := t.note(fn(sp)); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(err, t.note(fmt.Errorf("rollback to savepoint: %w", rerr)))
		}
		return err
	}
	if err := sp.Commit(ctx); err != nil {
		return t.note(fmt.Errorf("release savepoint: %w", err))
	}
	return nil
}

// Task returns a task by id.
func (t *tx) Task(ctx context.Context, id int64) (*roster.Task, error) {
	task, err := one(ctx, t, scanTask, roster.Errorf(roster.ENOTFOUND, "task %d not found", id),
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("task %d: %w", id, err)
	}
	return task, err
}

// Tasks returns one page of tasks, ordered by id.
func (t *tx) Tasks(ctx context.Context, f roster.TaskFilter) (*roster.Page[roster.Task], error) {
	var w where
	w.eq("state", string(f.State))
	w.eq("kind", string(f.Kind))
	w.eq("user_id", f.User)
	w.eq("entitlement_id", f.Entitlement)
	w.eq("profile_id", f.Profile)
	w.eq("origin", string(f.Origin))
	if f.OpenOnly {
		w.add("state IN " + openStates)
	}
	if f.Approver != "" {
		// jsonb ? text: the string is an element of the top-level array.
		a := w.arg(f.Approver)
		w.add(`((state = 'pending_approval' AND approvers ? ` + a + `)
			OR (state = 'pending_provisioning' AND provisioners ? ` + a + `))`)
	}
	if f.Cursor != "" {
		var k intKey
		if err := decodeCursor(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > " + w.arg(*k.ID))
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t, scanTask,
		`SELECT `+taskColumns+` FROM tasks`+w.String()+` ORDER BY id LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return paginate(items, n, func(t *roster.Task) any { return intKey{ID: &t.ID} }), nil
}

// OpenTasks returns every open task of an entitlement, ordered by id.
func (t *tx) OpenTasks(ctx context.Context, entitlement string) ([]roster.Task, error) {
	ts, err := list(ctx, t, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE entitlement_id = $1 AND state IN `+openStates+` ORDER BY id`, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return ts, nil
}

// OpenTaskRefs returns the id, kind, user and origin of every open task of an
// entitlement, ordered by id.
func (t *tx) OpenTaskRefs(ctx context.Context, entitlement string) ([]roster.OpenTask, error) {
	refs, err := list(ctx, t, func(r rowScanner) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin)
		return o, err
	}, `SELECT id, kind, user_id, origin FROM tasks
		WHERE entitlement_id = $1 AND state IN `+openStates+` ORDER BY id`, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return refs, nil
}

// OpenTasksAmong returns the open tasks of any of users on any of
// entitlements, as references.
func (t *tx) OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]roster.OpenTask, error) {
	if len(users) == 0 || len(entitlements) == 0 {
		return []roster.OpenTask{}, nil
	}
	refs, err := list(ctx, t, func(r rowScanner) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin, &o.Entitlement)
		return o, err
	}, `SELECT id, kind, user_id, origin, entitlement_id FROM tasks
		WHERE user_id = ANY($1::text[]) AND entitlement_id = ANY($2::text[]) AND state IN `+openStates, users, entitlements)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %d users: %w", len(users), err)
	}
	return refs, nil
}

// UserOpenTasks returns every open task of a user, ordered by id.
func (t *tx) UserOpenTasks(ctx context.Context, user string) ([]roster.Task, error) {
	ts, err := list(ctx, t, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE user_id = $1 AND state IN `+openStates+` ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("open tasks of user %q: %w", user, err)
	}
	return ts, nil
}

// OpenTask returns the open task for (user, entitlement, kind).
func (t *tx) OpenTask(ctx context.Context, user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	task, err := one(ctx, t, scanTask,
		roster.Errorf(roster.ENOTFOUND, "no open %s task for user %q and entitlement %q", kind, user, entitlement),
		`SELECT `+taskColumns+` FROM tasks
		WHERE user_id = $1 AND entitlement_id = $2 AND kind = $3 AND state IN `+openStates,
		user, entitlement, kind)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("open %s task of %q for %q: %w", kind, entitlement, user, err)
	}
	return task, err
}
