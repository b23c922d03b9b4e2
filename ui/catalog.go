package ui

import (
	"slices"
	"strings"

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

// picker is a searchable picker inside a form: the chosen items as
// removable chips (ticked checkboxes: untick one to remove it) and the items
// a search found (checkboxes to tick). Its Find button submits the form to
// FindAction, which shows the form again as posted with what the search
// found, changing nothing; the page's address takes the search as a query
// parameter (Search) too. It needs no JavaScript and keeps what was typed.
type picker struct {
	// ID prefixes the ids of the picker's elements.
	ID     string
	Legend string
	// Field is the name of the chosen items' checkboxes.
	Field string
	// Search is the name of the search field; Query what was searched.
	Search, Query string
	Placeholder   string
	Chosen, Found []pickItem
	// More counts the matches not shown; Some says there are more
	// without counting them.
	More int
	Some bool
	// FindAction is where the Find button submits the form.
	FindAction string
	// ReadOnly shows the chosen items only (auditors).
	ReadOnly bool
}

// pickItem is one choice of a picker: an entitlement or a person.
type pickItem struct {
	ID, Name, Detail, Risk string
}

// pickShown is how many matches a picker lists.
const pickShown = 20

// entitlementItem is an entitlement as a picker shows it.
func entitlementItem(e *roster.Entitlement, appNames map[string]string) pickItem {
	return pickItem{ID: e.ID, Name: e.Name, Detail: appNames[e.App], Risk: string(e.Risk)}
}

// pickEntitlements fills p from the catalog: the chosen entitlements (in
// their order) and up to pickShown of the others that match p.Query by
// name, code or app, leaving out those skip rejects.
func pickEntitlements(p *picker, ents []roster.Entitlement, appNames map[string]string, chosen []string, skip func(e *roster.Entitlement) bool) {
	byID := make(map[string]*roster.Entitlement, len(ents))
	for i := range ents {
		byID[ents[i].ID] = &ents[i]
	}
	for _, id := range chosen {
		if e, ok := byID[id]; ok {
			p.Chosen = append(p.Chosen, entitlementItem(e, appNames))
		} else {
			p.Chosen = append(p.Chosen, pickItem{ID: id})
		}
	}
	for i := range ents {
		e := &ents[i]
		if slices.Contains(chosen, e.ID) || (skip != nil && skip(e)) || !matches(p.Query, e.ID, e.Name, appNames[e.App]) {
			continue
		}
		if len(p.Found) == pickShown {
			p.More++
			continue
		}
		p.Found = append(p.Found, entitlementItem(e, appNames))
	}
}

// pickUsers fills p with the chosen people, named, and up to pickShown of
// the others of status ("" for any) whose id, name or email holds p.Query
// (none without one).
func (u *UI) pickUsers(v *visit, p *picker, chosen []string, status string) error {
	for _, id := range chosen {
		it := pickItem{ID: id}
		if len(p.Chosen) < 200 {
			if person, err := u.service.User(v.ctx, id); err == nil {
				it.Name, it.Detail = person.Name, person.Department
			}
		}
		p.Chosen = append(p.Chosen, it)
	}
	if p.Query == "" {
		return nil
	}
	// One more than shown says whether there are more, without counting
	// every match of 20,000 people.
	page, err := u.service.Users(v.ctx, roster.UserFilter{Query: p.Query, Status: status, Limit: pickShown + len(chosen) + 1})
	if err != nil {
		return err
	}
	for _, person := range page.Items {
		if slices.Contains(chosen, person.ID) {
			continue
		}
		if len(p.Found) == pickShown {
			p.Some = true
			break
		}
		p.Found = append(p.Found, pickItem{ID: person.ID, Name: person.Name, Detail: person.Department})
	}
	return nil
}

// appNames maps each app's id to its name.
func (u *UI) appNames(v *visit) (map[string]string, error) {
	apps, err := u.service.Apps(v.ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(apps))
	for _, a := range apps {
		out[a.ID] = a.Name
	}
	return out, nil
}

// chosenValues returns the values of a form's repeated field, trimmed,
// without blanks or repeats, in order.
func chosenValues(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
