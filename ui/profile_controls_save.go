package ui

import (
	"net/http"
)

// saveControls saves the Controls form: it applies the profile's whole
// desired state (Service.Apply; admins). Saving the automation discards a
// paused sync's staged plan, and saving it enabled syncs at once.
func (u *UI) saveControls(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "controls")
	if !ok {
		return
	}
	f := readControlsForm(r)
	res, err := u.saveProfile(v, f.apply(entryOf(pt.P)))
	if err != nil {
		errv := u.errorFor(r, err)
		if errv.Status == http.StatusForbidden || res == nil {
			u.renderError(w, r, v, errv)
			return
		}
		d, derr := u.controlsData(v, pt, f)
		if derr != nil {
			u.fail(w, r, v, derr)
			return
		}
		d.Saved = res
		u.render(w, r, v, errv.Status, "profile_controls", pt.P.Name+": controls", "profiles", d, errv)
		return
	}
	msg, details := res.summary()
	u.done(w, r, v, profileURL(pt.P.ID, "controls"), nil, msg, details...)
}
