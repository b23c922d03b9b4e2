package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// A profile's History tab shows who changed its configuration, newest
// first, with each changed field before and after; a user's History page
// shows changes to their record. Neither shows syncs, and plain users may
// not read them.
func TestHistoryShowsConfigurationChangesAsDiffs(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	e.apply(strings.Replace(engProfile, "any_entitlement: [okta/engineering]", "any_entitlement: [okta/engineering, okta/employees]", 1))
	e.apply("users:\n  - {id: alice, email: alice@example.com, name: Alice Chen, manager: raj, department: Platform, title: Engineer}\n")

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/eng/history")
	wantStatus(t, res, body, http.StatusOK)
	updated, created := strings.Index(body, "Profile updated"), strings.Index(body, "Profile created")
	if updated < 0 || created < 0 || updated > created {
		t.Fatalf("history does not list the update before the creation (newest first):\n%s", body)
	}
	wantBody(t, body, "automation › any entitlement", "<del>okta/engineering</del>", "<ins>okta/engineering, okta/employees</ins>", `aria-current="page">History`)
	if strings.Contains(body, "Profile synced") || strings.Contains(body, "roster apply</code>") {
		t.Fatalf("history shows syncs or raw engine words:\n%s", body)
	}

	res, body = admin.get("/users/alice/history")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "User updated", "department", "<del>Engineering</del>", "<ins>Platform</ins>")

	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.get("/profiles/eng/history")
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = alice.get("/users/alice")
	wantStatus(t, res, body, http.StatusOK)
	if strings.Contains(body, "/users/alice/history") {
		t.Fatal("a plain user's page links to a history they may not read")
	}
}

// The audit log lists the newest events first, within a date range, and
// links each event to its user, task or profile.
func TestAuditLogNewestFirstWithDates(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/events")
	wantStatus(t, res, body, http.StatusOK)
	first, last := strings.Index(body, "<code>profile.created</code>"), strings.Index(body, "<code>tenant.bootstrapped</code>")
	if first < 0 || last < 0 || first > last {
		t.Fatal("the audit log does not list the newest events first")
	}
	wantBody(t, body, `href="/profiles/eng"`, `href="/users/alice"`, `name="from"`, `name="to"`)
	// 2026-03-02 is the test clock's day: the day before holds nothing.
	res, body = admin.get("/events?to=2026-03-01")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "No events match.")
	res, body = admin.get("/events?from=2026-03-02&to=2026-03-02")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "<code>profile.created</code>")
	res, body = admin.get("/events?from=yesterday")
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantBody(t, body, "YYYY-MM-DD")
}

// The audit log's Export downloads the events of its range of days as
// NDJSON with their hashes; an auditor may export, a plain user may not.
func TestAuditLogExport(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	grace := e.client()
	grace.signIn(e, "grace") // an auditor
	_, body := grace.get("/events")
	wantBody(t, body, `id="export"`)
	res, body := grace.get("/events/export")
	wantStatus(t, res, body, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export answered %q, %q", ct, res.Header.Get("Content-Disposition"))
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var first, last roster.Event
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Action != roster.ActionTenantBootstrapped || first.Hash == "" {
		t.Fatalf("first line %q (%v), want the bootstrap event with its hash", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.ID <= first.ID {
		t.Fatalf("last line %q, want a later event", lines[len(lines)-1])
	}
	res, body = grace.get("/events/export?to=2026-03-01")
	wantStatus(t, res, body, http.StatusOK)
	if strings.TrimSpace(body) != "" {
		t.Fatalf("an export of the day before anything happened holds %q", body)
	}
	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.get("/events/export")
	wantStatus(t, res, body, http.StatusForbidden)
}
