package e2e

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
)

// A manager reads their reports' user and access through the API and the
// CLI; nobody else's.
func TestManagersReadTheirReports(t *testing.T) {
	e := start(t)
	e.apply(org)

	var alice roster.User
	e.json(&alice, "carol", "user", "show", "alice")
	equal(t, "alice's manager, read by carol", alice.Manager, "carol")
	var grants []roster.Grant
	e.json(&grants, "carol", "grant", "list", "--user", "alice")
	if len(grants) != 1 || grants[0].Entitlement != "okta/engineering" {
		t.Fatalf("alice's grants read by carol: %+v", grants)
	}
	var tasks []roster.Task
	e.json(&tasks, "carol", "task", "list", "--user", "alice")

	// Not someone else's report, nor one's manager, nor a colleague.
	e.fails("your own user and those of your reports", "carol", "user", "show", "sam")
	e.fails("your own user and those of your reports", "alice", "user", "show", "carol")
	e.fails("your own user and those of your reports", "bob", "user", "show", "alice")
	e.fails("your own grants and those of your reports", "bob", "grant", "list", "--user", "alice")
	e.fails("your own tasks", "bob", "task", "list", "--user", "alice")
}

// A task's view gives its approver what they need to decide — who the
// subject is, what is asked by name, what the profile gives and what the
// subject holds, why, and their access — even when the approver may not
// read the subject's user otherwise; those it does not concern are refused.
func TestTaskViewForTheApprover(t *testing.T) {
	e := start(t)
	e.apply(org + `
  - {user: alice, entitlement: github/org-member}
profiles:
  - id: oncall
    name: On-call
    entitlements: [github/admin, github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: security}
`)
	var task roster.Task
	e.json(&task, "alice", "profile", "request", "oncall", "--comment", "joining the rota")
	equal(t, "approvers", task.Approvers, []string{"sam"})
	e.fails("your own user", "sam", "user", "show", "alice")

	ctx := context.Background()
	v, err := rosterhttp.NewClient(e.srv.URL, e.token("sam")).TaskView(ctx, task.ID)
	if err != nil {
		t.Fatalf("sam reads the view of the task waiting on him: %v", err)
	}
	equal(t, "subject", v.Subject.Name, "Alice")
	equal(t, "department", v.Subject.Department, "Engineering")
	if v.Manager == nil || v.Manager.Name != "Carol" {
		t.Errorf("manager %+v, want Carol", v.Manager)
	}
	equal(t, "asked", v.Asked.Name, "On-call")
	equal(t, "profile", v.ProfileName, "On-call")
	equal(t, "why", v.Why, "Alice asked for it: “joining the rota”")
	equal(t, "contents", v.Contents, []roster.ProfileContent{
		{EntitlementName: roster.EntitlementName{ID: "github/admin", AppName: "GitHub", Name: "admin", Risk: roster.RiskLow}},
		{EntitlementName: roster.EntitlementName{ID: "github/org-member", AppName: "GitHub", Name: "Org member", Risk: roster.RiskLow}, Held: true},
	})
	if !v.AccessShown || len(v.Access) != 2 {
		t.Errorf("alice's access in the view: shown %v, %+v; want her two grants", v.AccessShown, v.Access)
	}
	equal(t, "people", v.People, map[string]string{"alice": "Alice", "carol": "Carol", "sam": "Sam"})

	// Erin, whom it does not concern, is refused.
	if _, err := rosterhttp.NewClient(e.srv.URL, e.token("erin")).TaskView(ctx, task.ID); roster.ErrorCode(err) != roster.EFORBIDDEN {
		t.Errorf("erin reads the view: %v, want forbidden", err)
	}
	// Once sam approved, the step passes to the security team; sam still
	// reads the task he acted on, but no longer alice's access.
	e.ok("sam", "task", "approve", id(task))
	v, err = rosterhttp.NewClient(e.srv.URL, e.token("sam")).TaskView(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.AccessShown || len(v.Access) != 0 {
		t.Errorf("after his step, sam still reads alice's access: %+v", v.Access)
	}
}
