package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/paging"
)

// taskColumns are the columns of a task.
const taskColumns = `id, kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
	approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
	created_at, updated_at, closed_at`

// TaskInsert is the INSERT of a task's columns but id, whose values TaskArgs
// returns, up to (without) its VALUES list.
const TaskInsert = `INSERT INTO tasks (kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step,
	approvers, provisioning, provisioners, bypass, requested_by, reason, error, history,
	created_at, updated_at, closed_at)`

// TaskValues is the VALUES list of TaskInsert for one task.
const TaskValues = ` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// OpenStates is the SQL list of the open task states; it matches the
// tasks_open_unique index.
const OpenStates = `('pending_approval', 'pending_provisioning')`

// TaskByID is the query of Task, with its one placeholder, the id.
const TaskByID = `SELECT ` + taskColumns + ` FROM tasks WHERE id = ?`

// ScanTask scans a row of TaskByID.
func ScanTask(r Row) (roster.Task, error) { return scanTask(r) }

// scanTask scans a row of taskColumns.
func scanTask(r Row) (roster.Task, error) {
	var v struct {
		t                                      roster.Task
		steps, approvers, provisioners, histry []byte
		created, upd                           timeDest
		closed                                 nullTime
	}
	if err := r.Scan(&v.t.ID, &v.t.Kind, &v.t.User, &v.t.Entitlement, &v.t.State, &v.t.Origin, &v.t.Profile,
		&v.t.Policy, &v.steps, &v.t.Step, &v.approvers, &v.t.Provisioning, &v.provisioners, &v.t.Bypass,
		&v.t.RequestedBy, &v.t.Reason, &v.t.Error, &v.histry, &v.created, &v.upd, &v.closed); err != nil {
		return v.t, err
	}
	v.t.CreatedAt, v.t.UpdatedAt, v.t.ClosedAt = v.created.T, v.upd.T, v.closed.T
	for _, c := range []struct {
		col string
		b   []byte
		v   any
	}{
		{"task steps", v.steps, &v.t.Steps},
		{"task approvers", v.approvers, &v.t.Approvers},
		{"task provisioners", v.provisioners, &v.t.Provisioners},
	} {
		if err := decJSON(c.col, c.b, c.v); err != nil {
			return v.t, err
		}
	}
	if string(v.histry) == instantMark {
		v.t.History = roster.InstantHistory(&v.t)
	} else if err := decJSON("task history", v.histry, &v.t.History); err != nil {
		return v.t, err
	}
	return v.t, nil
}

// instantMark is stored, as the JSON number 1, in place of a history that
// is exactly roster.InstantHistory of its task: a sync creates such tasks
// by the million, and their histories were three quarters of their rows
// (dense20k's enablement: 365 of 490 bytes a task). The mark is read back
// by making the history again from the task's other columns.
const instantMark = "1"

// isInstant reports whether h, with its times as stored, is
// roster.InstantHistory of t.
func isInstant(t *roster.Task, h []roster.TaskAction) bool {
	if t.Open() || len(h) < 2 || len(h) > 3 {
		return false
	}
	t.CreatedAt, t.ClosedAt = UTC(t.CreatedAt), utcPtr(t.ClosedAt)
	want := roster.InstantHistory(t)
	if len(want) != len(h) {
		return false
	}
	for i, a := range want {
		if b := h[i]; !a.At.Equal(b.At) || a.Actor != b.Actor || a.Action != b.Action || a.Step != b.Step ||
			a.Comment != b.Comment || a.For != b.For {
			return false
		}
	}
	return true
}

// TaskArgs returns the values of every column of taskColumns but id, in
// order.
func TaskArgs(d Dialect, t *roster.Task) ([]any, error) {
	var history []roster.TaskAction
	if t.History != nil {
		history = make([]roster.TaskAction, len(t.History))
		for i, a := range t.History {
			a.At = UTC(a.At)
			history[i] = a
		}
	}
	e := encoder{d: d}
	stored := e.json(history)
	if c := *t; isInstant(&c, history) {
		stored = e.json(json.RawMessage(instantMark))
	}
	// Plain strings and int64s: database/sql converts values of other types
	// (named string types, int) by reflection, an allocation each, and a
	// sync writes tasks by the million.
	args := []any{string(t.Kind), t.User, t.Entitlement, string(t.State), string(t.Origin), t.Profile, t.Policy,
		e.json(t.Steps), int64(t.Step), e.json(t.Approvers), t.Provisioning, e.json(t.Provisioners),
		t.Bypass, t.RequestedBy, t.Reason, t.Error, stored,
		e.time(t.CreatedAt), e.time(t.UpdatedAt), e.timePtr(t.ClosedAt)}
	return args, e.err
}

// OpenConflict is the error for a second open task of (user, entitlement,
// kind).
func OpenConflict(t *roster.Task) error {
	return roster.Errorf(roster.ECONFLICT, "an open %s task for user %q and entitlement %q already exists",
		t.Kind, t.User, t.Entitlement)
}

// TaskUpdate replaces the task whose id is the last argument with the
// values of TaskArgs.
const TaskUpdate = `
		UPDATE tasks SET kind = ?, user_id = ?, entitlement_id = ?, state = ?, origin = ?, profile_id = ?,
			policy_id = ?, steps = ?, step = ?, approvers = ?, provisioning = ?, provisioners = ?,
			bypass = ?, requested_by = ?, reason = ?, error = ?, history = ?,
			created_at = ?, updated_at = ?, closed_at = ?
		WHERE id = ?`

// UpdateTask replaces a task. It fails with ENOTFOUND when no task has its ID
// and with ECONFLICT when it would reopen a task that has an open twin.
func (t *Tx) UpdateTask(ctx context.Context, task *roster.Task) error {
	args, err := TaskArgs(t.D, task)
	if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	args = append(args, task.ID)
	var n int64
	if task.Open() {
		// Only a task saved open can collide in the partial open-task index.
		n, err = t.Q.ExecUnique(ctx, TaskUpdate, args...)
	} else {
		n, err = t.Q.Exec(ctx, TaskUpdate, args...)
	}
	if t.D.UniqueViolation(err) {
		return OpenConflict(task)
	} else if err != nil {
		return fmt.Errorf("update task %d: %w", task.ID, err)
	}
	if n == 0 {
		return roster.Errorf(roster.ENOTFOUND, "task %d not found", task.ID)
	}
	return nil
}

// Task returns a task by id.
func (t *Tx) Task(ctx context.Context, id int64) (*roster.Task, error) {
	task, err := one(ctx, t, scanTask, roster.Errorf(roster.ENOTFOUND, "task %d not found", id),
		TaskByID, id)
	if failed(err) {
		return nil, fmt.Errorf("task %d: %w", id, err)
	}
	return task, err
}

// Tasks returns one page of tasks, ordered by id.
func (t *Tx) Tasks(ctx context.Context, f roster.TaskFilter) (*roster.Page[roster.Task], error) {
	query, args, err := t.TasksQuery(f)
	if err != nil {
		return nil, err
	}
	items, err := List(ctx, t.Q, scanTask, query, args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return paginate(items, paging.Size(f.Limit), func(t *roster.Task) any { return intKey{ID: &t.ID} }), nil
}

// TasksQuery returns the query Tasks runs for f, with its arguments.
func (t *Tx) TasksQuery(f roster.TaskFilter) (string, []any, error) {
	var w where
	eq, open := w.eq, "state IN "+OpenStates
	if f.User != "" {
		// A user has a few tasks, where an entitlement, a state or a
		// profile may have a hundred thousand. PostgreSQL's statistics
		// know it; SQLite, never analyzed, would read those through their
		// own index, each row from the table to check its user. Compared
		// through an expression no index serves, the other columns leave
		// the user's index, tasks_user, the one to read.
		w.eq("user_id", f.User)
		eq, open = w.eqUnindexed, "state || '' IN "+OpenStates
	}
	eq("state", string(f.State))
	eq("kind", string(f.Kind))
	eq("entitlement_id", f.Entitlement)
	eq("profile_id", f.Profile)
	eq("origin", string(f.Origin))
	if f.OpenOnly {
		w.add(open)
	}
	if f.Approver != "" {
		w.add(`((state = 'pending_approval' AND `+t.D.ArrayHas("tasks.approvers")+`)
			OR (state = 'pending_provisioning' AND `+t.D.ArrayHas("tasks.provisioners")+`))`, f.Approver, f.Approver)
	}
	if err := t.afterID(&w, f.Cursor); err != nil {
		return "", nil, err
	}
	query, args := pageQuery(`SELECT `+taskColumns+` FROM tasks`, &w, "id", f.Limit)
	return query, args, nil
}

// OpenTasks returns every open task of an entitlement, ordered by id.
func (t *Tx) OpenTasks(ctx context.Context, entitlement string) ([]roster.Task, error) {
	ts, err := List(ctx, t.Q, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE entitlement_id = ? AND state IN `+OpenStates+` ORDER BY id`, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return ts, nil
}

