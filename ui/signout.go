package ui

import "net/http"

// signOut ends the session.
func (u *UI) signOut(w http.ResponseWriter, r *http.Request, v *visit) {
	u.sessions.end(r.Context(), w, v.sess)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
