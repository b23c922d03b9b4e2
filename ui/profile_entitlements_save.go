package ui

import (
	"net/http"
	"slices"

	"github.com/rosterhq/roster"
)

// saveEntitlements adds an entitlement to a profile or removes one: it
// applies the profile's whole desired state with the changed contents
// (Service.Apply; admins). The engine requests the added entitlement for
// current members and applies the unenrollment access setting to a removed one.
func (u *UI) saveEntitlements(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "entitlements")
	if !ok {
		return
	}
	e := entryOf(pt.P)
	ent := r.PostFormValue("entitlement")
	switch r.PostFormValue("op") {
	case "add":
		if ent == "" {
			u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), roster.Errorf(roster.EINVALID, "choose an entitlement to add"), "")
			return
		}
		e.Entitlements = keepOrder(e.Entitlements, append(slices.Clone(e.Entitlements), ent))
	case "remove":
		e.Entitlements = slices.DeleteFunc(slices.Clone(e.Entitlements), func(x string) bool { return x == ent })
	default:
		u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), roster.Errorf(roster.EINVALID, "unknown change %q", r.PostFormValue("op")), "")
		return
	}
	res, err := u.saveProfile(v, e)
	if err != nil {
		errv := u.errorFor(r, err)
		if errv.Status == http.StatusForbidden || res == nil {
			u.renderError(w, r, v, errv)
			return
		}
		d, derr := u.entitlementsData(v, pt)
		if derr != nil {
			u.fail(w, r, v, derr)
			return
		}
		d.Saved = res
		u.render(w, r, v, errv.Status, "profile_entitlements", pt.P.Name+": entitlements", "profiles", d, errv)
		return
	}
	msg, details := res.summary()
	u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), nil, msg, details...)
}
