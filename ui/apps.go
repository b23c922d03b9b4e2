package ui

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// appsData is the catalog: apps with their entitlements, and the policies.
type appsData struct {
	Apps     []appEntry
	Policies []roster.Policy
	// Entitlements are one page of the entitlements that match Query.
	Entitlements []roster.Entitlement
	AppNames     map[string]string
	Query        string
	Pager        pager
}

// appEntry is one app with its entitlements.
type appEntry struct {
	App          roster.App
	Entitlements int
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
	q := r.URL.Query()
	d := appsData{Policies: policies, Query: strings.TrimSpace(q.Get("q")), AppNames: map[string]string{}}
	count := map[string]int{}
	var found []roster.Entitlement
	for _, a := range apps {
		d.AppNames[a.ID] = a.Name
	}
	for _, ent := range ents {
		count[ent.App]++
		if matches(d.Query, ent.ID, ent.Name, d.AppNames[ent.App]) {
			found = append(found, ent)
		}
	}
	for _, a := range apps {
		d.Apps = append(d.Apps, appEntry{App: a, Entitlements: count[a.ID]})
	}
	lo, hi, pg := offsetPage("/apps", q, len(found))
	d.Entitlements, d.Pager = found[lo:hi], pg
	u.render(w, r, v, http.StatusOK, "apps", "Apps and entitlements", "apps", d, nil)
}