// OpenTaskRefsQuery is the query of OpenTaskRefs, with its one placeholder,
// the entitlement: what every sync's plan reads of its profile's open tasks,
// from the open tasks' own index alone (tasks_open_entitlement).
const OpenTaskRefsQuery = `SELECT id, kind, user_id, origin FROM tasks
		WHERE entitlement_id = ? AND state IN ` + OpenStates + ` ORDER BY id`

// OpenTaskRefs returns the id, kind, user and origin of every open task of an
// entitlement, ordered by id.
func (t *Tx) OpenTaskRefs(ctx context.Context, entitlement string) ([]roster.OpenTask, error) {
	refs, err := List(ctx, t.Q, func(r Row) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin)
		return o, err
	}, OpenTaskRefsQuery, entitlement)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %q: %w", entitlement, err)
	}
	return refs, nil
}

// OpenTasksAmong returns the open tasks of any of users on any of
// entitlements, as references.
func (t *Tx) OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]roster.OpenTask, error) {
	return t.OpenTasksAmongFrom(ctx, "tasks", users, entitlements)
}

// OpenTasksAmongFrom is OpenTasksAmong reading the tasks of from: "tasks",
// or the table with a hint of the index to use.
func (t *Tx) OpenTasksAmongFrom(ctx context.Context, from string, users, entitlements []string) ([]roster.OpenTask, error) {
	refs, err := listIn(ctx, t, func(r Row) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin, &o.Entitlement)
		return o, err
	}, `SELECT id, kind, user_id, origin, entitlement_id FROM `+from+`
		WHERE `+t.D.In("user_id")+` AND `+t.D.In("entitlement_id")+`
			AND state IN `+OpenStates, users, entitlements)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %d users: %w", len(users), err)
	}
	return refs, nil
}

