package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster"
)

// Views of the task list.
const (
	viewApprovals    = "approvals"
	viewProvisioning = "provisioning"
	viewRequests     = "requests"
	viewAll          = "all"
	viewFailed       = "failed"
)

// tasksData is the task list.
type tasksData struct {
	View   string
	Filter roster.TaskFilter
	Tasks  []roster.Task
	// NextURL is the next page, when there is one.
	NextURL string
	// Waiting counts the tasks waiting on the signed-in user, by view.
	Waiting map[string]int
	// User and Approver are the person filters of All tasks.
	User, Approver personFilter
	// UserText and ApproverText are the text of those fields.
	UserText, ApproverText string
	// ProfileNames names the profiles the tasks name; PeopleNames the
	// people.
	ProfileNames, PeopleNames map[string]string
}

// States, Kinds and Origins are the choices of the filters.
func (tasksData) States() []roster.TaskState { return roster.TaskStates }

// Kinds are the task kinds.
func (tasksData) Kinds() []roster.TaskKind { return roster.TaskKinds }

// Origins are the task origins.
func (tasksData) Origins() []roster.Origin { return roster.Origins }

// showTasks lists tasks: my approvals, my provisioning work, my own requests,
// and for admins and auditors every task, with filters.
func (u *UI) showTasks(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	d := tasksData{View: q.Get("view"), Waiting: map[string]int{}}
	if d.View == "" {
		d.View = viewApprovals
	}
	f := roster.TaskFilter{
		State: roster.TaskState(q.Get("state")), Kind: roster.TaskKind(q.Get("kind")), User: q.Get("user"), Entitlement: q.Get("entitlement"),
		Profile: q.Get("profile"), Origin: roster.Origin(q.Get("origin")), Approver: q.Get("approver"),
		OpenOnly: q.Get("open") != "", Cursor: q.Get("cursor"),
	}
	me := v.me.ID
	switch d.View {
	case viewApprovals:
		f = roster.TaskFilter{Approver: me, State: roster.StatePendingApproval, Cursor: f.Cursor}
	case viewProvisioning:
		f = roster.TaskFilter{Approver: me, State: roster.StatePendingProvisioning, Cursor: f.Cursor}
	case viewRequests:
		f.User, f.Approver = me, ""
	case viewFailed:
		f = roster.TaskFilter{State: roster.StateFailed, Cursor: f.Cursor}
		fallthrough
	case viewAll:
		if !v.reader() {
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Not allowed",
				Message: "Only admins and auditors see every task. Your approvals, provisioning work and requests are under the other tabs."})
			return
		}
		if d.View == viewAll {
			var err error
			d.UserText, d.ApproverText = q.Get("user"), q.Get("approver")
			if f.User, d.User, err = u.resolvePerson(v, "/tasks", q, "user", "f-user"); err == nil {
				f.Approver, d.Approver, err = u.resolvePerson(v, "/tasks", q, "approver", "f-approver")
			}
			if err != nil {
				u.fail(w, r, v, err)
				return
			}
			if len(d.User.Choices) > 0 || len(d.Approver.Choices) > 0 {
				// Several people match: nothing is listed on a guess.
				d.Filter = f
				u.render(w, r, v, http.StatusOK, "tasks", "Tasks", "tasks", d, nil)
				return
			}
		}
	default:
		u.renderError(w, r, v, &errorView{Status: http.StatusNotFound, Title: "Not found", Message: "There is no task view " + strconv.Quote(d.View) + "."})
		return
	}
	page, err := u.service.Tasks(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Filter, d.Tasks = f, page.Items
	d.PeopleNames = u.peopleNames(v, d.Tasks)
	if d.ProfileNames, err = u.profileNames(v, nil, d.Tasks); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if page.NextCursor != "" {
		next := r.URL.Query()
		next.Set("cursor", page.NextCursor)
		d.NextURL = "/tasks?" + next.Encode()
	}
	for view, state := range map[string]roster.TaskState{viewApprovals: roster.StatePendingApproval, viewProvisioning: roster.StatePendingProvisioning} {
		p, err := u.service.Tasks(v.ctx, roster.TaskFilter{Approver: me, State: state})
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		d.Waiting[view] = len(p.Items)
	}
	if v.reader() {
		p, err := u.service.Tasks(v.ctx, roster.TaskFilter{State: roster.StateFailed})
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		d.Waiting[viewFailed] = len(p.Items)
	}
	u.render(w, r, v, http.StatusOK, "tasks", "Tasks", "tasks", d, nil)
}

// taskURL is the page of one task.
func taskURL(id int64) string { return "/tasks/" + url.PathEscape(strconv.FormatInt(id, 10)) }
