package sqlite

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// taskInsert writes held tasks; they take the next ids in order.
var taskInsert = newInsert(`INSERT OR FAIL`+sqlstore.TaskInsert[len("INSERT"):]+` VALUES `, 20)

// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
// open task for the same (user, entitlement, kind) exists. A task created
// closed (one done at once) cannot conflict: it takes the next id at once
// and is written behind, with the transaction's other such tasks.
func (t *tx) CreateTask(ctx context.Context, task *roster.Task) error {
	args, err := sqlstore.TaskArgs(dialect{}, task)
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
	res, err := t.tx.ExecContext(ctx, sqlstore.TaskInsert+sqlstore.TaskValues, args...)
	if isUniqueViolation(err) {
		return sqlstore.OpenConflict(task)
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

// OpenTasksAmong returns the open tasks of any of users on any of
// entitlements, as references. The query names the index of open tasks:
// left to itself, SQLite's planner reads every open task through the state
// index instead.
func (t *tx) OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]roster.OpenTask, error) {
	return t.OpenTasksAmongFrom(ctx, "tasks INDEXED BY tasks_open_unique", users, entitlements)
}

// openTaskRefsOfFrom is what OpenTaskRefsOf reads: the index of open
// tasks, named. Left to itself, SQLite's planner reads every open task
// through the state index instead, each from the table, rather than those
// of the entitlements asked alone.
const openTaskRefsOfFrom = "tasks INDEXED BY tasks_open_entitlement"

// OpenTaskRefsOf returns the id, kind, user, origin, state and entitlement
// of every open task of any of entitlements, ordered by (entitlement, id),
// from the index of open tasks alone.
func (t *tx) OpenTaskRefsOf(ctx context.Context, entitlements []string) ([]roster.OpenTask, error) {
	return t.OpenTaskRefsOfFrom(ctx, openTaskRefsOfFrom, entitlements)
}
