package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// putGrants stores grants with the given sources.
func putGrants(t *testing.T, s roster.Store, gs ...roster.Grant) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range gs {
			if err := tx.PutGrant(ctx, &gs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// grantKey is how grant lists are compared.
func grantKey(g roster.Grant) string { return g.User + " " + g.Entitlement }

func testGrantRoundTrip(t *testing.T, s roster.Store) {
	in := roster.Grant{User: "alice", Entitlement: "github/org-member",
		Sources: []string{"profile:eng", "direct", "profile:b", "direct"}, CreatedAt: at(1), UpdatedAt: at(2)}
	putGrants(t, s, in)
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
		return tx.Grant(ctx, "alice", "github/org-member")
	})
	want := in
	want.Sources = []string{"direct", "profile:b", "profile:eng"}
	equal(t, "grant (sources stored sorted and unique)", want, *got)
	if !slices.Equal(in.Sources, []string{"profile:eng", "direct", "profile:b", "direct"}) {
		t.Errorf("PutGrant changed the caller's sources to %v", in.Sources)
	}

	repl := roster.Grant{User: "alice", Entitlement: "github/org-member", Sources: []string{"profile:z"}, CreatedAt: at(3), UpdatedAt: at(4)}
	putGrants(t, s, repl)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
		return tx.Grant(ctx, "alice", "github/org-member")
	})
	equal(t, "replaced grant", repl, *got)

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
		return tx.Grant(ctx, "alice", "github/admin")
	})
	wantCode(t, "Grant(alice, github/admin)", err, roster.ENOTFOUND)
	if msg := roster.ErrorMessage(err); !strings.Contains(msg, "alice") || !strings.Contains(msg, "github/admin") {
		t.Errorf("not-found message %q does not name the user and entitlement", msg)
	}
	err = getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
		return tx.Grant(ctx, "bob", "github/org-member")
	})
	wantCode(t, "Grant(bob, github/org-member)", err, roster.ENOTFOUND)

	// UserGrants: one user's grants ordered by entitlement.
	putGrants(t, s,
		roster.Grant{User: "alice", Entitlement: "slack/eng", Sources: []string{"direct"}},
		roster.Grant{User: "alice", Entitlement: "aws/dev", Sources: []string{"direct"}},
		roster.Grant{User: "bob", Entitlement: "aws/dev", Sources: []string{"direct"}},
		roster.Grant{User: "alice2", Entitlement: "aws/dev", Sources: []string{"direct"}},
	)
	ug := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) { return tx.UserGrants(ctx, "alice") })
	equal(t, "UserGrants(alice)", []string{"aws/dev", "github/org-member", "slack/eng"},
		ids(ug, func(g roster.Grant) string { return g.Entitlement }))
	ug = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) { return tx.UserGrants(ctx, "nobody") })
	if len(ug) != 0 {
		t.Fatalf("UserGrants(nobody) = %v", ug)
	}

	// GrantsAmong: the grants any of the users holds of any of the
	// entitlements, whatever the order.
	among := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) {
		return tx.GrantsAmong(ctx, []string{"alice", "bob", "nobody"}, []string{"aws/dev", "slack/eng", "none/none"})
	})
	pairs := ids(among, func(g roster.Grant) string { return g.User + " " + g.Entitlement })
	slices.Sort(pairs)
	equal(t, "GrantsAmong", []string{"alice aws/dev", "alice slack/eng", "bob aws/dev"}, pairs)
	for _, g := range among {
		if g.User == "alice" && g.Entitlement == "slack/eng" && !slices.Equal(g.Sources, []string{"direct"}) {
			t.Fatalf("GrantsAmong returned alice's slack/eng with sources %v", g.Sources)
		}
	}
	// GrantsOf: every grant of any of the users.
	of := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) {
		return tx.GrantsOf(ctx, []string{"bob", "alice", "nobody"})
	})
	pairs = ids(of, func(g roster.Grant) string { return g.User + " " + g.Entitlement })
	slices.Sort(pairs)
	equal(t, "GrantsOf", []string{"alice aws/dev", "alice github/org-member", "alice slack/eng", "bob aws/dev"}, pairs)
	among = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) {
		return tx.GrantsAmong(ctx, nil, []string{"aws/dev"})
	})
	if len(among) != 0 {
		t.Fatalf("GrantsAmong of no users = %v", among)
	}

	// DeleteGrant removes one grant; a missing one is not an error.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.DeleteGrant(ctx, "alice", "slack/eng"); err != nil {
			return err
		}
		return tx.DeleteGrant(ctx, "alice", "slack/eng")
	})
	err = getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
		return tx.Grant(ctx, "alice", "slack/eng")
	})
	wantCode(t, "deleted grant", err, roster.ENOTFOUND)
	ug = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) { return tx.UserGrants(ctx, "alice") })
	equal(t, "UserGrants(alice) after delete", []string{"aws/dev", "github/org-member"},
		ids(ug, func(g roster.Grant) string { return g.Entitlement }))
}

