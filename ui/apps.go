package ui

import (
	"net/http"

	"github.com/rosterhq/roster"
)

// appsData is the catalog: apps with their entitlements, and the policies.
type appsData struct {
	Apps     []appEntry
	Policies []roster.Policy
}

// appEntry is one app with its entitlements.
type appEntry struct {
	App          roster.App
	Entitlements []roster.Entitlement
}

// showApps shows the apps, their entitlements and the approval policies.
func (u *UI) showApps(w http.ResponseWriter, r *http.Request, v *visit) {
	apps, err := u.service.Apps(v.ctx)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	ents, err := u.allEntitlements(v)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	policies, err := u.service.Policies(v.ctx)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d := appsData{Policies: policies}
	for _, a := range apps {
		e := appEntry{App: a}
		for _, ent := range ents {
			if ent.App == a.ID {
				e.Entitlements = append(e.Entitlements, ent)
			}
		}
		d.Apps = append(d.Apps, e)
	}
	u.render(w, r, v, http.StatusOK, "apps", "Apps and entitlements", "apps", d, nil)
}
