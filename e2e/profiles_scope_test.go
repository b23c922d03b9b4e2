package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// scopeOrganisation has two profiles: eng enrolls alice, bob and carol at
// once; ops waits for dana's approval of alice's and bob's enrollments.
const scopeOrganisation = `
settings:
  automations_enabled: true
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
users:
  - {id: dana, email: dana@example.com}
  - {id: alice, email: alice@example.com, manager: dana}
  - {id: bob, email: bob@example.com, manager: dana}
  - {id: carol, email: carol@example.com, manager: dana}
apps:
  - id: okta
    owners: [dana]
    entitlements:
      - {id: engineering, request_policy: auto, revoke_policy: auto}
      - {id: ops, request_policy: auto, revoke_policy: auto}
grants:
  - {user: alice, entitlement: okta/engineering}
  - {user: bob, entitlement: okta/engineering}
  - {user: carol, entitlement: okta/engineering}
  - {user: alice, entitlement: okta/ops}
  - {user: bob, entitlement: okta/ops}
profiles:
  - id: eng
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [okta/engineering], excluded_users: [dana]}
  - id: ops
    allow_enrollment_requests: true
    enrollment: {policy: manager}
    unenrollment: {policy: auto}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [okta/ops]}
`

// profileUsers is what a test compares of a profile view: its member
// count and the users of its members and pending enrollments.
type profileUsers struct {
	Count   int
	Members []string
	Pending []string
}

func usersOf(v roster.ProfileView) profileUsers {
	pu := profileUsers{Count: v.MemberCount, Members: []string{}, Pending: []string{}}
	for _, m := range v.Members {
		pu.Members = append(pu.Members, m.User)
	}
	for _, t := range v.PendingEnrollments {
		pu.Pending = append(pu.Pending, t.User)
	}
	return pu
}

// getProfiles calls GET path as user and decodes the list of views it
// answers, by profile.
func (e *env) getProfiles(user, path string) (map[string]profileUsers, string) {
	e.t.Helper()
	res, body := e.request(http.MethodGet, path, e.token(user), "", nil)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s as %s: %d %s", path, user, res.StatusCode, body)
	}
	var vs []roster.ProfileView
	if err := json.Unmarshal([]byte(body), &vs); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	out := map[string]profileUsers{}
	for _, v := range vs {
		out[v.ID] = usersOf(v)
	}
	return out, body
}

// TestProfilesShowWhatTheCallerMaySee checks GET /api/v1/profiles (issue 14
// #7): a plain user's answer lists their own membership and pending
// enrollments, all of them and nobody else's; an admin's lists everyone's;
// without_members leaves the members out but keeps their count; a plain user
// may not ask for another user's.
func TestProfilesShowWhatTheCallerMaySee(t *testing.T) {
	e := start(t)
	e.apply(scopeOrganisation)

	admin, _ := e.getProfiles(roster.AdminUser, "/api/v1/profiles")
	equal(t, "admin's profiles", admin, map[string]profileUsers{
		"eng": {Count: 3, Members: []string{"alice", "bob", "carol"}, Pending: []string{}},
		"ops": {Count: 0, Members: []string{}, Pending: []string{"alice", "bob"}},
	})
	alice, body := e.getProfiles("alice", "/api/v1/profiles")
	equal(t, "alice's profiles", alice, map[string]profileUsers{
		"eng": {Count: 1, Members: []string{"alice"}, Pending: []string{}},
		"ops": {Count: 0, Members: []string{}, Pending: []string{"alice"}},
	})
	for _, other := range []string{`"bob"`, `"carol"`, `"dana"`} {
		if strings.Contains(body, other) {
			t.Errorf("alice's answer names %s: %s", other, body)
		}
	}
	carol, _ := e.getProfiles("carol", "/api/v1/profiles?user=carol")
	equal(t, "carol's profiles", carol, map[string]profileUsers{
		"eng": {Count: 1, Members: []string{"carol"}, Pending: []string{}},
		"ops": {Count: 0, Members: []string{}, Pending: []string{}},
	})
	if res, body := e.request(http.MethodGet, "/api/v1/profiles?user=bob", e.token("alice"), "", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("alice asking for bob's profiles: %d %s, want 403", res.StatusCode, body)
	}

	// An admin asks for one user's, or for counts only.
	bob, _ := e.getProfiles(roster.AdminUser, "/api/v1/profiles?user=bob")
	equal(t, "bob's profiles, as the admin", bob, map[string]profileUsers{
		"eng": {Count: 1, Members: []string{"bob"}, Pending: []string{}},
		"ops": {Count: 0, Members: []string{}, Pending: []string{"bob"}},
	})
	counts, _ := e.getProfiles(roster.AdminUser, "/api/v1/profiles?without_members=true")
	equal(t, "admin's profiles without members", counts, map[string]profileUsers{
		"eng": {Count: 3, Members: []string{}, Pending: []string{}},
		"ops": {Count: 0, Members: []string{}, Pending: []string{"alice", "bob"}},
	})

	// One profile: the same rules; the CLI still prints every member.
	var one roster.ProfileView
	e.json(&one, "alice", "profile", "show", "eng")
	equal(t, "roster profile show eng, as alice", usersOf(one), profileUsers{Count: 1, Members: []string{"alice"}, Pending: []string{}})
	var all roster.ProfileView
	e.json(&all, roster.AdminUser, "profile", "show", "eng")
	equal(t, "roster profile show eng, as the admin", usersOf(all).Members, []string{"alice", "bob", "carol"})
}

