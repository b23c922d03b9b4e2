package ui

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// The Members tab names people with their department, shows a member whose
// access is still pending, and keeps a denied enrollment visible with who
// denied it and why.
func TestMembersShowPendingAccessAndDenials(t *testing.T) {
	e := newEnv(t)
	e.apply(`
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/admin]
    enrollment: {policy: manager}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [okta/engineering], safeguard: false}
`)
	ctx := e.as("raj")
	page, err := e.engine.Tasks(ctx, roster.TaskFilter{Approver: "raj", OpenOnly: true, Entitlement: "access-profiles/eng"})
	if err != nil {
		t.Fatal(err)
	}
	var denied bool
	for _, task := range page.Items {
		if task.User == "carlos" {
			if _, err := e.engine.DenyTask(ctx, task.ID, "not on the platform team"); err != nil {
				t.Fatal(err)
			}
			denied = true
		} else if task.User == "alice" {
			if _, err := e.engine.ApproveTask(ctx, task.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !denied {
		t.Fatalf("no enrollment task for carlos among %+v", page.Items)
	}

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/eng")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Alice Chen", "· Engineering", "(alice)", `id="pending-alice"`, "access pending: github/admin",
		`id="denied"`, "Carlos Mendes", "not on the platform team", "<td>raj</td>")
	members := body[strings.Index(body, `id="members"`):strings.Index(body, `id="denied"`)]
	if strings.Contains(members, "carlos") {
		t.Fatal("carlos, whose enrollment was denied, is listed among the members")
	}
}
