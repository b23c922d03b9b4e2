package ui

import (
	"net/http"

	"github.com/rosterhq/roster"
)

// eventsData is the audit log.
type eventsData struct {
	Filter  roster.EventFilter
	Events  []roster.Event
	NextURL string
}

// Actions are the choices of the action filter: every audit action.
func (eventsData) Actions() []roster.AuditActionInfo { return roster.AuditActions }

// showEvents shows the audit log, oldest first, filtered by action, actor and
// object (admins and auditors; the engine refuses others).
func (u *UI) showEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.EventFilter{Action: roster.AuditAction(q.Get("action")), Actor: q.Get("actor"), ObjectType: q.Get("object_type"),
		ObjectID: q.Get("object_id"), Cursor: q.Get("cursor")}
	page, err := u.service.Events(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := eventsData{Filter: f, Events: page.Items}
	if page.NextCursor != "" {
		q.Set("cursor", page.NextCursor)
		d.NextURL = "/events?" + q.Encode()
	}
	u.render(w, r, v, http.StatusOK, "events", "Audit log", "events", d, nil)
}
