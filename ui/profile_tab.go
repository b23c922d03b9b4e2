package ui

import (
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// profileTab is what every tab of a profile shows in its header.
type profileTab struct {
	P   *roster.ProfileView
	Tab string
	// PendingURL lists the open enrollment tasks of the profile.
	PendingURL string
}

// loadProfileTab reads the profile of the request's {id} for one of its tabs.
func (u *UI) loadProfileTab(w http.ResponseWriter, r *http.Request, v *visit, tab string) (*profileTab, bool) {
	// The tabs show the member count, not the members: the Members tab
	// reads them a page at a time.
	ps, err := u.service.Profiles(v.ctx, roster.ProfileFilter{ID: r.PathValue("id"), WithoutMembers: true})
	if err == nil && len(ps) != 1 {
		err = roster.Errorf(roster.ENOTFOUND, "profile %q not found", r.PathValue("id"))
	}
	if err != nil {
		u.fail(w, r, v, err)
		return nil, false
	}
	p := &ps[0]
	return &profileTab{P: p, Tab: tab, PendingURL: pendingURL(v, p.ID)}, true
}

// pendingURL is the task list of a profile's open enrollments: all of them
// for those who read everything, one's own for everyone else.
func pendingURL(v *visit, profile string) string {
	q := url.Values{}
	q.Set("profile", profile)
	q.Set("entitlement", roster.EnrollmentEntitlement(profile))
	q.Set("kind", string(roster.TaskGrant))
	q.Set("open", "1")
	if v.reader() {
		q.Set("view", "all")
	} else {
		q.Set("view", "requests")
	}
	return "/tasks?" + q.Encode()
}

// profileURL is the path of a profile's tab ("" for Members).
func profileURL(id, tab string) string {
	p := "/profiles/" + url.PathEscape(id)
	if tab != "" {
		p += "/" + tab
	}
	return p
}
