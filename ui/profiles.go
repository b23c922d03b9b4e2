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

// showProfiles lists the access profiles with their members, pending
// enrollments and automation, under a banner for every paused sync.
func (u *UI) showProfiles(w http.ResponseWriter, r *http.Request, v *visit) {
	ps, err := u.service.Profiles(v.ctx)
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
