package ui

import (
	"net/http"
)

// syncNow syncs a profile now (Service.Sync; admins) and returns to its
// Controls, or to its Review when the safeguard paused the sync.
func (u *UI) syncNow(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	res, err := u.service.Sync(v.ctx, id)
	if err != nil {
		u.done(w, r, v, profileURL(id, "controls"), err, "")
		return
	}
	if res.Paused {
		u.done(w, r, v, profileURL(id, "review"), nil, syncLine(res))
		return
	}
	u.done(w, r, v, profileURL(id, "controls"), nil, syncLine(res))
}