func testGrantFilters(t *testing.T, s roster.Store) {
	putGrants(t, s,
		roster.Grant{User: "bob", Entitlement: "github/admin", Sources: []string{"direct"}},
		roster.Grant{User: "alice", Entitlement: "github/org-member", Sources: []string{"direct"}},
		roster.Grant{User: "alice", Entitlement: "git/push", Sources: []string{"direct"}},
		roster.Grant{User: "carol", Entitlement: "github/org-member", Sources: []string{"profile:eng"}},
		roster.Grant{User: "bob", Entitlement: "slack/eng", Sources: []string{"direct"}},
		roster.Grant{User: "dave", Entitlement: "gitXhub/org", Sources: []string{"direct"}},
		roster.Grant{User: "erin", Entitlement: "git_/x", Sources: []string{"direct"}},
	)
	for _, tc := range []struct {
		f    roster.GrantFilter
		want []string
	}{
		{roster.GrantFilter{}, []string{"alice git/push", "alice github/org-member", "bob github/admin", "bob slack/eng",
			"carol github/org-member", "dave gitXhub/org", "erin git_/x"}},
		{roster.GrantFilter{User: "bob"}, []string{"bob github/admin", "bob slack/eng"}},
		{roster.GrantFilter{Entitlement: "github/org-member"}, []string{"alice github/org-member", "carol github/org-member"}},
		// An app's grants, for any user, by entitlement, then user.
		{roster.GrantFilter{App: "github"}, []string{"bob github/admin", "alice github/org-member", "carol github/org-member"}},
		{roster.GrantFilter{App: "github/admin"}, []string{}},
		{roster.GrantFilter{App: "gi"}, []string{}},
		{roster.GrantFilter{App: "git"}, []string{"alice git/push"}},
		{roster.GrantFilter{App: "git_"}, []string{"erin git_/x"}},
		{roster.GrantFilter{App: "git%"}, []string{}},
		{roster.GrantFilter{App: "github", User: "bob"}, []string{"bob github/admin"}},
		{roster.GrantFilter{App: "slack", User: "alice"}, []string{}},
		{roster.GrantFilter{User: "alice", Entitlement: "git/push"}, []string{"alice git/push"}},
	} {
		for _, limit := range []int{1, 2, 100} {
			got, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Grant], error) {
				f := tc.f
				f.Cursor, f.Limit = c, n
				return tx.Grants(ctx, f)
			})
			equal(t, fmt.Sprintf("grants %+v, limit %d", tc.f, limit), tc.want, ids(got, grantKey))
		}
	}
}

