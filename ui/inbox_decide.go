package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// maxDecisions bounds how many tasks one inbox form decides.
const maxDecisions = 200

// decideMany approves or denies the tasks ticked in the inbox, one engine
// call per task, so each gets the same checks as alone; it reports how many
// were decided and why each of the others was refused. A denial needs a
// reason, given in the comment.
func (u *UI) decideMany(w http.ResponseWriter, r *http.Request, v *visit) {
	decision := r.PostFormValue("decision")
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	act, did, err := u.decision(decision, comment)
	if err != nil {
		u.done(w, r, v, "/inbox", err, "")
		return
	}
	var ids []int64
	for _, s := range r.PostForm["task"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			u.done(w, r, v, "/inbox", roster.Errorf(roster.EINVALID, "%q is not a task number; nothing was decided", s), "")
			return
		}
		ids = append(ids, id)
	}
	switch {
	case len(ids) == 0:
		u.done(w, r, v, "/inbox", roster.Errorf(roster.EINVALID, "tick the tasks to %s first; nothing was decided", decision), "")
		return
	case len(ids) > maxDecisions:
		u.done(w, r, v, "/inbox", roster.Errorf(roster.EINVALID, "at most %d tasks are decided at once; nothing was decided", maxDecisions), "")
		return
	}
	decided := 0
	var refused []string
	for _, id := range ids {
		if _, err := act(v.ctx, id, comment); err != nil {
			// An internal error is logged and shown without its text.
			refused = append(refused, fmt.Sprintf("task %d: %s", id, u.errorFor(r, err).Message))
			continue
		}
		decided++
	}
	msg := fmt.Sprintf("%d %s", decided, did)
	switch len(refused) {
	case 0:
		u.sessions.setFlash(w, &flash{Kind: "notice", Message: msg + "."})
	case 1:
		_, why, _ := strings.Cut(refused[0], ": ")
		u.sessions.setFlash(w, &flash{Kind: "error", Message: fmt.Sprintf("%s; 1 refused: %s", msg, why)})
	default:
		u.sessions.setFlash(w, &flash{Kind: "error", Message: fmt.Sprintf("%s; %d refused:", msg, len(refused)), Details: refused})
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
}

// decision returns the service call of an approve or deny decision, and
// the past participle that reports it. A denial without a reason is
// refused.
func (u *UI) decision(decision, comment string) (func(ctx context.Context, id int64, comment string) (*roster.Task, error), string, error) {
	switch decision {
	case "approve":
		return u.service.ApproveTask, "approved", nil
	case "deny":
		if comment == "" {
			return nil, "", roster.Errorf(roster.EINVALID, "a denial needs a reason: say why in the comment; nothing was decided")
		}
		return u.service.DenyTask, "denied", nil
	}
	return nil, "", roster.Errorf(roster.EINVALID, "choose Approve or Deny; nothing was decided")
}
