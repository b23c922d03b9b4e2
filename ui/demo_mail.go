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