func testGrantPagination(t *testing.T, s roster.Store) {
	var (
		gs   []roster.Grant
		want []string
	)
	// Users with several grants each, so that page boundaries fall inside a
	// user's grants; "a" and "a/b"-like ids test the ordering of the pair.
	for _, u := range []string{"u2", "u1", "u10", "a"} {
		for _, e := range []string{"x/2", "x/1", "y/1", "x/10", "x/1-1"} {
			gs = append(gs, roster.Grant{User: u, Entitlement: e, Sources: []string{"direct"}, CreatedAt: at(len(gs))})
			want = append(want, u+" "+e)
		}
	}
	putGrants(t, s, gs...)
	slices.SortFunc(want, func(a, b string) int {
		au, ae, _ := strings.Cut(a, " ")
		bu, be, _ := strings.Cut(b, " ")
		if c := strings.Compare(au, bu); c != 0 {
			return c
		}
		return strings.Compare(ae, be)
	})
	for _, limit := range []int{1, 3, 4, 5, 7, 20, 21} {
		got, pages := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Grant], error) {
			return tx.Grants(ctx, roster.GrantFilter{Cursor: c, Limit: n})
		})
		equal(t, fmt.Sprintf("grants with limit %d", limit), want, ids(got, grantKey))
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
	// An app's grants come by entitlement, then user, page boundaries
	// falling inside an entitlement's holders.
	var app []string
	for _, g := range want {
		if u, e, _ := strings.Cut(g, " "); strings.HasPrefix(e, "x/") {
			app = append(app, e+" "+u)
		}
	}
	slices.Sort(app)
	for i, g := range app {
		e, u, _ := strings.Cut(g, " ")
		app[i] = u + " " + e
	}
	for _, limit := range []int{1, 3, 4, 5, 17} {
		got, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Grant], error) {
			return tx.Grants(ctx, roster.GrantFilter{App: "x", Cursor: c, Limit: n})
		})
		equal(t, fmt.Sprintf("grants of app x with limit %d", limit), app, ids(got, grantKey))
	}
}

func testHolders(t *testing.T, s roster.Store) {
	putGrants(t, s,
		roster.Grant{User: "carol", Entitlement: "okta/eng", Sources: []string{"direct"}},
		roster.Grant{User: "alice", Entitlement: "okta/eng", Sources: []string{"direct"}},
		roster.Grant{User: "alice", Entitlement: "okta/sales", Sources: []string{"direct"}},
		roster.Grant{User: "bob", Entitlement: "okta/sales", Sources: []string{"direct"}},
		roster.Grant{User: "Zed", Entitlement: "okta/eng", Sources: []string{"direct"}},
		roster.Grant{User: "dave", Entitlement: "okta/other", Sources: []string{"direct"}},
	)
	for _, tc := range []struct {
		ents []string
		want []string
	}{
		{nil, []string{}},
		{[]string{}, []string{}},
		{[]string{"okta/none"}, []string{}},
		{[]string{"okta/eng"}, []string{"Zed", "alice", "carol"}},
		{[]string{"okta/sales", "okta/eng"}, []string{"Zed", "alice", "bob", "carol"}},
		{[]string{"okta/sales", "okta/sales"}, []string{"alice", "bob"}},
		{[]string{"okta/%"}, []string{}},
	} {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) { return tx.Holders(ctx, tc.ents) })
		if got == nil {
			got = []string{}
		}
		equal(t, fmt.Sprintf("Holders(%v)", tc.ents), tc.want, got)
	}

	// A long list, longer than any SQL parameter limit.
	long := make([]string, 0, 40001)
	for i := range 40000 {
		long = append(long, fmt.Sprintf("app/e%d", i))
	}
	long = append(long, "okta/other")
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) { return tx.Holders(ctx, long) })
	equal(t, "Holders of a long list", []string{"dave"}, got)
}

// fullProfile returns a profile with every field set.
func fullProfile(id string, n int) roster.Profile {
	return roster.Profile{
		ID:                      id,
		Name:                    "Profile " + id,
		Description:             "About " + id + " — with \"quotes\"",
		Entitlements:            []string{"slack/eng", "github/org-member"},
		AllowEnrollmentRequests: true,
		Enrollment:              roster.Enrollment{Policy: "manager", BypassEntitlementPolicies: true},
		Unenrollment:            roster.Unenrollment{Policy: "auto", Access: roster.AccessRevokeUnjustified, BypassEntitlementPolicies: true},
		Automation: roster.Automation{
			Enabled:        true,
			Mode:           roster.ModeSyncAndAct,
			AnyEntitlement: []string{"okta/engineering", "okta/eng-contractors"},
			ExcludedUsers:  []string{"bob"},
			Safeguard:      true,
		},
		Sync: roster.SyncState{
			State:    roster.AutomationPaused,
			Staged:   &roster.Staged{Enroll: []string{"dave", "erin"}, Unenroll: []string{"frank"}},
			PausedAt: ptr(at(n + 2)),
			LastAt:   ptr(at(n + 3)),
			Last: &roster.SyncSummary{
				Enrolled:     1,
				Unenrolled:   2,
				Cancelled:    2,
				TasksCreated: 3,
				Paused:       true,
				At:           at(n + 4),
			},
		},
		CreatedAt: at(n),
		UpdatedAt: at(n + 1),
	}
}

