package ui

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// usersData is the user list.
type usersData struct {
	Users  []roster.User
	Filter roster.UserFilter
	Pager  pager
	// Matches says how many users a search found ("" without one).
	Matches string
	// Manager is the Manager filter, which takes a name too; ManagerText
	// is its text.
	Manager     personFilter
	ManagerText string
	// ManagerNames names the managers of the listed users, by id.
	ManagerNames map[string]string
}

// showUsers lists users (admins and auditors; the engine refuses others).
func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.UserFilter{Query: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Department: q.Get("department"), Manager: q.Get("manager"),
		Cursor: q.Get("cursor"), Limit: listLimit(q), Total: true}
	manager, mf, err := u.resolvePerson(v, "/users", q, "manager", "f-manager")
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	f.Manager = manager
	d := usersData{Filter: f, Manager: mf, ManagerText: q.Get("manager")}
	if len(mf.Choices) > 0 {
		// Several people match the manager's name: nothing is listed on a guess.
		u.render(w, r, v, http.StatusOK, "users", "Users", "users", d, nil)
		return
	}
	page, err := u.service.Users(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Users, d.Pager = page.Items, newPager("/users", q, len(page.Items), page.NextCursor, page.Total)
	d.ManagerNames = u.managerNames(v, page.Items)
	if f.Query != "" && page.Total != nil {
		d.Matches = plural(*page.Total, "user matches", "users match")
	}
	u.render(w, r, v, http.StatusOK, "users", "Users", "users", d, nil)
}

// managerNames names the managers of users, by id: a page's users share a
// few managers, each read once. A manager who cannot be read is shown by id.
func (u *UI) managerNames(v *visit, users []roster.User) map[string]string {
	names := map[string]string{}
	for _, x := range users {
		if x.Manager == "" {
			continue
		}
		if _, seen := names[x.Manager]; seen {
			continue
		}
		names[x.Manager] = ""
		if m, err := u.service.User(v.ctx, x.Manager); err == nil {
			names[x.Manager] = m.Name
		}
	}
	return names
}

// peopleNames names the people tasks name — subjects, approvers,
// provisioners — as the signed-in person may read them: each read once; one
// they may not read keeps their id.
func (u *UI) peopleNames(v *visit, tasks []roster.Task) map[string]string {
	names := map[string]string{}
	for _, t := range tasks {
		for _, id := range append(append([]string{t.User}, t.Approvers...), t.Provisioners...) {
			if _, seen := names[id]; seen || id == "" {
				continue
			}
			names[id] = ""
			if p, err := u.service.User(v.ctx, id); err == nil {
				names[id] = p.Name
			}
		}
	}
	return names
}
