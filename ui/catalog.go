package ui

import (
	"github.com/rosterhq/roster"
)

// allEntitlements reads every entitlement of the catalog, following pages.
func (u *UI) allEntitlements(v *visit) ([]roster.Entitlement, error) {
	var out []roster.Entitlement
	f := roster.EntitlementFilter{Limit: roster.MaxPageSize}
	for {
		page, err := u.service.Entitlements(v.ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// entitlementGroup is the entitlements of one app, for pickers.
type entitlementGroup struct {
	App          string
	Entitlements []roster.Entitlement
}

// groupByApp groups entitlements by app, keeping their order, and leaves out
// those skip rejects.
func groupByApp(ents []roster.Entitlement, skip func(e *roster.Entitlement) bool) []entitlementGroup {
	var out []entitlementGroup
	for i := range ents {
		e := &ents[i]
		if skip != nil && skip(e) {
			continue
		}
		if n := len(out); n == 0 || out[n-1].App != e.App {
			out = append(out, entitlementGroup{App: e.App})
		}
		out[len(out)-1].Entitlements = append(out[len(out)-1].Entitlements, *e)
	}
	return out
}