func testProfiles(t *testing.T, s roster.Store) {
	want := []roster.Profile{fullProfile("eng", 0), fullProfile("admins", 10), fullProfile("sales", 20)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range want {
			if err := tx.PutProfile(ctx, &want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "eng") })
	equal(t, "profile eng", want[0], *got)
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Profile, error) { return tx.Profiles(ctx) })
	equal(t, "profiles", []roster.Profile{want[1], want[0], want[2]}, all)

	// Put replaces everything, including the sync state.
	repl := roster.Profile{ID: "eng", Name: "Eng 2", Entitlements: []string{"aws/dev"},
		Unenrollment: roster.Unenrollment{Access: roster.AccessLeave},
		Automation:   roster.Automation{Mode: roster.ModeSyncMembersOnly},
		Sync:         roster.SyncState{State: roster.AutomationActive},
		CreatedAt:    at(30), UpdatedAt: at(31)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutProfile(ctx, &repl) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "eng") })
	equal(t, "replaced profile", repl, *got)
	if got.Sync.Staged != nil || got.Sync.PausedAt != nil || got.Sync.Last != nil {
		t.Fatalf("replaced profile kept its old sync state: %+v", got.Sync)
	}

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "nope") })
	wantCode(t, "Profile(nope)", err, roster.ENOTFOUND)
	if !strings.Contains(roster.ErrorMessage(err), "nope") {
		t.Errorf("not-found message %q does not name the profile", roster.ErrorMessage(err))
	}

	// PutProfileSyncs replaces the sync states alone: the rest of each
	// profile, and the index of its rule's entitlements, stay.
	sync := want[2].Sync
	sync.State, sync.Staged, sync.PausedAt = roster.AutomationActive, nil, nil
	sync.Last = &roster.SyncSummary{Enrolled: 7, At: at(40)}
	sync.LastAt = ptr(at(40))
	sync2 := roster.SyncState{State: roster.AutomationActive, LastAt: ptr(at(41)), Last: &roster.SyncSummary{At: at(41)}}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		// What a transaction that skips its flush writes is committed
		// all the same.
		if err := tx.SkipFlush(ctx); err != nil {
			return err
		}
		return tx.PutProfileSyncs(ctx, map[string]roster.SyncState{"sales": sync, "admins": sync2})
	})
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "sales") })
	synced := want[2]
	synced.Sync = sync
	equal(t, "profile sales after PutProfileSyncs", synced, *got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "admins") })
	synced = want[1]
	synced.Sync = sync2
	equal(t, "profile admins after PutProfileSyncs", synced, *got)
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutProfileSyncs(ctx, nil) })
	ids := get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) {
		return tx.RuleProfiles(ctx, []string{"okta/engineering"})
	})
	equal(t, "profiles whose rule names okta/engineering", []string{"admins", "sales"}, ids)
	err = s.Update(context.Background(), func(tx roster.Tx) error {
		return tx.PutProfileSyncs(context.Background(), map[string]roster.SyncState{"sales": sync2, "nope": sync})
	})
	wantCode(t, "PutProfileSyncs(sales, nope)", err, roster.ENOTFOUND)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Profile, error) { return tx.Profile(ctx, "sales") })
	equal(t, "profile sales after a failed PutProfileSyncs", sync, got.Sync)
}

