package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// reviewData is the review of a paused sync: its verdict in figures and the
// staged people, filtered by Query.
type reviewData struct {
	*profileTab
	// Verdict says what the sync would do against the safeguard's limit;
	// Recent says how many removals came before it in the window.
	Verdict, Recent string
	Query           string
	Unenroll        []stagedPerson
	Enroll          []stagedPerson
	// Shown says how many staged people the search kept ("" when there is
	// no search).
	Shown string
	// Removals is the count the confirmation states.
	Removals, Enrollments int
}

// stagedPerson is a staged user as the review shows them: who they are, why
// the sync staged them and the access the change would take away.
type stagedPerson struct {
	ID, Name, Department, Email string
	Why                         string
	// Lose are the profile's entitlements the unenrollment would revoke.
	Lose []roster.EntitlementName
}

// showReview shows a paused sync's verdict and staged people with Resume sync
// and Go back (admins; auditors read it).
func (u *UI) showReview(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "review")
	if !ok {
		return
	}
	d := reviewData{profileTab: pt, Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	p := pt.P
	if p.Automation.State == roster.AutomationPaused {
		s, err := u.service.Settings(v.ctx)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		d.Verdict, d.Recent = verdict(p, s.Safeguard)
		ents, err := u.entitlementsOf(v, p.Entitlements)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		if d.Unenroll, err = u.staged(v, p, p.Automation.Staged.Unenroll, true, ents, d.Query); err == nil {
			d.Enroll, err = u.staged(v, p, p.Automation.Staged.Enroll, false, ents, d.Query)
		}
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		d.Removals, d.Enrollments = len(p.Automation.Staged.Unenroll), len(p.Automation.Staged.Enroll)
		if d.Query != "" {
			d.Shown = fmt.Sprintf("%d of %s match", len(d.Unenroll)+len(d.Enroll),
				plural(d.Removals+d.Enrollments, "staged change", "staged changes"))
			if d.Enrollments == 0 {
				d.Shown = fmt.Sprintf("%d of %s match", len(d.Unenroll), plural(d.Removals, "staged removal", "staged removals"))
			}
		}
	}
	u.render(w, r, v, http.StatusOK, "profile_review", p.Name+": review paused sync", "profiles", d, nil)
}

// verdict states a paused sync's figures against the safeguard's limit:
// "would remove 100 of 134 members (75%)" and the removals before it.
func verdict(p *roster.ProfileView, limit roster.Safeguard) (string, string) {
	st := p.Automation.Staged
	n := len(st.Unenroll)
	var s string
	if st.Members > 0 {
		s = fmt.Sprintf("This sync would remove %d of %d members (%d%%)", n, st.Members, n*100/st.Members)
	} else {
		s = fmt.Sprintf("This sync would remove %s", plural(n, "member", "members"))
	}
	s += fmt.Sprintf(" — the limit is %d%% of profiles over %s", limit.MaxRemovalPercent, plural(limit.MinMembers, "member", "members"))
	if len(st.Enroll) > 0 {
		s += fmt.Sprintf("; it would also enroll %s", plural(len(st.Enroll), "person", "people"))
	}
	recent := "no other removals in the past hour"
	switch {
	case st.RecentRemovals == 1:
		recent = "1 more was removed in the past hour"
	case st.RecentRemovals > 1:
		recent = fmt.Sprintf("%d more were removed in the past hour", st.RecentRemovals)
	}
	return s, recent
}

// entitlementsOf names the entitlements of ids, keyed by id; those that
// cannot be read are named by their id.
func (u *UI) entitlementsOf(v *visit, ids []string) (map[string]roster.EntitlementName, error) {
	out := make(map[string]roster.EntitlementName, len(ids))
	apps := map[string]bool{}
	for _, id := range ids {
		out[id] = roster.EntitlementName{ID: id, Name: id}
		if app, _, ok := roster.SplitEntitlementID(id); ok {
			apps[app] = true
		}
	}
	all, err := u.service.Apps(v.ctx)
	if err != nil {
		return nil, err
	}
	appName := map[string]string{}
	for _, a := range all {
		appName[a.ID] = a.Name
	}
	for app := range apps {
		cursor := ""
		for {
			page, err := u.service.Entitlements(v.ctx, roster.EntitlementFilter{App: app, Cursor: cursor, Limit: roster.MaxPageSize})
			if err != nil {
				return nil, err
			}
			for _, e := range page.Items {
				if _, ok := out[e.ID]; ok {
					out[e.ID] = roster.EntitlementName{ID: e.ID, AppName: appName[app], Name: e.Name, Risk: e.Risk}
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	return out, nil
}

// staged describes the staged users ids of p that match q (by id, name,
// email or department): who they are, why they are staged, and for removals
// the access they would lose.
func (u *UI) staged(v *visit, p *roster.ProfileView, ids []string, removal bool, ents map[string]roster.EntitlementName, q string) ([]stagedPerson, error) {
	q = strings.ToLower(q)
	out := []stagedPerson{}
	for _, id := range ids {
		sp := stagedPerson{ID: id}
		person, err := u.service.User(v.ctx, id)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
		if person != nil {
			sp.Name, sp.Department, sp.Email = person.Name, person.Department, person.Email
		}
		if q != "" && !strings.Contains(strings.ToLower(strings.Join([]string{sp.ID, sp.Name, sp.Email, sp.Department}, "\x00")), q) {
			continue
		}
		grants, err := u.service.Grants(v.ctx, roster.GrantFilter{User: id, Limit: roster.MaxPageSize})
		if err != nil {
			return nil, err
		}
		held := map[string]*roster.Grant{}
		for i := range grants.Items {
			held[grants.Items[i].Entitlement] = &grants.Items[i]
		}
		matches := slices.ContainsFunc(p.Automation.AnyEntitlement, func(e string) bool { return held[e] != nil })
		excluded := slices.Contains(p.Automation.ExcludedUsers, id)
		disabled := person != nil && person.Status == roster.UserDisabled
		switch {
		case !removal && (excluded || disabled || !matches):
			sp.Why = "no longer matches the rule: Resume leaves them out"
		case !removal:
			sp.Why = "holds " + strings.Join(heldOf(p.Automation.AnyEntitlement, held), ", ")
		case person == nil:
			sp.Why = "no longer in the directory"
		case disabled:
			sp.Why = "disabled"
		case excluded:
			sp.Why = "excluded from " + p.Name
		case !matches:
			sp.Why = "lost " + strings.Join(p.Automation.AnyEntitlement, " and ")
		default:
			sp.Why = "matches the rule again: Resume keeps them"
		}
		if removal && p.Unenrollment.Access != roster.AccessLeave {
			for _, e := range p.Entitlements {
				g := held[e]
				if g == nil || !g.HasSource(roster.ProfileSource(p.ID)) {
					continue
				}
				if p.Unenrollment.Access == roster.AccessRevokeUnjustified && len(g.Sources) > 1 {
					continue // another source justifies it
				}
				sp.Lose = append(sp.Lose, ents[e])
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// heldOf returns the entitlements of rule that held contains.
func heldOf(rule []string, held map[string]*roster.Grant) []string {
	var out []string
	for _, e := range rule {
		if held[e] != nil {
			out = append(out, e)
		}
	}
	return out
}

// plural says "1 member" or "3 members".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
