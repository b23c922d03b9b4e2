package ui

// Change requests (settings.change_approval): the list of those waiting and
// decided, one request with its changes and file, and another admin's
// approval or denial.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// changesData is the Changes page.
type changesData struct {
	Pending, Decided []roster.ChangeRequest
}

// showChanges lists change requests: those waiting first, then the last
// decided ones (admins and auditors; the engine refuses others).
func (u *UI) showChanges(w http.ResponseWriter, r *http.Request, v *visit) {
	all, err := u.service.Changes(v.ctx, roster.ChangeFilter{})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	var d changesData
	for _, c := range all {
		if c.State == roster.ChangePending {
			d.Pending = append(d.Pending, c)
		} else if len(d.Decided) < 50 {
			d.Decided = append(d.Decided, c)
		}
	}
	u.render(w, r, v, http.StatusOK, "changes", "Change requests", "changes", d, nil)
}

// changeData is one change request's page.
type changeData struct {
	C *roster.ChangeRequest
	// CanDecide: the viewer is an admin other than its author; CanWithdraw:
	// they are its author.
	CanDecide, CanWithdraw bool
}

// showChange shows one change request, with the decision form to another
// admin and the withdrawal to its author.
func (u *UI) showChange(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := u.changeID(w, r, v)
	if !ok {
		return
	}
	c, err := u.service.Change(v.ctx, id)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := changeData{C: c}
	if c.State == roster.ChangePending && v.admin() {
		d.CanDecide, d.CanWithdraw = v.me.ID != c.Author, v.me.ID == c.Author
	}
	u.render(w, r, v, http.StatusOK, "change", fmt.Sprintf("Change request %d", c.ID), "changes", d, nil)
}

// actOnChange approves or denies a change request as the signed-in admin.
func (u *UI) actOnChange(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := u.changeID(w, r, v)
	if !ok {
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	var (
		c      *roster.ChangeRequest
		err    error
		notice string
	)
	switch r.PathValue("action") {
	case "approve":
		if c, err = u.service.ApproveChange(v.ctx, id, comment); err == nil {
			notice = fmt.Sprintf("Approved change request %d: it is applied.", id)
			if c.Moved {
				notice += " What it changed moved since it was requested: see what was applied below."
			}
		}
	case "deny":
		if _, err = u.service.DenyChange(v.ctx, id, comment); err == nil {
			notice = fmt.Sprintf("Change request %d is closed; nothing of it was applied.", id)
		}
	default:
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no change request action %q", r.PathValue("action")))
		return
	}
	u.done(w, r, v, changeURL(id), err, notice)
}

func (u *UI) changeID(w http.ResponseWriter, r *http.Request, v *visit) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no change request %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func changeURL(id int64) string { return "/changes/" + strconv.FormatInt(id, 10) }
