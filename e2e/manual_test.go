package e2e

import (
	"testing"

	"github.com/rosterhq/roster"
)

const requestableProfile = `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
    automation: {enabled: false}
  - id: locked
    name: Locked
    entitlements: [github/org-member]
    enrollment: {policy: manager}
`

// Admins enroll users who do not match; refusals name the reason and a batch
// applies whole or not at all.
func TestManualEnrollment(t *testing.T) {
	e := start(t)
	e.apply(org + `
  - {user: erin, entitlement: okta/sales}
` + requestableProfile)
	e.apply(`
users:
  - {id: zed, email: zed@example.com, name: Zed, status: disabled}
`)
	e.fails("only admins", "carol", "profile", "enroll", "eng", "dave")
	e.fails("disabled", adminUser, "profile", "enroll", "eng", "zed")
	e.fails("not found", adminUser, "profile", "enroll", "eng", "nobody")

	e.ok(adminUser, "profile", "enroll", "eng", "dave")
	e.fails("already has a pending enrollment", adminUser, "profile", "enroll", "eng", "dave")
	// One refusal in a batch: nothing is created for the others.
	e.fails("dave", adminUser, "profile", "enroll", "eng", "alice", "dave")
	if n := len(e.tasks("--user", "alice", "--entitlement", "access-profiles/eng")); n != 0 {
		t.Fatalf("a refused batch still enrolled alice (%d tasks)", n)
	}
	task := e.task("--user", "dave", "--entitlement", "access-profiles/eng")
	equal(t, "manual enrollment", []string{string(task.Origin), task.RequestedBy}, []string{"manual", "admin"})
	e.ok("carol", "task", "approve", id(task))
	equal(t, "members", e.members("eng"), []string{"dave:manual"})
	e.fails("already a member", adminUser, "profile", "enroll", "eng", "dave")

	// Admins unenroll too; the manual unenrollment follows the same flow.
	e.ok(adminUser, "profile", "unenroll", "eng", "dave")
	equal(t, "members", e.members("eng"), []string{})
	e.fails("not a member", adminUser, "profile", "unenroll", "eng", "dave")
}

// With allow_enrollment_requests a user requests the profile for themself; with
// it off only the rule and admins enroll.
func TestEnrollmentRequests(t *testing.T) {
	e := start(t)
	e.apply(org + requestableProfile)
	var task struct {
		ID          int64    `json:"id"`
		User        string   `json:"user"`
		Origin      string   `json:"origin"`
		RequestedBy string   `json:"requested_by"`
		Approvers   []string `json:"approvers"`
	}
	e.json(&task, "alice", "profile", "request", "eng", "--comment", "joining the platform team")
	equal(t, "request", []any{task.User, task.Origin, task.RequestedBy, task.Approvers}, []any{"alice", "manual", "alice", []string{"carol"}})
	e.fails("already has a pending enrollment", "alice", "profile", "request", "eng")
	e.fails("does not accept enrollment requests", "alice", "profile", "request", "locked")

	// alice sees her own request, carol sees what waits on her; neither sees others'.
	var mine []struct {
		ID int64 `json:"id"`
	}
	e.json(&mine, "alice", "task", "list")
	equal(t, "alice's tasks", len(mine), 1)
	e.json(&mine, "carol", "task", "list", "--approver", "carol")
	equal(t, "tasks waiting on carol", len(mine), 1)
	e.fails("only list your own", "bob", "task", "list", "--user", "alice")
	e.fails("does not concern you", "bob", "task", "show", id(e.task("--user", "alice")))

	e.ok("carol", "task", "approve", id(e.task("--user", "alice")))
	equal(t, "members", e.members("eng"), []string{"alice:manual"})
	// alice's view of the profile shows only herself.
	var v struct {
		Members []struct{ User string } `json:"members"`
	}
	e.json(&v, "alice", "profile", "show", "eng")
	equal(t, "alice's view of members", len(v.Members), 1)
}

// Admins cancel any open task; a requester cancels their own request; nobody
// else cancels, and a closed task stays as it is.
func TestCancelTasks(t *testing.T) {
	e := start(t)
	e.apply(org + requestableProfile)
	var mine struct{ ID int64 }
	e.json(&mine, "alice", "profile", "request", "eng")
	e.fails("does not concern you", "bob", "task", "cancel", id(roster.Task{ID: mine.ID}))
	e.ok("alice", "task", "cancel", id(roster.Task{ID: mine.ID}), "--comment", "changed my mind")
	task := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	equal(t, "alice's request", task.State, "cancelled")
	e.fails("only open tasks", adminUser, "task", "cancel", id(task))

	e.ok(adminUser, "profile", "enroll", "eng", "bob")
	bobs := e.task("--user", "bob", "--entitlement", "access-profiles/eng")
	e.fails("only admins and the requester", "carol", "task", "cancel", id(bobs))
	e.ok(adminUser, "task", "cancel", id(bobs))
	equal(t, "bob's enrollment", e.task("--user", "bob", "--entitlement", "access-profiles/eng").State, "cancelled")
	if len(e.events("--action", "task.cancelled")) != 2 {
		t.Fatal("each cancellation is not an audit event")
	}
}
