package ui

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/rosterhq/roster"
)

// eventsData is the audit log.
type eventsData struct {
	Filter   roster.EventFilter
	From, To string
	Events   []roster.Event
	NextURL  string
	// Actor is the actor filter, which takes a name too; ActorText is its
	// text.
	Actor     personFilter
	ActorText string
}

// Actions are the choices of the action filter: every audit action.
func (eventsData) Actions() []roster.AuditActionInfo { return roster.AuditActions }

// exportWriteTime is how long the console gives itself to send the next
// thousand events of an export.
const exportWriteTime = time.Minute

// errExportDone stops an export at the end of its range of days.
var errExportDone = errors.New("export reached the end of its range")

// exportEvents sends the audit log from the day ?from= to the day ?to=
// (UTC, both included; every event without them) as a download of one
// JSON object a line, with each event's hash, in chain order (admins and
// auditors; the engine refuses others). An error once lines are sent cuts
// the download short, so it is never taken for a whole export.
func (u *UI) exportEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	var since, until time.Time
	since, until, err := dayRange(r.URL.Query())
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	started, n := false, 0
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Content-Disposition", `attachment; filename="roster-audit.ndjson"`)
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	err = u.service.ExportEvents(v.ctx, since, func(ev *roster.Event) error {
		if !until.IsZero() && !ev.At.Before(until) {
			return errExportDone
		}
		start()
		if n++; n%1000 == 1 {
			_ = rc.SetWriteDeadline(time.Now().Add(exportWriteTime))
		}
		return enc.Encode(ev)
	})
	if errors.Is(err, errExportDone) {
		err = nil
	}
	switch {
	case err == nil:
		start()
		_ = bw.Flush()
	case !started:
		u.fail(w, r, v, err)
	default:
		panic(http.ErrAbortHandler)
	}
}

// showEvents shows the audit log, newest first, filtered by action, actor,
// object and a range of days (UTC, both ends included) (admins and
// auditors; the engine refuses others).
func (u *UI) showEvents(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.EventFilter{Action: roster.AuditAction(q.Get("action")), Actor: q.Get("actor"), ObjectType: q.Get("object_type"),
		ObjectID: q.Get("object_id"), Cursor: q.Get("cursor"), Newest: true}
	d := eventsData{From: q.Get("from"), To: q.Get("to"), ActorText: q.Get("actor")}
	var err error
	if f.Since, f.Until, err = dayRange(q); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if f.Actor, d.Actor, err = u.resolvePerson(v, "/events", q, "actor", "f-actor"); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if len(d.Actor.Choices) > 0 {
		// Several people match the actor's name: nothing is listed on a guess.
		d.Filter = f
		u.render(w, r, v, http.StatusOK, "events", "Audit log", "events", d, nil)
		return
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

// dayRange reads ?from= and ?to=, days written YYYY-MM-DD (UTC, both
// included), as the times an event list starts at and ends before; a zero
// time where a day is not given.
func dayRange(q url.Values) (since, until time.Time, err error) {
	for _, day := range []struct {
		name string
		into *time.Time
		next bool
	}{{"from", &since, false}, {"to", &until, true}} {
		s := q.Get(day.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return since, until, roster.Errorf(roster.EINVALID, "%s must be a day written YYYY-MM-DD, not %q", day.name, s)
		}
		if day.next {
			t = t.AddDate(0, 0, 1)
		}
		*day.into = t
	}
	return since, until, nil
}
