package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
)

// TestReadmeWalkthrough runs the README's walkthrough on the demo
// organisation, step by step, with the same commands and task ids, so that
// the README stays true.
func TestReadmeWalkthrough(t *testing.T) {
	var out bytes.Buffer
	e := startWith(t, server.Config{Demo: true, Out: &out})
	if !strings.Contains(out.String(), "demo-<user id>") {
		t.Fatalf("the server did not say how to sign in to the demo: %q", out.String())
	}
	// Demo users act with their well-known tokens.
	for _, u := range []string{"raj", "alice", "emma", "dana"} {
		e.tokens[u] = server.DemoTokenPrefix + u
	}

	// 1. Three profiles; eng's rule has started eight enrollments.
	equal(t, "profiles", len(e.profile("eng").PendingEnrollments), 8)
	if lines := strings.Count(e.ok(adminUser, "profile", "list"), "\n"); lines != 4 {
		t.Fatalf("profile list has %d lines, want a header and 3 profiles", lines)
	}
	// George's exclusion from eng's rule is recorded at once (eng sets no
	// exclusion_policy: auto), not put in his manager's inbox (issue 14 #13).
	george := e.task("--user", "george", "--entitlement", roster.ExclusionEntitlement("eng"))
	equal(t, "george's exclusion", []string{string(george.State), string(george.Origin)}, []string{string(roster.StateDone), string(roster.OriginExclusion)})
	// 2. Managers approve: raj for alice (task 2) and emma (6), alice for her
	// reports (3 4 5), emma for hers (7 8), dana for raj (9).
	waiting := e.ok("raj", "task", "list", "--approver", "raj")
	for _, w := range []string{"alice", "emma"} {
		if !strings.Contains(waiting, w) {
			t.Fatalf("raj's queue lacks %s:\n%s", w, waiting)
		}
	}
	e.fails("your own access", "alice", "task", "approve", "2")
	e.ok("raj", "task", "approve", "2", "6", "--comment", "Welcome aboard")
	e.ok("alice", "task", "approve", "3", "4", "5")
	e.ok("emma", "task", "approve", "7", "8")
	e.ok("dana", "task", "approve", "9")
	equal(t, "members", len(e.profile("eng").Members), 8)
	g := e.grants("--user", "alice")
	equal(t, "alice's github/org-member", g["alice github/org-member"], []string{"profile:eng"})
	equal(t, "alice's slack/eng", g["alice slack/eng"], []string{"profile:eng"})

	// 3. Two engineers leave the Engineering group: 2 of 8 is over 20%.
	e.ok(adminUser, "grant", "remove", "bob", "okta/engineering")
	e.ok(adminUser, "grant", "remove", "carlos", "okta/engineering")
	if r := e.sync("eng"); !r.Paused {
		t.Fatalf("sync = %+v, want paused", r)
	}
	show := e.ok(adminUser, "profile", "show", "eng")
	if !strings.Contains(show, "state paused") || !strings.Contains(show, "bob,carlos") {
		t.Fatalf("profile show does not show the pause and the staged removals:\n%s", show)
	}
	if !strings.Contains(e.ok(adminUser, "event", "list", "--action", "safeguard.paused"), "2 of 8") {
		t.Fatal("the alert does not give the figures")
	}
	// 4. Resume: both removals still hold and go through; bob's access goes.
	if out := e.ok(adminUser, "profile", "resume", "eng"); !strings.Contains(out, "2 unenrolled") {
		t.Fatalf("resume printed %q", out)
	}
	for ent := range e.grants("--user", "bob") {
		if strings.HasSuffix(ent, "github/org-member") || strings.HasSuffix(ent, "access-profiles/eng") {
			t.Fatalf("bob kept %s", ent)
		}
	}

	// 6. Plan a rule change to an expression on department: the security
	// team would join, and so would Bob and Carlos, whose Okta group went in
	// step 4 but whom HR still lists in Engineering — pending their
	// managers' approval; nobody leaves, the safeguard passes; nothing
	// changes until the apply, which does what the plan said.
	file := filepath.Join("..", "demo", "eng-rule.yaml")
	before := e.state()
	var plan roster.ChangePlan
	e.json(&plan, adminUser, "plan", "-f", file)
	if e.state() != before {
		t.Fatal("roster plan changed something")
	}
	p := plan.Profile("eng")
	if p == nil || len(plan.Profiles) != 1 {
		t.Fatalf("plan: %+v", plan)
	}
	equal(t, "plan enroll", p.Enroll, []string{"bob", "carlos", "ivy", "sam", "tess"})
	equal(t, "plan unenroll", p.Unenroll, []string{})
	equal(t, "plan safeguard", *p.Safeguard, roster.SafeguardVerdict{Verdict: "pass", WouldRemove: 0, Members: 6, Recent: 2})
	var approvers []string
	for _, task := range p.Tasks {
		approvers = append(approvers, task.User+":"+strings.Join(task.Approvers, ","))
	}
	equal(t, "plan tasks", approvers, []string{"bob:alice", "carlos:alice", "ivy:sam", "sam:dana", "tess:sam"})
	text := e.ok(adminUser, "plan", "-f", file)
	contains(t, "plan", text, "change profile eng", "profile eng: +5 / -0, 5 task(s), 0 grant(s) to end; safeguard: pass",
		"+ Tess Morgan (tess): matches the rule", "task grant access-profiles/eng for Sam Okafor (sam): pending_approval, approvers dana")
	applied := e.ok(adminUser, "apply", "-f", file, "--confirm-over", "0")
	contains(t, "apply", applied, "plan:\n  profile eng: +5 / -0", "updated profile eng", "synced eng: 5 enrolled")
	var pending []string
	for _, pe := range e.profile("eng").PendingEnrollments {
		pending = append(pending, pe.User)
	}
	equal(t, "pending enrollments", pending, p.Enroll)

	// Every event the walkthrough recorded has an action from the one list,
	// and the filter refuses an action that is not on it.
	var events []roster.Event
	e.json(&events, adminUser, "event", "list")
	for _, ev := range events {
		if !roster.KnownAuditAction(ev.Action) {
			t.Errorf("event %d has action %q, which roster.AuditActions does not list", ev.ID, ev.Action)
		}
	}
	if len(events) < 50 {
		t.Fatalf("the walkthrough recorded %d events", len(events))
	}
	e.fails(`"task.approve" is not an audit action`, adminUser, "event", "list", "--action", "task.approve")
}

