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
// retries a task as the signed-in user, with the form's comment.
func (u *UI) actOnTask(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task %q", r.PathValue("id")))
		return
	}
	var act func(ctx context.Context, id int64, comment string) (*roster.Task, error)
	var did string
	switch r.PathValue("action") {
	case "approve":
		act, did = u.service.ApproveTask, "Approved"
	case "deny":
		act, did = u.service.DenyTask, "Denied"
	case "provision":
		act, did = u.service.ProvisionTask, "Completed the provisioning of"
	case "cancel":
		act, did = u.service.CancelTask, "Cancelled"
	case "retry":
		act, did = u.service.RetryTask, "Gave back to its connector"
	default:
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task action %q", r.PathValue("action")))
		return
	}
	t, err := act(v.ctx, id, strings.TrimSpace(r.PostFormValue("comment")))
	notice := ""
	if err == nil {
		notice = fmt.Sprintf("%s task %d. It is now %s.", did, t.ID, human(string(t.State)))
	}
	to := taskURL(id)
	if back := r.PostFormValue("back"); back != "" {
		to = localPath(back)
	}
	u.done(w, r, v, to, err, notice)
}
