package ui

import (
	"net/http"
)

// showReview shows a paused sync's staged enrollments and unenrollments with
// Resume sync and Go back (admins).
func (u *UI) showReview(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "review")
	if !ok {
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_review", pt.P.Name+": review paused sync", "profiles", pt, nil)
}