func testMembers(t *testing.T, s roster.Store) {
	ms := []roster.Member{
		{Profile: "eng", User: "carol", Source: roster.MemberAutomation, Since: at(1)},
		{Profile: "eng", User: "alice", Source: roster.MemberManual, Since: at(2)},
		{Profile: "sales", User: "alice", Source: roster.MemberAutomation, Since: at(3)},
		{Profile: "admins", User: "alice", Source: roster.MemberManual, Since: at(4)},
		{Profile: "eng", User: "Bob", Source: roster.MemberAutomation, Since: at(5)},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range ms {
			if err := tx.PutMember(ctx, &ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Members(ctx, "eng") })
	equal(t, "members of eng", []roster.Member{ms[4], ms[1], ms[0]}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Memberships(ctx, "alice") })
	equal(t, "memberships of alice", []roster.Member{ms[3], ms[1], ms[2]}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
		return tx.MembershipsOf(ctx, []string{"carol", "nobody", "alice"})
	})
	equal(t, "memberships of alice, carol and nobody", []roster.Member{ms[3], ms[1], ms[2], ms[0]}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.MembershipsOf(ctx, nil) })
	if len(got) != 0 {
		t.Fatalf("memberships of no users: %v", got)
	}
	// MembershipsAmong: only the memberships in the profiles named (issue 18 #1).
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
		return tx.MembershipsAmong(ctx, []string{"carol", "nobody", "alice", "Bob"}, []string{"sales", "eng", "none"})
	})
	equal(t, "memberships of Bob, alice, carol and nobody in eng, sales and none", []roster.Member{ms[4], ms[1], ms[2], ms[0]}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
		return tx.MembershipsAmong(ctx, []string{"alice"}, []string{"admins"})
	})
	equal(t, "memberships of alice in admins", []roster.Member{ms[3]}, got)
	// Among many profiles, which the stores read otherwise, the same.
	many := []string{"sales", "eng", "none"}
	for i := range 40 {
		many = append(many, fmt.Sprintf("other-%02d", i))
	}
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
		return tx.MembershipsAmong(ctx, []string{"carol", "nobody", "alice", "Bob"}, many)
	})
	equal(t, "memberships of Bob, alice, carol and nobody among 43 profiles", []roster.Member{ms[4], ms[1], ms[2], ms[0]}, got)
	for _, c := range [][2][]string{{nil, {"eng"}}, {{"alice"}, nil}} {
		got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
			return tx.MembershipsAmong(ctx, c[0], c[1])
		})
		if len(got) != 0 {
			t.Fatalf("memberships of %v among %v: %v", c[0], c[1], got)
		}
	}
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Members(ctx, "none") })
	if len(got) != 0 {
		t.Fatalf("members of an unknown profile: %v", got)
	}
	// EachMemberOf: the members of the profiles named, ordered by
	// (profile, user) bytewise whatever the order asked in — Members of
	// each, one after the other; none of an unknown profile, nor of no
	// profiles; fn's error stops it and comes back wrapped.
	membersOf := func(profiles []string) []roster.Member {
		return get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) {
			ms := []roster.Member{}
			err := tx.EachMemberOf(ctx, profiles, func(m roster.Member) error { ms = append(ms, m); return nil })
			return ms, err
		})
	}
	equal(t, "members of sales, none and eng", []roster.Member{ms[4], ms[1], ms[0], ms[2]}, membersOf([]string{"sales", "none", "eng"}))
	equal(t, "members of no profiles", []roster.Member{}, membersOf(nil))
	stop := errors.New("stop")
	calls := 0
	err := s.View(context.Background(), func(tx roster.Tx) error {
		return tx.EachMemberOf(context.Background(), []string{"eng"}, func(roster.Member) error { calls++; return stop })
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("EachMemberOf with fn failing at once: %d calls, %v; want 1, %v", calls, err, stop)
	}

	// Pages of members, by user, each once; counts per profile.
	var paged []roster.Member
	for f, n := (roster.MemberFilter{Limit: 2}), 0; ; n++ {
		page := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.Member], error) {
			return tx.MembersPage(ctx, "eng", f)
		})
		if len(page.Items) > 2 || n > 3 {
			t.Fatalf("page %d of limit 2: %v", n, page.Items)
		}
		paged = append(paged, page.Items...)
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	equal(t, "members of eng, two at a time", []roster.Member{ms[4], ms[1], ms[0]}, paged)
	counts := get(t, s, func(ctx context.Context, tx roster.Tx) (map[string]int, error) { return tx.MemberCounts(ctx) })
	equal(t, "member counts", map[string]int{"eng": 3, "sales": 1, "admins": 1}, counts)

	// Put replaces; Delete removes; deleting a missing member is not an error.
	repl := roster.Member{Profile: "eng", User: "alice", Source: roster.MemberAutomation, Since: at(9)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.PutMember(ctx, &repl); err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, "eng", "carol"); err != nil {
			return err
		}
		return tx.DeleteMember(ctx, "eng", "nobody")
	})
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Members(ctx, "eng") })
	equal(t, "members of eng after upsert and delete", []roster.Member{ms[4], repl}, got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Memberships(ctx, "carol") })
	if len(got) != 0 {
		t.Fatalf("memberships of a deleted member: %v", got)
	}
}

