package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// entitlementsData is the Entitlements tab of a profile.
type entitlementsData struct {
	*profileTab
	// Contents are the profile's entitlements as the catalog describes them.
	Contents []roster.Entitlement
	// Add picks the entitlements an admin may add (admins).
	Add picker
	// Saved is the outcome of a save that failed.
	Saved *applyResult
}

// showEntitlements shows what the profile grants and, for admins, the forms
// that add and remove entitlements. The address's q searches the catalog
// for entitlements to add.
func (u *UI) showEntitlements(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "entitlements")
	if !ok {
		return
	}
	d, err := u.entitlementsData(v, pt, r.URL.Query(), nil)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_entitlements", pt.P.Name+": entitlements", "profiles", d, nil)
}

// entitlementsData reads the tab: q's "q" searches the catalog, and chosen
// are the entitlements ticked to add.
func (u *UI) entitlementsData(v *visit, pt *profileTab, q url.Values, chosen []string) (*entitlementsData, error) {
	ents, err := u.allEntitlements(v)
	if err != nil {
		return nil, err
	}
	d := &entitlementsData{profileTab: pt}
	for _, id := range pt.P.Entitlements {
		i := slices.IndexFunc(ents, func(e roster.Entitlement) bool { return e.ID == id })
		if i < 0 {
			d.Contents = append(d.Contents, roster.Entitlement{ID: id})
			continue
		}
		d.Contents = append(d.Contents, ents[i])
	}
	if !v.admin() {
		return d, nil
	}
	names, err := u.appNames(v)
	if err != nil {
		return nil, err
	}
	d.Add = picker{ID: "ents", Legend: "Entitlements to add", Field: "entitlement", Search: "q", Query: strings.TrimSpace(q.Get("q")),
		Placeholder: "Name, code or app", FindAction: profileURL(pt.P.ID, "entitlements") + "#ents"}
	pickEntitlements(&d.Add, ents, names, chosen, func(e *roster.Entitlement) bool {
		return e.App == roster.BuiltinApp || slices.Contains(pt.P.Entitlements, e.ID)
	})
	return d, nil
}
