package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// actOnTask approves, denies, completes the provisioning of, cancels or
// retries a task as the signed-in user, with the form's comment. A denial
// needs a reason. After a decision or a provisioning it goes on to the next
// task waiting on the person, or back to the inbox when none is left.
func (u *UI) actOnTask(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task %q", r.PathValue("id")))
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	var act func(ctx context.Context, id int64, comment string) (*roster.Task, error)
	var did string
	next := false
	switch r.PathValue("action") {
	case "approve", "deny":
		act, did, err = u.decision(r.PathValue("action"), comment)
		if err != nil {
			u.done(w, r, v, taskURL(id), err, "")
			return
		}
		did, next = strings.ToUpper(did[:1])+did[1:], true
	case "provision":
		act, did, next = u.service.ProvisionTask, "Completed the provisioning of", true
	case "cancel":
		act, did = u.service.CancelTask, "Cancelled"
	case "retry":
		act, did = u.service.RetryTask, "Gave back to its connector"
	default:
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task action %q", r.PathValue("action")))
		return
	}
	t, err := act(v.ctx, id, comment)
	to := taskURL(id)
	if back := r.PostFormValue("back"); back != "" {
		to = localPath(back)
	} else if err == nil && next {
		u.goOn(w, r, v, t, fmt.Sprintf("%s task %d. It is now %s.", did, t.ID, human(string(t.State))))
		return
	}
	notice := ""
	if err == nil {
		notice = fmt.Sprintf("%s task %d. It is now %s.", did, t.ID, human(string(t.State)))
	}
	u.done(w, r, v, to, err, notice)
}

// goOn leaves notice and sends the person to the next task waiting on them
// after t — the first after it, else the first before — or to the inbox
// when nothing else waits.
func (u *UI) goOn(w http.ResponseWriter, r *http.Request, v *visit, t *roster.Task, notice string) {
	page, err := u.service.Tasks(v.ctx, roster.TaskFilter{Approver: v.me.ID, Limit: roster.MaxPageSize})
	if err != nil {
		u.done(w, r, v, taskURL(t.ID), nil, notice)
		return
	}
	var next *roster.Task
	left := 0
	for i := range page.Items {
		c := &page.Items[i]
		if c.ID == t.ID {
			continue
		}
		left++
		if next == nil || (next.ID < t.ID && c.ID > t.ID) {
			next = c
		}
	}
	if next == nil {
		u.done(w, r, v, "/inbox", nil, notice+" Nothing else waits on you.")
		return
	}
	more := plural(left, "task", "tasks")
	if page.NextCursor != "" {
		more = fmt.Sprintf("more than %d tasks", left)
	}
	u.done(w, r, v, taskURL(next.ID), nil, fmt.Sprintf("%s Next: task %d (%s waiting on you).", notice, next.ID, more))
}