// OpenTaskRefsOfQuery is the query of OpenTaskRefsOf in d's spelling,
// reading the tasks of from ("tasks", or the table with a hint of the index
// to use), with its one placeholder, the entitlements: what the list of
// profiles reads of their open tasks, from the open tasks' own index
// (tasks_open_entitlement), an entitlement after the other.
func OpenTaskRefsOfQuery(d Dialect, from string) string {
	return `SELECT id, kind, user_id, origin, state, entitlement_id FROM ` + from + `
		WHERE ` + d.In("entitlement_id") + ` AND state IN ` + OpenStates + `
		ORDER BY entitlement_id, id`
}

// OpenTaskRefsOf returns the id, kind, user, origin, state and entitlement
// of every open task of any of entitlements, ordered by (entitlement, id).
func (t *Tx) OpenTaskRefsOf(ctx context.Context, entitlements []string) ([]roster.OpenTask, error) {
	return t.OpenTaskRefsOfFrom(ctx, "tasks", entitlements)
}

// OpenTaskRefsOfFrom is OpenTaskRefsOf reading the tasks of from: "tasks",
// or the table with a hint of the index to use.
func (t *Tx) OpenTaskRefsOfFrom(ctx context.Context, from string, entitlements []string) ([]roster.OpenTask, error) {
	refs, err := listIn(ctx, t, func(r Row) (roster.OpenTask, error) {
		var o roster.OpenTask
		err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin, &o.State, &o.Entitlement)
		return o, err
	}, OpenTaskRefsOfQuery(t.D, from), entitlements)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %d entitlements: %w", len(entitlements), err)
	}
	return refs, nil
}

// UserOpenTasks returns every open task of a user, ordered by id.
func (t *Tx) UserOpenTasks(ctx context.Context, user string) ([]roster.Task, error) {
	ts, err := List(ctx, t.Q, scanTask, `SELECT `+taskColumns+` FROM tasks
		WHERE user_id = ? AND state IN `+OpenStates+` ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("open tasks of user %q: %w", user, err)
	}
	return ts, nil
}

// OpenTask returns the open task for (user, entitlement, kind).
func (t *Tx) OpenTask(ctx context.Context, user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	task, err := one(ctx, t, scanTask,
		roster.Errorf(roster.ENOTFOUND, "no open %s task for user %q and entitlement %q", kind, user, entitlement),
		`SELECT `+taskColumns+` FROM tasks
		WHERE user_id = ? AND entitlement_id = ? AND kind = ? AND state IN `+OpenStates,
		user, entitlement, kind)
	if failed(err) {
		return nil, fmt.Errorf("open %s task of %q for %q: %w", kind, entitlement, user, err)
	}
	return task, err
}
