package ui

import (
	"net/http"
)

// membersData is the Members tab of a profile.
type membersData struct {
	*profileTab
}

// showMembers shows a profile's members with their source, the count of
// pending enrollments linking to the open tasks, and, for admins, the Enroll
// users form.
func (u *UI) showMembers(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "members")
	if !ok {
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_members", pt.P.Name, "profiles", membersData{profileTab: pt}, nil)
}
