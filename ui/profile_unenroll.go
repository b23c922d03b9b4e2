package ui

import (
	"fmt"
	"net/http"
	"strings"
)

// unenroll starts the manual unenrollment of one member (Service.Unenroll;
// admins).
func (u *UI) unenroll(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	user := strings.TrimSpace(r.PostFormValue("user"))
	exclude := r.PostFormValue("exclude") != ""
	tasks, err := u.service.Unenroll(v.ctx, id, []string{user}, strings.TrimSpace(r.PostFormValue("comment")), exclude)
	var details []string
	for _, t := range tasks {
		details = append(details, fmt.Sprintf("Task %d: unenroll %s (%s)", t.ID, t.User, human(string(t.State))))
	}
	msg := fmt.Sprintf("Started the unenrollment of %s.", user)
	if exclude {
		msg = fmt.Sprintf("Excluded %s from the rule and started their unenrollment.", user)
	}
	u.done(w, r, v, profileURL(id, ""), err, msg, details...)
}
