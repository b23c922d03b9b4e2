package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster"
)

// inboxPage is how many tasks the inbox lists at a time, each with its
// view.
const inboxPage = 50

// inboxData is "Waiting for me": the tasks whose current step waits on the
// signed-in person, as approver or as provisioner.
type inboxData struct {
	// Decide are the tasks waiting on the person's decision; Carry out
	// those waiting on them to carry the change out.
	Decide, CarryOut []*roster.TaskView
	// NextURL is the next page, when there is one.
	NextURL string
	// CanAct is false for auditors, who change nothing.
	CanAct bool
}

// showInbox lists what waits on the signed-in person, with the subject and
// what is asked by name, and one form to approve or deny several at once.
func (u *UI) showInbox(w http.ResponseWriter, r *http.Request, v *visit) {
	page, err := u.service.Tasks(v.ctx, roster.TaskFilter{Approver: v.me.ID, Cursor: r.URL.Query().Get("cursor"), Limit: inboxPage})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := inboxData{CanAct: v.me.Role != roster.RoleAuditor}
	for _, t := range page.Items {
		tv, err := u.service.TaskView(v.ctx, t.ID)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		if t.State == roster.StatePendingApproval {
			d.Decide = append(d.Decide, tv)
		} else {
			d.CarryOut = append(d.CarryOut, tv)
		}
	}
	if page.NextCursor != "" {
		d.NextURL = "/inbox?cursor=" + url.QueryEscape(page.NextCursor)
	}
	u.render(w, r, v, http.StatusOK, "inbox", "Waiting for me", "inbox", d, nil)
}

// waitingCount says how many tasks wait on the signed-in person, for the
// navigation: "" when none (or when it cannot be read, which is logged),
// "100+" past the first page.
func (u *UI) waitingCount(r *http.Request, v *visit) string {
	const most = 100
	page, err := u.service.Tasks(v.ctx, roster.TaskFilter{Approver: v.me.ID, Limit: most})
	if err != nil {
		u.logger.WarnContext(r.Context(), "ui: count the tasks waiting on the signed-in user", "user", v.me.ID, "error", err)
		return ""
	}
	n := len(page.Items)
	switch {
	case n == 0:
		return ""
	case page.NextCursor != "":
		return strconv.Itoa(n) + "+"
	}
	return strconv.Itoa(n)
}
