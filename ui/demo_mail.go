package ui

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/rosterhq/roster/internal/mailcatch"
)

// DemoMailbox is the demo's mail catcher (roster serve --demo): what Roster
// mailed, shown at /demo/mail to anyone signed in.
type DemoMailbox interface {
	Messages() []mailcatch.Message
}

// demoMailData is the list of caught messages, newest first, and the one
// being read.
type demoMailData struct {
	Messages []mailcatch.Message
	Open     *mailcatch.Message
}

// showDemoMailHTML serves the HTML part of a caught message as the
// recipient's mail client would show it (/demo/mail/{id}/html). The page
// runs nothing: its policy allows only the message's inline styles, in a
// sandbox.
func (u *UI) showDemoMailHTML(w http.ResponseWriter, r *http.Request, v *visit) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	msgs := u.demoMail.Messages()
	i := slices.IndexFunc(msgs, func(m mailcatch.Message) bool { return m.ID == id })
	if i < 0 || msgs[i].HTML == "" {
		u.showNotFound(w, r, v)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; sandbox allow-popups allow-top-navigation-by-user-activation")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(msgs[i].HTML)) // the browser went away; nothing to do
}

// showDemoMail lists the messages the demo's mail catcher caught, newest
// first; /demo/mail/{id} reads one's text part.
func (u *UI) showDemoMail(w http.ResponseWriter, r *http.Request, v *visit) {
	d := demoMailData{Messages: u.demoMail.Messages()}
	slices.Reverse(d.Messages)
	if s := r.PathValue("id"); s != "" {
		id, _ := strconv.Atoi(s)
		i := slices.IndexFunc(d.Messages, func(m mailcatch.Message) bool { return m.ID == id })
		if i < 0 {
			u.showNotFound(w, r, v)
			return
		}
		d.Open = &d.Messages[i]
	}
	u.render(w, r, v, http.StatusOK, "demo_mail", "Demo mail", "demo-mail", d, nil)
}
