package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// enroll starts manual enrollments of the users named in the Enroll users
// form (Service.Enroll; admins).
func (u *UI) enroll(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	if r.PostFormValue("picker") != "" {
		u.findToEnroll(w, r, v)
		return
	}
	users := userList(r.PostFormValue("users"))
	for _, p := range r.PostForm["pick"] {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(users, p) {
			users = append(users, p)
		}
	}
	if len(users) == 0 {
		u.done(w, r, v, profileURL(id, ""), roster.Errorf(roster.EINVALID, "name at least one user to enroll"), "")
		return
	}
	tasks, err := u.service.Enroll(v.ctx, id, users, strings.TrimSpace(r.PostFormValue("comment")))
	var details []string
	for _, t := range tasks {
		details = append(details, fmt.Sprintf("Task %d: enroll %s (%s)", t.ID, t.User, human(string(t.State))))
	}
	u.done(w, r, v, profileURL(id, ""), err, "Started "+plural(len(tasks), "enrollment", "enrollments")+".", details...)
}

// userList splits a list of user ids separated by commas or white space.
func userList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// findToEnroll shows the Members tab again with the Enroll users form as
// posted and what its search found; it enrolls no one (admins).
func (u *UI) findToEnroll(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "members")
	if !ok {
		return
	}
	if !v.admin() {
		u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Admins only",
			Message: fmt.Sprintf("Only admins may enroll users. You are signed in as %s (%s).", v.me.ID, v.me.Role)})
		return
	}
	d, err := u.membersData(v, pt, url.Values{"find": {r.PostFormValue("find")}}, chosenValues(r.PostForm["pick"]))
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Comment = r.PostFormValue("comment")
	u.render(w, r, v, http.StatusOK, "profile_members", pt.P.Name, "profiles", d, nil)
}