// TestProfileMembersPages checks GET /api/v1/profiles/{id}/members: pages
// of the asked size, following the cursor, give every member once, in
// order; a plain user's pages hold only their own membership.
func TestProfileMembersPages(t *testing.T) {
	e := start(t)
	doc := scopeOrganisation
	var more strings.Builder
	for _, u := range []string{"erin", "farid", "gita", "hana", "ivan", "jin", "kofi"} {
		more.WriteString("  - {id: " + u + ", email: " + u + "@example.com, manager: dana}\n")
	}
	doc = strings.Replace(doc, "apps:\n", more.String()+"apps:\n", 1)
	more.Reset()
	for _, u := range []string{"erin", "farid", "gita", "hana", "ivan", "jin", "kofi"} {
		more.WriteString("  - {user: " + u + ", entitlement: okta/engineering}\n")
	}
	doc = strings.Replace(doc, "profiles:\n", more.String()+"profiles:\n", 1)
	e.apply(doc)

	pages := func(user string) (members []string, n int) {
		t.Helper()
		cursor := ""
		for {
			q := url.Values{"limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			res, body := e.request(http.MethodGet, "/api/v1/profiles/eng/members?"+q.Encode(), e.token(user), "", nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("members as %s: %d %s", user, res.StatusCode, body)
			}
			var page roster.Page[roster.MemberView]
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 3 {
				t.Fatalf("a page of limit 3 holds %d members", len(page.Items))
			}
			n++
			for _, m := range page.Items {
				members = append(members, m.User)
			}
			if cursor = page.NextCursor; cursor == "" {
				return members, n
			}
			if n > 10 {
				t.Fatal("more than 10 pages of 3 for 10 members")
			}
		}
	}
	all, n := pages(roster.AdminUser)
	want := []string{"alice", "bob", "carol", "erin", "farid", "gita", "hana", "ivan", "jin", "kofi"}
	equal(t, "every member, page by page", all, want)
	if n < 4 {
		t.Errorf("%d pages of 3 for 10 members", n)
	}
	own, _ := pages("gita")
	equal(t, "gita's pages", own, []string{"gita"})
	if res, body := e.request(http.MethodGet, "/api/v1/profiles/nope/members", e.token(roster.AdminUser), "", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("members of an unknown profile: %d %s, want 404", res.StatusCode, body)
	}
	var shown roster.ProfileView
	e.json(&shown, roster.AdminUser, "profile", "show", "eng")
	equal(t, "roster profile show eng", usersOf(shown), profileUsers{Count: 10, Members: want, Pending: []string{}})
}
