package e2e

import (
	"strings"
	"testing"
)

// profiles for the unenrollment tests: eng and platform both contain
// github/org-member; eng's access setting is filled in by each test.
func unenrollOrg(access string) string {
	return org + `
  - {user: alice, entitlement: slack/general}
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member, slack/general]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: manager, access: ` + access + `, bypass_entitlement_policies: true}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
  - id: platform
    name: Platform
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
    automation: {enabled: true, any_entitlement: [okta/engineering, okta/security-team]}
`
}

// unenrollAlice removes alice from okta/engineering and confirms her
// unenrollment from eng as her manager; it checks she stays a member until then.
func unenrollAlice(t *testing.T, e *env) {
	t.Helper()
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	res := e.sync("eng")
	equal(t, "unenrolled", res.Unenrolled, []string{"alice"})
	task := e.task("--user", "alice", "--entitlement", "access-profiles/eng", "--kind", "revoke")
	equal(t, "unenrollment", []string{string(task.State), string(task.Origin)}, []string{"pending_approval", "automation"})
	equal(t, "members until confirmed", e.members("eng"), []string{"alice:automation", "bob:automation"})
	e.ok("carol", "task", "approve", id(task))
	equal(t, "members after", e.members("eng"), []string{"bob:automation"})
	if _, ok := e.grants("--user", "alice")["alice access-profiles/eng"]; ok {
		t.Fatal("alice still holds access-profiles/eng")
	}
}

const adminUser = "admin"

func TestUnenrollmentLeaveKeepsAccessAndDropsTheSource(t *testing.T) {
	e := start(t)
	e.apply(unenrollOrg("leave"))
	equal(t, "sources before", e.grants("--user", "alice")["alice github/org-member"], []string{"profile:eng", "profile:platform"})
	unenrollAlice(t, e)
	g := e.grants("--user", "alice")
	equal(t, "github/org-member", g["alice github/org-member"], []string{"profile:platform"})
	equal(t, "slack/general (direct before)", g["alice slack/general"], []string{"direct"})
	if n := len(e.tasks("--user", "alice", "--kind", "revoke", "--origin", "unenrollment")); n != 0 {
		t.Fatalf("leave created %d revoke tasks", n)
	}
}

// revoke_all revokes every grant the profile justified that has no direct
// source — even one another profile also lists — and leaves direct grants.
func TestUnenrollmentRevokeAll(t *testing.T) {
	e := start(t)
	e.apply(unenrollOrg("revoke_all"))
	unenrollAlice(t, e)
	revokes := e.tasks("--user", "alice", "--kind", "revoke", "--origin", "unenrollment")
	if len(revokes) != 1 || revokes[0].Entitlement != "github/org-member" || revokes[0].State != "done" {
		t.Fatalf("revoke tasks = %+v, want one done revoke of github/org-member", revokes)
	}
	if !strings.Contains(revokes[0].Bypass, "unenrollment task") {
		t.Fatalf("bypassed revoke does not say the unenrollment covers it: %q", revokes[0].Bypass)
	}
	g := e.grants("--user", "alice")
	if _, ok := g["alice github/org-member"]; ok {
		t.Fatal("revoke_all left github/org-member although platform also lists it")
	}
	equal(t, "slack/general is direct: it stays, without the profile source", g["alice slack/general"], []string{"direct"})
}

