package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rosterhq/roster/internal/paging"

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
		steps, approvers, provisioners, histry string
		created, upd                           int64
		closed                                 sql.NullInt64
	)
	if err := r.Scan(&t.ID, &t.Kind, &t.User, &t.Entitlement, &t.State, &t.Origin, &t.Profile,
		&t.Policy, &steps, &t.Step, &approvers, &t.Provisioning, &provisioners, &t.Bypass,
		&t.RequestedBy, &t.Reason, &t.Error, &histry, &created, &upd, &closed); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt, t.ClosedAt = decTime(created), decTime(upd), decTimePtr(closed)
	for _, c := range []struct {
		col, s string
		v      any
	}{
		{"task steps", steps, &t.Steps},
		{"task approvers", approvers, &t.Approvers},
		{"task provisioners", provisioners, &t.Provisioners},
		{"task history", histry, &t.History},
	} {
		if err := decJSON(c.col, c.s, c.v); err != nil {
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

// taskInsert writes held tasks; they take the next ids in order.
var taskInsert = newInsert(`INSERT OR FAIL INTO tasks (kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
	approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
	created_at, updated_at, closed_at) VALUES `, 20)

// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
// open task for the same (user, entitlement, kind) exists. A task created
// closed (one done at once) cannot conflict: it takes the next id at once
// and is written behind, with the transaction's other such tasks.
func (t *tx) CreateTask(ctx context.Context, task *roster.Task) error {
	args, err := taskArgs(task)
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	held := t.tx.held
	if !task.Open() {
		if held.nextTaskID == 0 {
			// The writer is alone, so no other transaction takes ids meanwhile.
			if err := t.tx.QueryRowContext(ctx, `SELECT max(
				COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0),
				COALESCE((SELECT max(id) FROM tasks), 0)) + 1`).Scan(&held.nextTaskID); err != nil {
				return fmt.Errorf("create task: next id: %w", err)
			}
		}
		task.ID = held.nextTaskID
		held.nextTaskID++
		if len(held.tables[0].args) == 0 {
			held.firstTaskID = task.ID
		}
		return held.add(ctx, t.tx, held.tables[0], args...)
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO tasks (kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
			approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
			created_at, updated_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUniqueViolation(err) {
		return openConflict(task)
	} else if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	task.ID = id
	if held.nextTaskID != 0 {
		held.nextTaskID = id + 1
	}
	return nil
}

// UpdateTask replaces a task. It fails with ENOTFOUND when no task has its ID
// and with ECONFLICT when it would reopen a task that has an open twin.
func (t *tx) UpdateTask(ctx context.Context, task *roster.Task) error {
	args, err := taskArgs(task)
	if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	res, err := t.tx.ExecContext(ctx, `
		UPDATE tasks SET kind = ?, user_id = ?, entitlement_id = ?, state = ?, origin = ?, profile_id = ?,
			policy_id = ?, steps = ?, step = ?, approvers = ?, provisioning = ?, provisioners = ?,
			bypass = ?, requested_by = ?, reason = ?, error = ?, history = ?,
			created_at = ?, updated_at = ?, closed_at = ?
		WHERE id = ?`, append(args, task.ID)...)
	if isUniqueViolation(err) {
		return openConflict(task)
	} else if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	} else if n == 0 {
		return roster.Errorf(roster.ENOTFOUND, "task %d not found", task.ID)
	}
	return nil
}

// Task returns a task by id.
func (t *tx) Task(ctx context.Context, id int64) (*roster.Task, error) {
	task, err := one(ctx, t.tx, scanTask, roster.Errorf(roster.ENOTFOUND, "task %d not found", id),
		`SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id)
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
		w.add(`(
			(state = 'pending_approval' AND EXISTS (SELECT 1 FROM json_each(tasks.approvers) AS a WHERE a.value = ?))
			OR (state = 'pending_provisioning' AND EXISTS (SELECT 1 FROM json_each(tasks.provisioners) AS p WHERE p.value = ?))
		)`, f.Approver, f.Approver)
	}
	if f.Cursor != "" {
		var k intKey
		if err := paging.Decode(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > ?", *k.ID)
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t.tx, scanTask,
		`SELECT `+taskColumns+` FROM tasks`+w.String()+` ORDER BY id LIMIT ?`, append(w.args, n+1)...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return paginate(items, n, func(t *roster.Task) any { return intKey{ID: &t.ID} }), nil
}

// OpenTasks returns every open task of an entitlement, ordered by id.
func (t *tx) OpenTasks(ctx context.Context, entitlement string) ([]roster.Task, error) {
	ts, err := list(ctx, t.tx, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE entitlement_id = ? AND state IN `+openStates+` ORDER BY id`, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return ts, nil
}

// OpenTaskRefs returns the id, kind, user and origin of every open task of an
// entitlement, ordered by id.
func (t *tx) OpenTaskRefs(ctx context.Context, entitlement string) ([]roster.OpenTask, error) {
	refs, err := list(ctx, t.tx, func(r rowScanner) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin)
		return o, err
	}, `SELECT id, kind, user_id, origin FROM tasks
		WHERE entitlement_id = ? AND state IN `+openStates+` ORDER BY id`, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return refs, nil
}

// OpenTasksAmong returns the open tasks of any of users on any of
// entitlements, as references. The query names the index of open tasks:
// left to itself, SQLite's planner reads every open task through the state
// index instead.
func (t *tx) OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]roster.OpenTask, error) {
	if len(users) == 0 || len(entitlements) == 0 {
		return []roster.OpenTask{}, nil
	}
	var e encoder
	us, ents := e.json(users), e.json(entitlements)
	if e.err != nil {
		return nil, e.err
	}
	refs, err := list(ctx, t.tx, func(r rowScanner) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin, &o.Entitlement)
		return o, err
	}, `SELECT id, kind, user_id, origin, entitlement_id FROM tasks INDEXED BY tasks_open_unique
		WHERE user_id IN (SELECT value FROM json_each(?)) AND entitlement_id IN (SELECT value FROM json_each(?))
			AND state IN `+openStates, us, ents)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %d users: %w", len(users), err)
	}
	return refs, nil
}

// UserOpenTasks returns every open task of a user, ordered by id.
func (t *tx) UserOpenTasks(ctx context.Context, user string) ([]roster.Task, error) {
	ts, err := list(ctx, t.tx, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE user_id = ? AND state IN `+openStates+` ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("open tasks of user %q: %w", user, err)
	}
	return ts, nil
}

// OpenTask returns the open task for (user, entitlement, kind).
func (t *tx) OpenTask(ctx context.Context, user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	task, err := one(ctx, t.tx, scanTask,
		roster.Errorf(roster.ENOTFOUND, "no open %s task for user %q and entitlement %q", kind, user, entitlement),
		`SELECT `+taskColumns+` FROM tasks
		WHERE user_id = ? AND entitlement_id = ? AND kind = ? AND state IN `+openStates,
		user, entitlement, kind)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("open %s task of %q for %q: %w", kind, entitlement, user, err)
	}
	return task, err
}
