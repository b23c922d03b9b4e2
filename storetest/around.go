package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/rosterhq/roster"
)

// testAround: what Around reads at once is what the reads one at a time
// return — the profile, its contents' and the task's entitlements that
// exist, the profiles whose rules name each of them (none as an empty
// list), the subject's memberships, grants and open tasks, and the
// delegations in force — for a task with a profile, one without, and one
// of a profile that is gone.
func testAround(t *testing.T, s roster.Store) {
	eng := fullProfile("eng", 0) // contains slack/eng and github/org-member
	leads := fullProfile("leads", 10)
	leads.Entitlements = []string{"github/admin"}
	leads.Automation.AnyEntitlement = []string{"slack/eng", roster.EnrollmentEntitlement("eng")}
	ents := []roster.Entitlement{fullEntitlement("slack", "eng", 0), fullEntitlement("github", "admin", 2), fullEntitlement("okta", "engineering", 4)}
	grants := []roster.Grant{
		{User: "alice", Entitlement: "slack/eng", Sources: []string{roster.ProfileSource("eng")}, CreatedAt: at(1), UpdatedAt: at(2)},
		{User: "alice", Entitlement: "okta/engineering", Sources: []string{roster.SourceDirect}, CreatedAt: at(3), UpdatedAt: at(3)},
		{User: "bob", Entitlement: "slack/eng", Sources: []string{roster.SourceDirect}, CreatedAt: at(4), UpdatedAt: at(4)},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, e := range ents {
			if err := tx.PutEntitlement(ctx, &e); err != nil {
				return err
			}
		}
		for _, p := range []roster.Profile{eng, leads} {
			if err := tx.PutProfile(ctx, &p); err != nil {
				return err
			}
		}
		for _, m := range []roster.Member{
			{Profile: "eng", User: "alice", Source: roster.MemberAutomation, Since: at(5)},
			{Profile: "leads", User: "alice", Source: roster.MemberManual, Since: at(6)},
			{Profile: "eng", User: "bob", Source: roster.MemberAutomation, Since: at(7)},
		} {
			if err := tx.PutMember(ctx, &m); err != nil {
				return err
			}
		}
		for _, d := range []roster.Delegation{
			{User: "carol", Delegate: "sam", Until: at(10), SetBy: "carol", SetAt: at(1)},
			{User: "ivan", Delegate: "tess", Until: at(2), SetBy: "admin", SetAt: at(1)},
		} {
			if err := tx.PutDelegation(ctx, &d); err != nil {
				return err
			}
		}
		return nil
	})
	putGrants(t, s, grants...)
	createTasks(t, s, filterTasks()) // alice has four open tasks among them, bob three

	for _, c := range []struct{ user, profile, entitlement string }{
		{"alice", "eng", "github/admin"},
		{"bob", "eng", roster.EnrollmentEntitlement("eng")},
		{"alice", "", "okta/engineering"},
		{"bob", "gone", "slack/eng"},
	} {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Around, error) {
			return tx.Around(ctx, c.user, c.profile, c.entitlement, at(3))
		})
		want := roster.Around{Rules: map[string][]string{}}
		view(t, s, func(ctx context.Context, tx roster.Tx) error {
			asked := []string{c.entitlement, roster.EnrollmentEntitlement(c.profile)}
			if p, err := tx.Profile(ctx, c.profile); err == nil {
				want.Profile = p
				asked = append(asked, p.Entitlements...)
			} else if roster.ErrorCode(err) != roster.ENOTFOUND {
				return err
			}
			for _, id := range sortedSet(append([]string{c.entitlement}, contents(want.Profile)...)) {
				e, err := tx.Entitlement(ctx, id)
				if roster.ErrorCode(err) == roster.ENOTFOUND {
					continue
				} else if err != nil {
					return err
				}
				want.Entitlements = append(want.Entitlements, *e)
			}
			for _, e := range asked {
				ps, err := tx.RuleProfiles(ctx, []string{e})
				if err != nil {
					return err
				}
				want.Rules[e] = ps
			}
			var err error
			if want.Memberships, err = tx.Memberships(ctx, c.user); err != nil {
				return err
			}
			if want.Grants, err = tx.UserGrants(ctx, c.user); err != nil {
				return err
			}
			if want.OpenTasks, err = tx.UserOpenTasks(ctx, c.user); err != nil {
				return err
			}
			want.Delegations, err = tx.DelegationsInForce(ctx, at(3))
			return err
		})
		if len(want.Memberships) == 0 || len(want.Grants) == 0 || len(want.OpenTasks) == 0 || len(want.Delegations) != 1 {
			t.Fatalf("the test's organisation lacks what Around reads for %s: %+v", c.user, want)
		}
		// Grants in no particular order: Around's as UserGrants orders them.
		got.Grants = orderedLike(got.Grants, want.Grants)
		equal(t, "Around("+c.user+", "+c.profile+", "+c.entitlement+")", want, *got)
	}
	// leads's rule names access-profiles/eng and slack/eng.
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Around, error) {
		return tx.Around(ctx, "bob", "eng", "github/admin", at(3))
	})
	equal(t, "rules read with eng", map[string][]string{"access-profiles/eng": {"leads"}, "github/admin": {}, "github/org-member": {}, "slack/eng": {"leads"}}, got.Rules)
}

// contents returns p's entitlements, none for no profile.
func contents(p *roster.Profile) []string {
	if p == nil {
		return nil
	}
	return p.Entitlements
}

// sortedSet returns ids sorted, each once.
func sortedSet(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// orderedLike returns gs in the order of like, by (user, entitlement); a
// grant like lacks comes last.
func orderedLike(gs, like []roster.Grant) []roster.Grant {
	pos := map[string]int{}
	for i, g := range like {
		pos[grantKey(g)] = i
	}
	out := slices.Clone(gs)
	slices.SortStableFunc(out, func(a, b roster.Grant) int {
		pa, oka := pos[grantKey(a)]
		pb, okb := pos[grantKey(b)]
		if !oka {
			pa = len(like)
		}
		if !okb {
			pb = len(like)
		}
		return pa - pb
	})
	return out
}
