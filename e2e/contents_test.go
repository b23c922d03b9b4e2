package e2e

import "testing"

func contentsOrg(ents, access string) string {
	return org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [` + ents + `]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: ` + access + `}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`
}

// Adding an entitlement to a profile creates grant tasks for current members
// who lack it (approvers are told, members are not); removing one applies the
// profile's access setting to it.
func TestProfileContentChanges(t *testing.T) {
	e := start(t)
	e.apply(contentsOrg("github/org-member", "revoke_unjustified"))
	e.ok(adminUser, "grant", "add", "bob", "slack/eng")
	before := len(e.events("--action", "notify.approvers"))

	e.apply(contentsOrg("github/org-member, slack/eng", "revoke_unjustified"))
	added := e.task("--user", "alice", "--entitlement", "slack/eng")
	equal(t, "content task", []string{string(added.Origin), added.Profile, string(added.State)}, []string{"profile_content", "eng", "pending_approval"})
	equal(t, "approvers (slack/eng's manager policy)", added.Approvers, []string{"carol"})
	equal(t, "bob already held it", e.grants("--user", "bob")["bob slack/eng"], []string{"direct", "profile:eng"})
	if len(e.tasks("--user", "bob", "--entitlement", "slack/eng")) != 0 {
		t.Fatal("a task was created for bob, who already held slack/eng")
	}
	notes := e.events("--action", "notify.approvers")
	if len(notes) != before+1 {
		t.Fatalf("notify.approvers events: %d new, want 1 (to carol, not the member)", len(notes)-before)
	}
	e.ok("carol", "task", "approve", id(added))

	// Removing github/org-member: revoke_unjustified revokes it.
	e.apply(contentsOrg("slack/eng", "revoke_unjustified"))
	removed := e.tasks("--entitlement", "github/org-member", "--kind", "revoke")
	if len(removed) != 2 || removed[0].Origin != "content_removed" || removed[0].State != "done" {
		t.Fatalf("revoke tasks = %+v, want two done content_removed revokes", removed)
	}
	if _, ok := e.grants("--user", "alice")["alice github/org-member"]; ok {
		t.Fatal("alice kept github/org-member after it left the profile")
	}
	// Removing slack/eng: bob's direct grant stays, without the profile source.
	e.apply(contentsOrg("", "revoke_unjustified"))
	equal(t, "bob's slack/eng", e.grants("--user", "bob")["bob slack/eng"], []string{"direct"})
	if _, ok := e.grants("--user", "alice")["alice slack/eng"]; ok {
		t.Fatal("alice kept slack/eng after it left the profile")
	}
}
