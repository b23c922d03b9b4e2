package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster"
)

// handleTasks handles GET /api/v1/tasks.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.TaskFilter{
		State:       roster.TaskState(q.str("state")),
		Kind:        roster.TaskKind(q.str("kind")),
		User:        q.str("user"),
		Entitlement: q.str("entitlement"),
		Profile:     q.str("profile"),
		Origin:      roster.Origin(q.str("origin")),
		Approver:    q.str("approver"),
		OpenOnly:    q.bool("open"),
		Cursor:      q.str("cursor"),
		Limit:       q.int("limit"),
	}
	if q.err != nil {
		return q.err
	}
	page, err := s.service.Tasks(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// handleTask handles GET /api/v1/tasks/{id}.
func (s *Server) handleTask(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	task, err := s.service.Task(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, task)
	return nil
}

// handleTaskView handles GET /api/v1/tasks/{id}/view.
func (s *Server) handleTaskView(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	v, err := s.service.TaskView(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handleTaskAction handles POST /api/v1/tasks/{id}/ACTION with act, one of
// the service's approve, deny, provision and cancel methods.
func (s *Server) handleTaskAction(act func(ctx context.Context, id int64, comment string) (*roster.Task, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := taskID(r)
		if err != nil {
			return err
		}
		var req commentRequest
		if err := readJSON(r, &req, true); err != nil {
			return err
		}
		task, err := act(r.Context(), id, req.Comment)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, task)
		return nil
	}
}

// Task returns one task.
func (c *Client) Task(ctx context.Context, id int64) (*roster.Task, error) {
	return call[roster.Task](ctx, c, http.MethodGet, taskPath(id), nil, nil)
}

// TaskView returns a task with what a person needs to decide on it.
func (c *Client) TaskView(ctx context.Context, id int64) (*roster.TaskView, error) {
	return call[roster.TaskView](ctx, c, http.MethodGet, taskPath(id)+"/view", nil, nil)
}

// Tasks returns one page of the tasks f selects.
func (c *Client) Tasks(ctx context.Context, f roster.TaskFilter) (*roster.Page[roster.Task], error) {
	q := params{}.
		str("state", string(f.State)).
		str("kind", string(f.Kind)).
		str("user", f.User).
		str("entitlement", f.Entitlement).
		str("profile", f.Profile).
		str("origin", string(f.Origin)).
		str("approver", f.Approver).
		bool("open", f.OpenOnly).
		str("cursor", f.Cursor).
		int("limit", f.Limit)
	return call[roster.Page[roster.Task]](ctx, c, http.MethodGet, "/api/v1/tasks", url.Values(q), nil)
}

// ApproveTask approves the current step of a task.
func (c *Client) ApproveTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return c.taskAction(ctx, id, "approve", comment)
}

// DenyTask denies a task.
func (c *Client) DenyTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return c.taskAction(ctx, id, "deny", comment)
}

// ProvisionTask records that a task's access change was carried out.
func (c *Client) ProvisionTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return c.taskAction(ctx, id, "provision", comment)
}

// CancelTask cancels an open task.
func (c *Client) CancelTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return c.taskAction(ctx, id, "cancel", comment)
}

// RetryTask puts a failed task back to its connector.
func (c *Client) RetryTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return c.taskAction(ctx, id, "retry", comment)
}

func (c *Client) taskAction(ctx context.Context, id int64, action, comment string) (*roster.Task, error) {
	return call[roster.Task](ctx, c, http.MethodPost, taskPath(id)+"/"+action, nil, commentRequest{Comment: comment})
}

func taskPath(id int64) string { return "/api/v1/tasks/" + strconv.FormatInt(id, 10) }
