package ui

import (
	"net/http"

	"github.com/rosterhq/roster"
)

// showWhy explains a user's access to one entitlement (?entitlement=APP/ENT):
// the grant's sources, the profiles behind it with how each one's rule sees
// the user, the tasks that granted it, and what would happen if each rule
// stopped matching — `roster why` in the console. Who may read the user's
// access may read it.
func (u *UI) showWhy(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ent := r.PathValue("id"), r.URL.Query().Get("entitlement")
	if ent == "" {
		u.fail(w, r, v, roster.Errorf(roster.EINVALID, "say which access to explain: ?entitlement=APP/ENT"))
		return
	}
	x, err := u.service.Why(v.ctx, id, ent)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	usr, err := u.service.User(v.ctx, id)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	names, err := u.profileNames(v, nil, x.Tasks)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "why", "Why "+usr.Name+" has "+ent, "", struct {
		U            *roster.User
		X            *roster.Explanation
		ProfileNames map[string]string
		PeopleNames  map[string]string
	}{usr, x, names, u.peopleNames(v, x.Tasks)}, nil)
}
