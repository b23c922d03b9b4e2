package ui

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/rosterhq/roster"
)

// taskData is one task's page.
type taskData struct {
	T *roster.Task
	// CanDecide, CanProvision and CanCancel say which actions the signed-in
	// user may take; the engine checks again.
	CanDecide    bool
	CanProvision bool
	CanCancel    bool
	CanRetry     bool
}

// showTask shows a task: its policy steps, current approvers, history, bypass
// note, and the actions the signed-in user may take.
func (u *UI) showTask(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task %q", r.PathValue("id")))
		return
	}
	t, err := u.service.Task(v.ctx, id)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	me := v.me.ID
	d := taskData{
		T:            t,
		CanDecide:    t.State == roster.StatePendingApproval && slices.Contains(t.Approvers, me),
		CanProvision: t.State == roster.StatePendingProvisioning && (slices.Contains(t.Provisioners, me) || v.admin()),
		CanCancel:    t.Open() && v.admin(),
		CanRetry:     t.State == roster.StateFailed && v.admin(),
	}
	u.render(w, r, v, http.StatusOK, "task", "Task "+strconv.FormatInt(t.ID, 10), "tasks", d, nil)
}