func testDenials(t *testing.T, s roster.Store) {
	ds := []roster.Denial{
		{Profile: "eng", User: "bob", Kind: roster.TaskRevoke, At: at(1)},
		{Profile: "eng", User: "alice", Kind: roster.TaskGrant, At: at(2)},
		{Profile: "eng", User: "bob", Kind: roster.TaskGrant, At: at(3)},
		{Profile: "sales", User: "alice", Kind: roster.TaskGrant, At: at(4)},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range ds {
			if err := tx.PutDenial(ctx, &ds[i]); err != nil {
				return err
			}
		}
		return nil
	})
	sortDenials := func(d []roster.Denial) []roster.Denial {
		d = slices.Clone(d)
		slices.SortFunc(d, func(a, b roster.Denial) int {
			if c := strings.Compare(a.User, b.User); c != 0 {
				return c
			}
			return strings.Compare(string(a.Kind), string(b.Kind))
		})
		return d
	}
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Denial, error) { return tx.Denials(ctx, "eng") })
	equal(t, "denials of eng", []roster.Denial{ds[1], ds[2], ds[0]}, sortDenials(got))

	// Put replaces the denial of the same (profile, user, kind).
	repl := roster.Denial{Profile: "eng", User: "bob", Kind: roster.TaskGrant, At: at(9)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutDenial(ctx, &repl) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Denial, error) { return tx.Denials(ctx, "eng") })
	equal(t, "denials after upsert", []roster.Denial{ds[1], repl, ds[0]}, sortDenials(got))

	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.DeleteDenial(ctx, "eng", "bob", roster.TaskGrant); err != nil {
			return err
		}
		return tx.DeleteDenial(ctx, "eng", "nobody", roster.TaskGrant)
	})
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Denial, error) { return tx.Denials(ctx, "eng") })
	equal(t, "denials after delete", []roster.Denial{ds[1], ds[0]}, sortDenials(got))
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Denial, error) { return tx.Denials(ctx, "sales") })
	equal(t, "denials of sales", []roster.Denial{ds[3]}, got)
}

func testRemovals(t *testing.T, s roster.Store) {
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, r := range []struct {
			profile, user string
			at            time.Time
		}{
			{"eng", "a", base.Add(-2 * time.Hour)},
			{"eng", "b", base.Add(-time.Hour - time.Microsecond)},
			{"eng", "c", base.Add(-time.Hour)},
			{"eng", "d", base.Add(-30 * time.Minute)},
			{"eng", "d", base.Add(-10 * time.Minute)},
			{"sales", "e", base.Add(-5 * time.Minute)},
		} {
			if err := tx.AddRemoval(ctx, r.profile, r.user, r.at); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		profile string
		since   time.Time
		want    int
	}{
		{"eng", base.Add(-time.Hour), 3}, // at >= since: the removal exactly an hour ago counts
		{"eng", base.Add(-time.Hour - time.Microsecond), 4},
		{"eng", base.Add(-3 * time.Hour), 5},
		{"eng", base, 0},
		{"sales", base.Add(-time.Hour), 1},
		{"none", base.Add(-time.Hour), 0},
		{"eng", base.Add(-time.Hour).In(zone), 3},
	} {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (int, error) {
			return tx.CountRemovals(ctx, tc.profile, tc.since)
		})
		if got != tc.want {
			t.Errorf("CountRemovals(%s, %s) = %d, want %d", tc.profile, tc.since, got, tc.want)
		}
	}
}

