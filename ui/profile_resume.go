package ui

import (
	"net/http"
)

// resume applies a paused sync's staged plan as far as it still holds
// (Service.Resume; admins).
func (u *UI) resume(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	res, err := u.service.Resume(v.ctx, id)
	if err != nil {
		u.done(w, r, v, profileURL(id, "review"), err, "")
		return
	}
	u.done(w, r, v, profileURL(id, ""), nil, "Resumed the sync. "+syncLine(res))
}
