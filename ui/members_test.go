package ui

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

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

// The Members tab pages the pending enrollments: a table of 20 at a time,
// each person named with how long their task has waited, with the range,
// the total and links back and on.
func TestPendingEnrollmentsArePaged(t *testing.T) {
	e := newEnv(t)
	var doc strings.Builder
	doc.WriteString("users:\n")
	for i := range 45 {
		fmt.Fprintf(&doc, "  - {id: p%03d, email: p%03d@example.org, name: Person %03d, department: Sales}\n", i, i, i)
	}
	doc.WriteString("grants:\n")
	for i := range 45 {
		fmt.Fprintf(&doc, "  - {user: p%03d, entitlement: okta/employees}\n", i)
	}
	doc.WriteString(`profiles:
  - id: all
    name: Everyone
    enrollment: {policy: manager}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [okta/employees], safeguard: false}
`)
	e.apply(doc.String())
	e.clock.Advance(3 * 24 * time.Hour)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/all")
	wantStatus(t, res, body, http.StatusOK)
	pending := section(t, body, `id="pending-enrollments"`, "</section>")
	wantBody(t, pending, "1–20 of 45", "Person 000", "· Sales", "waiting 3 days", `id="pending-next"`)
	if strings.Contains(pending, "Person 020") || strings.Contains(pending, `id="pending-prev"`) {
		t.Fatalf("the first page of pending enrollments shows more than 20 or links back:\n%s", pending)
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next" id="pending-next"`).FindStringSubmatch(pending)
	if next == nil {
		t.Fatal("no link to the next page of pending enrollments")
	}
	res, body = admin.get(html.UnescapeString(next[1]))
	wantStatus(t, res, body, http.StatusOK)
	pending = section(t, body, `id="pending-enrollments"`, "</section>")
	wantBody(t, pending, "21–40 of 45", "Person 020", "Person 039", `id="pending-prev"`, `id="pending-next"`)
	if strings.Contains(pending, "Person 019") || strings.Contains(pending, "Person 040") {
		t.Fatalf("the second page of pending enrollments holds the wrong people:\n%s", pending)
	}
}
