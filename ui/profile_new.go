package ui

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// newProfileForm is the New profile form.
type newProfileForm struct {
	ID          string
	Name        string
	Description string
	Saved       *applyResult
}

// showNewProfile shows the New profile form (admins).
func (u *UI) showNewProfile(w http.ResponseWriter, r *http.Request, v *visit) {
	u.render(w, r, v, http.StatusOK, "profile_new", "New access profile", "profiles", newProfileForm{}, nil)
}

// createProfile creates an empty profile, its automation off, and opens its
// Entitlements tab (Service.Apply; admins).
func (u *UI) createProfile(w http.ResponseWriter, r *http.Request, v *visit) {
	f := newProfileForm{
		ID:          strings.TrimSpace(r.PostFormValue("id")),
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
	}
	again := func(err error) {
		errv := u.errorFor(r, err)
		if errv.Status == http.StatusForbidden || errv.Status == http.StatusInternalServerError {
			u.renderError(w, r, v, errv)
			return
		}
		u.render(w, r, v, errv.Status, "profile_new", "New access profile", "profiles", f, errv)
	}
	if f.ID == "" {
		again(roster.Errorf(roster.EINVALID, "give the profile an id, such as eng or sales-tools"))
		return
	}
	// Apply upserts: make sure the form does not overwrite a profile.
	if _, err := u.service.Profile(v.ctx, f.ID); err == nil {
		again(roster.Errorf(roster.ECONFLICT, "a profile with id %q already exists", f.ID))
		return
	} else if roster.ErrorCode(err) != roster.ENOTFOUND {
		again(err)
		return
	}
	e := profileEntry{
		ID: f.ID, Name: f.Name, Description: f.Description, Entitlements: []string{},
		Unenrollment: unenrollEntry{Access: roster.AccessRevokeUnjustified},
		Automation:   automationEntry{Mode: roster.ModeSyncAndAct, AnyEntitlement: []string{}, ExcludedUsers: []string{}, Safeguard: true},
	}
	if e.Name == "" {
		e.Name = e.ID
	}
	res, err := u.saveProfile(v, e)
	if err != nil {
		f.Saved = res
		again(err)
		return
	}
	msg, details := res.summary()
	u.done(w, r, v, profileURL(f.ID, "entitlements"), nil, "Created profile "+f.ID+". Add its entitlements, then set its controls. "+strings.TrimPrefix(msg, "Saved."), details...)
}
