package ui

import (
	"net/http"

	"github.com/rosterhq/roster"
)

// usersData is the user list.
type usersData struct {
	Users   []roster.User
	Filter  roster.UserFilter
	NextURL string
}

// showUsers lists users (admins and auditors; the engine refuses others).
func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.UserFilter{Status: q.Get("status"), Department: q.Get("department"), Manager: q.Get("manager"), Cursor: q.Get("cursor")}
	page, err := u.service.Users(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := usersData{Users: page.Items, Filter: f}
	if page.NextCursor != "" {
		q.Set("cursor", page.NextCursor)
		d.NextURL = "/users?" + q.Encode()
	}
	u.render(w, r, v, http.StatusOK, "users", "Users", "users", d, nil)
}