// testManyUpserts puts, in one transaction, more grants and memberships than
// a store writes in one statement: new keys, keys stored before, and keys put
// twice, then checks each ends as put last.
func testManyUpserts(t *testing.T, s roster.Store) {
	const n = 1500
	user := func(i int) string { return fmt.Sprintf("u%04d", i) }
	var before []roster.Grant
	for i := 0; i < n; i += 3 {
		before = append(before, roster.Grant{User: user(i), Entitlement: "aws/dev", Sources: []string{"direct"}, CreatedAt: at(1), UpdatedAt: at(1)})
	}
	putGrants(t, s, before...)
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := 0; i < n; i += 3 {
			if err := tx.PutMember(ctx, &roster.Member{Profile: "eng", User: user(i), Source: roster.MemberManual, Since: at(1)}); err != nil {
				return err
			}
		}
		return nil
	})

	wantGrants := map[string]roster.Grant{}
	wantMembers := map[string]roster.Member{}
	var twins []roster.Grant
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range n {
			g := roster.Grant{User: user(i), Entitlement: "aws/dev", Sources: []string{"profile:eng"}, CreatedAt: at(2), UpdatedAt: at(2)}
			m := roster.Member{Profile: "eng", User: user(i), Source: roster.MemberAutomation, Since: at(2)}
			if err := errors.Join(tx.PutGrant(ctx, &g), tx.PutMember(ctx, &m)); err != nil {
				return err
			}
			wantGrants[g.User], wantMembers[m.User] = g, m
			if i%100 == 50 {
				// Two keys that read the same run together.
				a := roster.Grant{User: user(i) + "x", Entitlement: "aws/dev", Sources: []string{"direct"}, CreatedAt: at(5), UpdatedAt: at(5)}
				b := roster.Grant{User: user(i), Entitlement: "xaws/dev", Sources: []string{"direct"}, CreatedAt: at(6), UpdatedAt: at(6)}
				if err := errors.Join(tx.PutGrant(ctx, &a), tx.PutGrant(ctx, &b)); err != nil {
					return err
				}
				wantGrants[a.User], twins = a, append(twins, b)
			}
			if i%7 == 0 {
				// The same key again, a few rows later, with other values.
				j := max(0, i-5)
				g := roster.Grant{User: user(j), Entitlement: "aws/dev", Sources: []string{"direct", "profile:eng"}, CreatedAt: at(3), UpdatedAt: at(4)}
				m := roster.Member{Profile: "eng", User: user(j), Source: roster.MemberManual, Since: at(3)}
				if err := errors.Join(tx.PutGrant(ctx, &g), tx.PutMember(ctx, &m)); err != nil {
					return err
				}
				wantGrants[g.User], wantMembers[m.User] = g, m
			}
		}
		return nil
	})

	gotGrants := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Grant, error) {
		return tx.GrantsAmong(ctx, slices.Collect(maps.Keys(wantGrants)), []string{"aws/dev"})
	})
	if len(gotGrants) != len(wantGrants) {
		t.Fatalf("%d grants after the upserts, want %d", len(gotGrants), len(wantGrants))
	}
	for _, g := range gotGrants {
		equal(t, "grant of "+g.User, wantGrants[g.User], g)
	}
	for _, want := range twins {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Grant, error) {
			return tx.Grant(ctx, want.User, want.Entitlement)
		})
		equal(t, "grant of "+want.Entitlement+" to "+want.User, want, *got)
	}
	gotMembers := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Member, error) { return tx.Members(ctx, "eng") })
	if len(gotMembers) != len(wantMembers) {
		t.Fatalf("%d members after the upserts, want %d", len(gotMembers), len(wantMembers))
	}
	for _, m := range gotMembers {
		equal(t, "membership of "+m.User, wantMembers[m.User], m)
	}
}
