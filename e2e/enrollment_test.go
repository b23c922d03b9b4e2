package e2e

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

const engProfile = `
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/org-member, slack/eng]
    enrollment: {policy: manager}
    unenrollment: {policy: manager, access: revoke_unjustified}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/engineering]
`

// A matching user gets an enrollment task under the profile's enrollment
// policy; they are a pending enrollment, not a member, until it is approved;
// then they become a member and request each of the profile's entitlements
// under that entitlement's own policy.
func TestEnrollmentRunsTheProfilePolicyThenRequestsContents(t *testing.T) {
	e := start(t)
	e.apply(org + `
  - {user: alice, entitlement: github/org-member}
` + engProfile)

	v := e.profile("eng")
	equal(t, "members before approval", v.Members, []roster.MemberView{})
	if len(v.PendingEnrollments) != 2 {
		t.Fatalf("pending enrollments = %+v, want alice and bob", v.PendingEnrollments)
	}
	enroll := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	equal(t, "enrollment task", []string{string(enroll.Kind), string(enroll.State), string(enroll.Origin), enroll.Profile}, []string{"grant", "pending_approval", "automation", "eng"})
	equal(t, "approvers (alice's manager)", enroll.Approvers, []string{"carol"})

	// Alice may not approve her own enrollment; bob, whom the task does not
	// concern, is not even told who approves it.
	e.fails("your own access", "alice", "task", "approve", id(enroll))
	if msg := e.fails("does not concern you", "bob", "task", "approve", id(enroll)); strings.Contains(msg, "carol") {
		t.Fatalf("the refusal names the approvers: %q", msg)
	}
	e.ok("carol", "task", "approve", id(enroll), "--comment", "welcome")

	equal(t, "members", e.members("eng"), []string{"alice:automation"})
	// alice already held github/org-member: the profile becomes one of its sources.
	g := e.grants("--user", "alice")
	equal(t, "github/org-member sources", g["alice github/org-member"], []string{"direct", "profile:eng"})
	equal(t, "enrollment grant", g["alice access-profiles/eng"], []string{"profile:eng"})
	// slack/eng she lacked: a grant task under slack/eng's own policy (manager).
	slack := e.task("--user", "alice", "--entitlement", "slack/eng")
	equal(t, "slack task", []string{string(slack.State), string(slack.Origin), slack.Profile}, []string{"pending_approval", "enrollment", "eng"})
	equal(t, "slack approvers", slack.Approvers, []string{"carol"})
	if len(e.tasks("--user", "alice", "--entitlement", "github/org-member")) != 0 {
		t.Fatal("a task was created for access alice already held")
	}
	e.ok("carol", "task", "approve", id(slack))
	equal(t, "slack grant", e.grants("--user", "alice")["alice slack/eng"], []string{"profile:eng"})

	// The history says who acted, when, and why.
	var full roster.Task
	e.json(&full, roster.AdminUser, "task", "show", id(enroll))
	var approved *roster.TaskAction
	for i, h := range full.History {
		if h.Action == "approved" {
			approved = &full.History[i]
		}
	}
	if approved == nil || approved.Actor != "carol" || approved.Comment != "welcome" || approved.At.IsZero() {
		t.Fatalf("history has no approval by carol with her comment: %+v", full.History)
	}
	if full.State != "done" {
		t.Fatalf("enrollment task state = %s, want done", full.State)
	}
}

// With bypass_entitlement_policies the content tasks skip approval, say that
// the enrollment approval covers them, and still go through provisioning.
func TestEnrollmentBypassSkipsApprovalButNotProvisioning(t *testing.T) {
	e := start(t)
	e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/admin, slack/eng]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	equal(t, "members", e.members("eng"), []string{"alice:automation", "bob:automation"})
	enroll := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	admin := e.task("--user", "alice", "--entitlement", "github/admin")
	equal(t, "github/admin task", []string{string(admin.State), string(admin.Origin)}, []string{"pending_provisioning", "enrollment"})
	if !strings.Contains(admin.Bypass, "enrollment task "+id(enroll)) {
		t.Fatalf("bypass record %q does not name enrollment task %d", admin.Bypass, enroll.ID)
	}
	equal(t, "provisioners", admin.Provisioners, []string{"ivan"})
	slack := e.task("--user", "alice", "--entitlement", "slack/eng")
	equal(t, "slack/eng state (auto provisioning)", slack.State, "done")

	// Only a listed provisioner (or an admin) completes provisioning.
	e.fails("does not concern you", "carol", "task", "provision", id(admin))
	e.ok("ivan", "task", "provision", id(admin), "--comment", "added in GitHub")
	equal(t, "github/admin grant", e.grants("--user", "alice")["alice github/admin"], []string{"profile:eng"})
	if n := len(e.events("--action", "notify.provisioners")); n < 2 {
		t.Fatalf("provisioners were not notified: %d notify.provisioners events", n)
	}
}

// Without bypass, each content task runs under its entitlement's policy: the
// two-step security policy needs sam, then a member of the security team
// other than the subject.
func TestEnrollmentWithoutBypassUsesEntitlementPolicies(t *testing.T) {
	e := start(t)
	e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/admin]
    enrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	task := e.task("--user", "alice", "--entitlement", "github/admin")
	equal(t, "step 1 approvers", task.Approvers, []string{"sam"})
	e.ok("sam", "task", "approve", id(task))
	task = e.task("--user", "alice", "--entitlement", "github/admin")
	// sam, in the security team too, approved step 1: separation of duties
	// leaves him out of step 2, and his retried approval acts no more.
	equal(t, "step 2 approvers (security team less sam)", task.Approvers, []string{"tess"})
	e.ok("sam", "task", "approve", id(task))
	task = e.task("--user", "alice", "--entitlement", "github/admin")
	equal(t, "state after sam's retry", []any{task.State, task.Step}, []any{"pending_approval", 1})
	e.ok("tess", "task", "approve", id(task))
	task = e.task("--user", "alice", "--entitlement", "github/admin")
	equal(t, "state after both steps", task.State, "pending_provisioning")
}