// revoke_unjustified keeps what another profile the user still belongs to
// justifies, dropping only this profile's source.
func TestUnenrollmentRevokeUnjustified(t *testing.T) {
	e := start(t)
	e.apply(unenrollOrg("revoke_unjustified"))
	// alice is also in the security team, so she stays in platform.
	e.ok(adminUser, "grant", "add", "alice", "okta/security-team")
	unenrollAlice(t, e)
	equal(t, "platform members", e.members("platform"), []string{"alice:automation", "bob:automation", "sam:automation", "tess:automation"})
	g := e.grants("--user", "alice")
	equal(t, "github/org-member", g["alice github/org-member"], []string{"profile:platform"})
	if n := len(e.tasks("--user", "alice", "--kind", "revoke", "--origin", "unenrollment")); n != 0 {
		t.Fatalf("revoke_unjustified revoked justified access: %d tasks", n)
	}

	// bob has nothing else justifying slack/general: it is revoked.
	e.ok(adminUser, "grant", "remove", "bob", "okta/engineering")
	e.sync("eng")
	e.ok("carol", "task", "approve", id(e.task("--user", "bob", "--entitlement", "access-profiles/eng", "--kind", "revoke")))
	g = e.grants("--user", "bob")
	if _, ok := g["bob slack/general"]; ok {
		t.Fatal("bob kept slack/general that only eng justified")
	}
	// platform, not yet synced, still has bob as a member and justifies GitHub.
	equal(t, "bob's github/org-member", g["bob github/org-member"], []string{"profile:platform"})
	e.sync("platform")
	if _, ok := e.grants("--user", "bob")["bob github/org-member"]; ok {
		t.Fatal("bob kept github/org-member after leaving platform (revoke_all)")
	}
}

// A revocation revoke_all starts that waits for approval does not keep
// profile:eng on the grant meanwhile (SPEC §1: a grant's profile sources
// are the profiles the user is a member of): the grant shows only
// platform's, and keeps it when the revocation is denied.
func TestUnenrollmentPendingRevokeDropsTheSource(t *testing.T) {
	e := start(t)
	doc := strings.Replace(unenrollOrg("revoke_all"), "access: revoke_all, bypass_entitlement_policies: true}", "access: revoke_all, bypass_entitlement_policies: false}", 1)
	doc = strings.Replace(doc, "{id: org-member, name: Org member, request_policy: auto, revoke_policy: auto,", "{id: org-member, name: Org member, request_policy: auto, revoke_policy: manager,", 1)
	e.apply(doc)
	unenrollAlice(t, e)
	revoke := e.task("--user", "alice", "--entitlement", "github/org-member", "--kind", "revoke")
	equal(t, "revoke of github/org-member", []string{string(revoke.State)}, []string{"pending_approval"})
	equal(t, "sources while it waits", e.grants("--user", "alice")["alice github/org-member"], []string{"profile:platform"})
	e.ok("carol", "task", "deny", id(revoke))
	equal(t, "sources after the denial", e.grants("--user", "alice")["alice github/org-member"], []string{"profile:platform"})
}

// eng and platform both contain github/org-member, which needs carol's
// approval; alice's one request for it is eng's, which enrolled her first.
// Leaving eng does not cancel it while platform still wants it: it passes
// to platform (SPEC §2 Enrollment: a member gets a grant task for each of
// the profile's entitlements they lack).
func TestUnenrollmentKeepsARequestAnotherProfileWants(t *testing.T) {
	e := start(t)
	doc := strings.Replace(unenrollOrg("revoke_all"), "enrollment: {policy: auto, bypass_entitlement_policies: true}", "enrollment: {policy: auto}", 1)
	doc = strings.Replace(doc, "{id: org-member, name: Org member, request_policy: auto,", "{id: org-member, name: Org member, request_policy: manager,", 1)
	e.apply(doc)
	req := e.task("--user", "alice", "--entitlement", "github/org-member")
	equal(t, "request before", []string{string(req.State), req.Profile}, []string{"pending_approval", "eng"})
	unenrollAlice(t, e)
	req = e.task("--user", "alice", "--entitlement", "github/org-member")
	equal(t, "request after alice left eng", []string{string(req.State), req.Profile}, []string{"pending_approval", "platform"})
	e.ok("carol", "task", "approve", id(req))
	equal(t, "sources", e.grants("--user", "alice")["alice github/org-member"], []string{"profile:platform"})
}
