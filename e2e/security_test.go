package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The permission rules: no token → 401; only admins change configuration;
// an auditor reads everything and changes nothing; users read their own
// access; nobody approves their own access; only current approvers decide.
func TestPermissions(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)

	// No token, or a bad one: 401 from the API, an error from the CLI.
	for _, tok := range []string{"", "not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/tasks", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var eb struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(body, &eb) != nil || eb.Error.Code != "unauthorized" || eb.Error.Message == "" {
			t.Fatalf("token %q: status %d body %s, want 401 with a JSON error", tok, resp.StatusCode, body)
		}
	}
	e.tokens["ghost"] = "bogus"
	e.fails("not valid", "ghost", "task", "list")

	// Only admins change configuration.
	for _, args := range [][]string{
		{"sync", "eng"}, {"sync", "--all"}, {"grant", "add", "bob", "okta/sales"}, {"grant", "remove", "alice", "okta/engineering"},
		{"profile", "enroll", "eng", "dave"}, {"profile", "resume", "eng"}, {"token", "create", "bob"},
	} {
		e.fails("only admins", "carol", args...)
		e.fails("only admins", "audrey", args...)
	}
	e.applyFails("only admins", "carol", "users: [{id: x, email: x@example.com}]")
	e.applyFails("only admins", "audrey", "users: [{id: x, email: x@example.com}]")

	// The auditor reads everything.
	var all []struct{ ID int64 }
	e.json(&all, "audrey", "task", "list")
	equal(t, "tasks the auditor sees", len(all), 2)
	if len(e.eventsAs("audrey")) == 0 {
		t.Fatal("the auditor cannot read the audit log")
	}
	e.fails("change nothing", "audrey", "task", "approve", id(e.task("--user", "alice")))
	e.fails("only admins and auditors", "bob", "event", "list")
	e.fails("only admins and auditors", "bob", "user", "list")

	// A user reads their own grants only.
	var grants []struct{ User string }
	e.json(&grants, "bob", "grant", "list")
	for _, g := range grants {
		if g.User != "bob" {
			t.Fatalf("bob sees %s's grant", g.User)
		}
	}
	if len(grants) == 0 {
		t.Fatal("bob sees none of his own grants")
	}
	e.fails("only list your own grants", "bob", "grant", "list", "--user", "alice")
	e.fails("your own user", "bob", "user", "show", "alice")

	// Nobody approves their own access; only current approvers decide.
	task := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	e.fails("your own access", "alice", "task", "approve", id(task))
	e.fails("your own access", "alice", "task", "deny", id(task))
	e.fails("not an approver", adminUser, "task", "approve", id(task))
	e.ok("carol", "task", "approve", id(task))
	e.fails("not pending approval", "carol", "task", "deny", id(task))
}

// A manager approving their own request is impossible even when they are
// the only approver the policy names: the step falls back, and with no
// fallback it goes to the admins, never passing silently.
func TestNobodyApprovesTheirOwnAccess(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.apply(`
policies:
  - id: owners
    steps: [{approvers: app_owner}]
profiles:
  - id: gh
    name: GitHub
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: owners}
  - id: mgr
    name: Managers
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	// The built-in access-profiles app has no owners, so app_owner resolves
	// to nobody and, with no fallback, the admins decide, with an event.
	var task struct {
		ID        int64
		Approvers []string
	}
	e.json(&task, "carol", "profile", "request", "gh")
	equal(t, "approvers", task.Approvers, []string{"admin"})
	routed := e.events("--action", "task.routed_to_admins")
	if len(routed) != 1 || !strings.Contains(routed[0].Reason, "admins") {
		t.Fatalf("routed events = %+v, want one saying why the admins decide", routed)
	}
	// carol has no manager: the manager policy's fallback (sam) decides.
	e.json(&task, "carol", "profile", "request", "mgr")
	equal(t, "approvers", task.Approvers, []string{"sam"})
	// sam requests it himself: he is the fallback but never his own approver.
	e.json(&task, "sam", "profile", "request", "mgr")
	equal(t, "approvers of sam's own request", task.Approvers, []string{"admin"})
}
