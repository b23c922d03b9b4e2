package ui

import (
	"fmt"
	"net/http"
	"strings"
)

// requestProfile requests a profile for the signed-in user
// (Service.RequestProfile).
func (u *UI) requestProfile(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	t, err := u.service.RequestProfile(v.ctx, id, strings.TrimSpace(r.PostFormValue("comment")))
	notice := ""
	if err == nil {
		notice = fmt.Sprintf("Requested %s (task %d): it is %s.", id, t.ID, human(string(t.State)))
	}
	u.done(w, r, v, "/request", err, notice)
}
