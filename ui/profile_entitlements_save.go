package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/rosterhq/roster"
)

// saveEntitlements adds entitlements to a profile or removes one: it
// applies the profile's whole desired state with the changed contents
// (Service.Apply; admins). The engine requests each added entitlement for
// current members and applies the unenrollment access setting to a removed
// one. The picker's Find button posts here too: the tab is shown again with
// the ticked entitlements and what the search found, and nothing changes.
func (u *UI) saveEntitlements(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "entitlements")
	if !ok {
		return
	}
	chosen := chosenValues(r.PostForm["entitlement"])
	if r.PostFormValue("picker") != "" {
		if !v.admin() {
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Admins only",
				Message: fmt.Sprintf("Only admins may change a profile's entitlements. You are signed in as %s (%s).", v.me.ID, v.me.Role)})
			return
		}
		d, err := u.entitlementsData(v, pt, url.Values{"q": {r.PostFormValue("q")}}, chosen)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		u.render(w, r, v, http.StatusOK, "profile_entitlements", pt.P.Name+": entitlements", "profiles", d, nil)
		return
	}
	e := entryOf(pt.P)
	var added []string
	switch r.PostFormValue("op") {
	case "add":
		for _, ent := range chosen {
			if !slices.Contains(e.Entitlements, ent) {
				added = append(added, ent)
			}
		}
		if len(added) == 0 {
			u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), roster.Errorf(roster.EINVALID, "choose an entitlement to add"), "")
			return
		}
		e.Entitlements = keepOrder(e.Entitlements, append(slices.Clone(e.Entitlements), added...))
	case "remove":
		ent := r.PostFormValue("entitlement")
		e.Entitlements = slices.DeleteFunc(slices.Clone(e.Entitlements), func(x string) bool { return x == ent })
	default:
		u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), roster.Errorf(roster.EINVALID, "unknown change %q", r.PostFormValue("op")), "")
		return
	}
	before, err := u.contentRequests(v, pt.P.ID, added)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	res, err := u.saveProfile(v, e)
	if err != nil {
		errv := u.errorFor(r, err)
		if errv.Status == http.StatusForbidden || res == nil {
			u.renderError(w, r, v, errv)
			return
		}
		d, derr := u.entitlementsData(v, pt, nil, chosen)
		if derr != nil {
			u.fail(w, r, v, derr)
			return
		}
		d.Saved = res
		u.render(w, r, v, errv.Status, "profile_entitlements", pt.P.Name+": entitlements", "profiles", d, errv)
		return
	}
	msg, details := res.summary()
	if len(added) > 0 && res.ChangeRequest == 0 {
		after, err := u.contentRequests(v, pt.P.ID, added)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		if pt.P.MemberCount == 0 {
			msg = fmt.Sprintf("Saved. Added %s; the profile has no members yet, so no request was started.", plural(len(added), "entitlement", "entitlements"))
		} else {
			msg = fmt.Sprintf("Saved. Added %s: started %s for the profile's %s.", plural(len(added), "entitlement", "entitlements"),
				plural(after-before, "request", "requests"), plural(pt.P.MemberCount, "member", "members"))
		}
	}
	u.done(w, r, v, profileURL(pt.P.ID, "entitlements"), nil, msg, details...)
}

// contentRequests counts the requests of ents the profile has started for
// its members (tasks of origin profile content), every state together.
func (u *UI) contentRequests(v *visit, profile string, ents []string) (int, error) {
	n := 0
	for _, ent := range ents {
		f := roster.TaskFilter{Profile: profile, Entitlement: ent, Origin: roster.OriginProfileContent, Kind: roster.TaskGrant, Limit: roster.MaxPageSize}
		for {
			page, err := u.service.Tasks(v.ctx, f)
			if err != nil {
				return 0, err
			}
			n += len(page.Items)
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
	}
	return n, nil
}
