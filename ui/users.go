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
}

// showUsers lists users (admins and auditors; the engine refuses others).
func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f := roster.UserFilter{Query: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Department: q.Get("department"), Manager: q.Get("manager"),
		Cursor: q.Get("cursor"), Limit: listLimit(q), Total: true}
	page, err := u.service.Users(v.ctx, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := usersData{Users: page.Items, Filter: f, Pager: newPager("/users", q, len(page.Items), page.NextCursor, page.Total)}
	if f.Query != "" && page.Total != nil {
		d.Matches = plural(*page.Total, "user matches", "users match")
	}
	u.render(w, r, v, http.StatusOK, "users", "Users", "users", d, nil)
}
