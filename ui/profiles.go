package ui

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// profilesData is the list of access profiles.
type profilesData struct {
	Profiles []roster.ProfileView
	// Paused are the profiles whose sync the safeguard paused.
	Paused []roster.ProfileView
	Query  string
	Pager  pager
}

// showProfiles lists the access profiles with how many members and pending
// enrollments they have and their automation, under a banner for every
// paused sync. It reads the counts, not the members.
func (u *UI) showProfiles(w http.ResponseWriter, r *http.Request, v *visit) {
	ps, err := u.service.Profiles(v.ctx, roster.ProfileFilter{WithoutMembers: true})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	q := r.URL.Query()
	d := profilesData{Query: strings.TrimSpace(q.Get("q"))}
	var found []roster.ProfileView
	for _, p := range ps {
		if p.Automation.State == roster.AutomationPaused {
			d.Paused = append(d.Paused, p)
		}
		if matches(d.Query, p.ID, p.Name, p.Description) {
			found = append(found, p)
		}
	}
	lo, hi, pg := offsetPage("/profiles", q, len(found))
	d.Profiles, d.Pager = found[lo:hi], pg
	u.render(w, r, v, http.StatusOK, "profiles", "Access profiles", "profiles", d, nil)
}
