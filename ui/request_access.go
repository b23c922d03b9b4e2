package ui

import (
	"net/http"
	"slices"

	"github.com/rosterhq/roster"
)

// requestableProfile is one profile on the Request access screen, with where
// the signed-in user stands.
type requestableProfile struct {
	P       roster.ProfileView
	Member  bool
	Pending *roster.PendingTask
}

// requestData is the Request access screen.
type requestData struct {
	Profiles []requestableProfile
	// Requests are the signed-in user's enrollment requests and their state.
	Requests []roster.Task
	// ProfileNames names the profiles of the requests; PeopleNames the
	// people they name.
	ProfileNames, PeopleNames map[string]string
}

// showRequestAccess lists the profiles that accept enrollment requests, each
// with a Request button or where the signed-in user stands, and the user's
// own requests.
func (u *UI) showRequestAccess(w http.ResponseWriter, r *http.Request, v *visit) {
	me := v.me.ID
	ps, err := u.service.Profiles(v.ctx, roster.ProfileFilter{User: me})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	var d requestData
	for _, p := range ps {
		if !p.AllowEnrollmentRequests {
			continue
		}
		rp := requestableProfile{P: p}
		rp.Member = slices.ContainsFunc(p.Members, func(m roster.MemberView) bool { return m.User == me })
		for i := range p.PendingEnrollments {
			if p.PendingEnrollments[i].User == me {
				rp.Pending = &p.PendingEnrollments[i]
			}
		}
		d.Profiles = append(d.Profiles, rp)
	}
	page, err := u.service.Tasks(v.ctx, roster.TaskFilter{User: me, Kind: roster.TaskGrant, Limit: roster.MaxPageSize})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	for _, t := range page.Items {
		if app, _, _ := roster.SplitEntitlementID(t.Entitlement); app == roster.BuiltinApp && t.Origin == roster.OriginManual {
			d.Requests = append(d.Requests, t)
		}
	}
	slices.Reverse(d.Requests) // newest first
	d.PeopleNames = u.peopleNames(v, d.Requests)
	if d.ProfileNames, err = u.profileNames(v, nil, d.Requests); err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "request", "Request access", "request", d, nil)
}
