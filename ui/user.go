package ui

import (
	"net/http"
	"slices"

	"github.com/rosterhq/roster"
)

// userData is one user's page.
type userData struct {
	U        *roster.User
	Self     bool
	Grants   []roster.Grant
	Profiles []roster.ProfileView
	Sources  map[string]string // profile id -> member source
	Tasks    []roster.Task
	// ProfileNames names the profiles of the built-in entitlements the
	// page shows (profile id -> name).
	ProfileNames map[string]string
	// PeopleNames names the people its tasks name.
	PeopleNames map[string]string
}

// showUser shows a user with their grants and sources, the profiles they are
// a member of, and their tasks. Everyone may see their own, a manager their
// reports'; admins and auditors anyone's.
func (u *UI) showUser(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	usr, err := u.service.User(v.ctx, id)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := userData{U: usr, Self: id == v.me.ID, Sources: map[string]string{}}
	grants, err := u.service.Grants(v.ctx, roster.GrantFilter{User: id, Limit: roster.MaxPageSize})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Grants = grants.Items
	ps, err := u.service.Profiles(v.ctx, roster.ProfileFilter{User: id})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	for _, p := range ps {
		if i := slices.IndexFunc(p.Members, func(m roster.MemberView) bool { return m.User == id }); i >= 0 {
			d.Profiles = append(d.Profiles, p)
			d.Sources[p.ID] = string(p.Members[i].Source)
		}
	}
	tasks, err := u.service.Tasks(v.ctx, roster.TaskFilter{User: id, Limit: roster.MaxPageSize})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Tasks = tasks.Items
	slices.Reverse(d.Tasks) // newest first
	d.PeopleNames = u.peopleNames(v, d.Tasks)
	if d.ProfileNames, err = u.profileNames(v, d.Grants, d.Tasks); err != nil {
		u.fail(w, r, v, err)
		return
	}
	title := usr.Name
	nav := "users"
	if d.Self {
		nav = "me"
	} else if !v.reader() {
		nav = "" // a manager reading a report's page
	}
	u.render(w, r, v, http.StatusOK, "user", title, nav, d, nil)
}

// profileNames names the profiles of the built-in entitlements among
// grants and tasks, and of the tasks' profiles, as the signed-in person may
// see them; a profile they may not see keeps its id.
func (u *UI) profileNames(v *visit, grants []roster.Grant, tasks []roster.Task) (map[string]string, error) {
	names := map[string]string{}
	want := func(id string) {
		if id != "" {
			names[id] = ""
		}
	}
	for _, g := range grants {
		want(builtinProfile(g.Entitlement))
	}
	for _, t := range tasks {
		want(builtinProfile(t.Entitlement))
		want(t.Profile)
	}
	for id := range names {
		ps, err := u.service.Profiles(v.ctx, roster.ProfileFilter{ID: id, WithoutMembers: true})
		if err != nil && roster.ErrorCode(err) != roster.EFORBIDDEN && roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
		if len(ps) == 1 {
			names[id] = ps[0].Name
		}
	}
	return names, nil
}
