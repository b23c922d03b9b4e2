package ui

import (
	"net/http"
	"time"

	"github.com/rosterhq/roster"
)

// eventsData is the audit log.
type eventsData struct {
	Filter   roster.EventFilter
	From, To string
	Events   []roster.Event
	NextURL  string
}

// Actions are the choices of the action filter: every audit action.
func (eventsData) Actions() []roster.AuditActionInfo { return roster.AuditActions }

// showEvents shows the audit log, newest first, filtered by action, actor,
// object and a range of days (UTC, both ends included) (admins and
// auditors; the engine refuses others).
func (u *UI) showEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.EventFilter{Action: roster.AuditAction(q.Get("action")), Actor: q.Get("actor"), ObjectType: q.Get("object_type"),
		ObjectID: q.Get("object_id"), Cursor: q.Get("cursor"), Newest: true}
	d := eventsData{From: q.Get("from"), To: q.Get("to")}
	for _, day := range []struct {
		name, value string
		into        *time.Time
		next        bool
	}{{"from", d.From, &f.Since, false}, {"to", d.To, &f.Until, true}} {
		if day.value == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, day.value)
		if err != nil {
			u.fail(w, r, v, roster.Errorf(roster.EINVALID, "%s must be a day written YYYY-MM-DD, not %q", day.name, day.value))
			return
		}
		if day.next {
			t = t.AddDate(0, 0, 1)
		}
		*day.into = t
	}
	page, err := u.service.Events(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Filter, d.Events = f, page.Items
	if page.NextCursor != "" {
		q.Set("cursor", page.NextCursor)
		d.NextURL = "/events?" + q.Encode()
	}
	u.render(w, r, v, http.StatusOK, "events", "Audit log", "events", d, nil)
}
