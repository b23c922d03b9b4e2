package ui

import (
	"net/http"

	"github.com/rosterhq/roster"
)

// profilesData is the list of access profiles.
type profilesData struct {
	Profiles []roster.ProfileView
	// Paused are the profiles whose sync the safeguard paused.
	Paused []roster.ProfileView
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
	d := profilesData{Profiles: ps}
	for _, p := range ps {
		if p.Automation.State == roster.AutomationPaused {
			d.Paused = append(d.Paused, p)
		}
	}
	u.render(w, r, v, http.StatusOK, "profiles", "Access profiles", "profiles", d, nil)
}