// The demo catches Roster's email: the demo's enrollments mail their
// approvers, a request through the API mails its approver, and a signed-in
// demo user reads both at /demo/mail, newest first. Without --demo there is
// no such page.
func TestDemoMailCatcher(t *testing.T) {
	var out bytes.Buffer
	e := startWith(t, server.Config{Demo: true, Out: &out})
	if !strings.Contains(out.String(), "/demo/mail") {
		t.Fatalf("the server did not say where the demo's mail is: %q", out.String())
	}
	for _, u := range []string{"raj", "nick"} {
		e.tokens[u] = server.DemoTokenPrefix + u
	}
	// The eight enrollments the demo started wait on raj (2), alice (3),
	// emma (2) and dana (1), and the six Salesforce grants of Sales tools'
	// enrollments (which do not bypass the entitlement's policy) on maria
	// (5) and ivy (1): each approver is mailed once per task.
	equal(t, "delivered", e.notify(), 14)
	// nick, in Sales, asks for Engineering onboarding through the API: his
	// manager maria is mailed.
	res, body := e.request(http.MethodPost, "/api/v1/profiles/eng/request", e.token("nick"), "application/json", strings.NewReader(`{"comment":"pairing with the platform team"}`))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("request: %d %s", res.StatusCode, body)
	}
	var task roster.Task
	if err := json.Unmarshal([]byte(body), &task); err != nil {
		t.Fatal(err)
	}
	equal(t, "approvers", task.Approvers, []string{"maria"})
	equal(t, "delivered after the request", e.notify(), 1)

	raj := signIn(t, e.srv.URL, e.token("raj"))
	status, page := raj.do(http.MethodGet, e.srv.URL, "/demo/mail", nil)
	equal(t, "status", status, http.StatusOK)
	contains(t, "/demo/mail", page, `<a href="/demo/mail" aria-current="page">Demo mail</a>`, "raj@lumenlabs.example", "dana@lumenlabs.example", "maria@lumenlabs.example",
		"Approve? Alice Chen: Enroll in Engineering onboarding", "Approve? Nick Brennan: Enroll in Engineering onboarding")
	// Newest first: the request's message comes before the demo's.
	if nick, alice := strings.Index(page, "Nick Brennan"), strings.Index(page, "Alice Chen"); nick > alice {
		t.Fatalf("nick's request (at %d) is not listed before the demo's enrollments (at %d):\n%s", nick, alice, page)
	}
	link := regexp.MustCompile(`href="(/demo/mail/\d+)">Approve\? Alice Chen`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no link to read alice's enrollment mail:\n%s", page)
	}
	status, msg := raj.do(http.MethodGet, e.srv.URL, link[1], nil)
	equal(t, "message status", status, http.StatusOK)
	contains(t, "message", msg, "Hello Raj Patel", "Alice Chen, Platform Engineering Manager, Engineering", "Enroll in Engineering onboarding")
	status, _ = raj.do(http.MethodGet, e.srv.URL, "/demo/mail/999999", nil)
	equal(t, "unknown message", status, http.StatusNotFound)

	plain := start(t)
	plain.apply(org)
	admin := signIn(t, plain.srv.URL, adminToken)
	status, _ = admin.do(http.MethodGet, plain.srv.URL, "/demo/mail", nil)
	equal(t, "/demo/mail without --demo", status, http.StatusNotFound)
	if _, home := admin.do(http.MethodGet, plain.srv.URL, "/tasks", nil); strings.Contains(home, "Demo mail") {
		t.Fatal("the navigation offers the demo's mail without --demo")
	}
}
