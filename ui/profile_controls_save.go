package ui

import (
	"net/http"
	"strings"
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
	if paused := res.paused(); len(paused) > 0 {
		// Saved, but the safeguard held the sync: no green notice.
		u.sessions.setFlash(w, &flash{Kind: "warn", Title: "Saved, but the safeguard paused the sync",
			Message: "the change would remove too many members of " + strings.Join(paused, ", ") + ": nothing was applied. Review the staged changes, then resume or edit the automation.",
			Details: details})
		http.Redirect(w, r, profileURL(pt.P.ID, "controls"), http.StatusSeeOther)
		return
	}
	u.done(w, r, v, profileURL(pt.P.ID, "controls"), nil, msg, details...)
}
