package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// managerEnrollment is engProfile with enrollments decided by the manager:
// its sync leaves four enrollments waiting on raj.
var managerEnrollment = strings.Replace(engProfile, "{policy: auto, bypass", "{policy: manager, bypass", 1)

// onCall is a profile people request, with a high-risk entitlement.
const onCall = `
  - id: oncall
    name: On-call tooling
    description: Paging and the production dashboards, on request.
    entitlements: [github/admin, github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`

// waiting returns the ids of the tasks waiting on user, by subject.
func (e *env) waiting(user string) map[string]int64 {
	e.t.Helper()
	page, err := e.engine.Tasks(e.as(user), roster.TaskFilter{Approver: user})
	if err != nil {
		e.t.Fatalf("tasks waiting on %s: %v", user, err)
	}
	out := map[string]int64{}
	for _, t := range page.Items {
		out[t.User] = t.ID
	}
	return out
}

func (e *env) task(id int64) *roster.Task {
	e.t.Helper()
	t, err := e.engine.Task(e.as(roster.AdminUser), id)
	if err != nil {
		e.t.Fatalf("task %d: %v", id, err)
	}
	return t
}

// decided reports whether who took action on t with comment.
func decided(t *roster.Task, who string, action roster.HistoryAction, comment string) bool {
	for _, h := range t.History {
		if h.Actor == who && h.Action == action && h.Comment == comment {
			return true
		}
	}
	return false
}

var waitingCount = regexp.MustCompile(`id="waiting-count"><span class="visually-hidden">\(</span>([0-9+]+)<`)

// navCount returns the count of waiting tasks the navigation shows, "" for
// none.
func navCount(body string) string {
	if m := waitingCount.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// TestInboxIsHomeForPeopleWhoAreNotAdmins: a person who is not an admin
// lands on what waits for them; everyone sees its count in the navigation.
func TestInboxIsHomeForPeopleWhoAreNotAdmins(t *testing.T) {
	e := newEnv(t)
	e.apply(managerEnrollment)
	// raj, who has no manager, requests the profile: the fallback, the
	// admin, decides.
	if _, err := e.engine.RequestProfile(e.as("raj"), "eng", "I lead the team"); err != nil {
		t.Fatal(err)
	}

	raj := e.client()
	raj.get("/signin")
	res, body := raj.post("/signin", url.Values{"token": {e.token("raj")}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Fatalf("sign-in without next: Location %q, want /", loc)
	}
	res, body = raj.get("/")
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/inbox" {
		t.Fatalf("raj's home: Location %q, want /inbox", loc)
	}
	res, body = raj.get("/inbox")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Waiting for me", "Enroll Alice Chen in Engineering onboarding", "Enroll Dmitri Volkov in Engineering onboarding",
		"Bob Martin <span class=\"muted id\">(bob)</span> · Engineer · Engineering",
		"Alice Chen matches the rule of Engineering onboarding: holds okta/engineering", "Approve selected", "Deny selected")
	if strings.Contains(body, "Enroll Raj Patel") {
		t.Error("raj's inbox lists his own request")
	}
	if got := navCount(body); got != "4" {
		t.Errorf("raj's navigation counts %q waiting tasks, want 4", got)
	}
	if n := strings.Count(body, `name="task"`); n != 4 {
		t.Errorf("raj's inbox has %d checkboxes, want 4", n)
	}

	// The admin lands on the profiles, and sees the one task waiting on them.
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, _ = admin.get("/")
	if loc := res.Header.Get("Location"); loc != "/profiles" {
		t.Errorf("the admin's home: Location %q, want /profiles", loc)
	}
	_, body = admin.get("/profiles")
	if got := navCount(body); got != "1" {
		t.Errorf("the admin's navigation counts %q waiting tasks, want 1", got)
	}
	_, body = admin.get("/inbox")
	wantBody(t, body, "Enroll Raj Patel in Engineering onboarding", "Raj Patel asked for it: “I lead the team”")

	// An auditor with nothing waiting lands on an empty inbox, with no count.
	grace := e.client()
	grace.signIn(e, "grace")
	res, _ = grace.get("/")
	if loc := res.Header.Get("Location"); loc != "/inbox" {
		t.Errorf("the auditor's home: Location %q, want /inbox", loc)
	}
	_, body = grace.get("/inbox")
	wantBody(t, body, "Nothing waits on you")
	if got := navCount(body); got != "" {
		t.Errorf("grace's navigation counts %q waiting tasks, want none", got)
	}
}

// TestTaskPageShowsWhatAnApproverNeeds: the subject, what is asked by name
// and risk, what the profile will request and what of it the person
// holds, their access, why, and the history with names.
func TestTaskPageShowsWhatAnApproverNeeds(t *testing.T) {
	e := newEnv(t)
	e.apply("profiles:" + onCall)
	e.apply("grants:\n  - {user: alice, entitlement: github/org-member}\n")
	task, err := e.engine.RequestProfile(e.as("alice"), "oncall", "I join the rota next week")
	if err != nil {
		t.Fatal(err)
	}
	raj := e.client()
	raj.signIn(e, "raj")
	res, body := raj.get(taskURL(task.ID))
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body,
		"Enroll Alice Chen in On-call tooling",
		// Who: name, id, title, department, manager by name.
		"<strong>Alice Chen</strong> <span class=\"muted id\">(alice)</span>", "Engineer", "Engineering",
		`<dd id="subject-manager">Raj Patel <span class="muted id">(raj)</span></dd>`,
		// What is asked, by name with its code, and why.
		"Enroll in</strong> <span class=\"ent-name\">On-call tooling</span> <code class=\"muted id\">access-profiles/oncall</code> <span class=\"badge risk-high\">high risk</span>",
		"Alice Chen asked for it: “I join the rota next week”",
		// What the profile will request, and what she holds already.
		"GitHub · Organisation owner</span> <code class=\"muted id\">github/admin</code> <span class=\"badge risk-high\">high risk</span> <span class=\"badge new\">new</span>",
		"GitHub · Organisation member</span> <code class=\"muted id\">github/org-member</code> <span class=\"badge risk-low\">low risk</span> <span class=\"badge held\">already held</span>",
		// Her current access.
		"Alice Chen's current access", "Okta · Engineering department",
		// The decision form, and the history by name.
		"Your decision", "required to deny", "<td data-label=\"Who\">Alice Chen <span class=\"muted id\">(alice)</span></td><td data-label=\"Action\">created")

	// An enrollment the rule started says which rule, and what it holds.
	e2 := newEnv(t)
	e2.apply(managerEnrollment)
	raj2 := e2.client()
	raj2.signIn(e2, "raj")
	_, body = raj2.get(taskURL(e2.waiting("raj")["bob"]))
	wantBody(t, body, "Bob Martin matches the rule of Engineering onboarding: holds okta/engineering",
		"GitHub · Organisation member", "Slack · #eng", "Requested by</dt><dd>automation")

	// Alice reads her own request's page, without the decision.
	alice := e.client()
	alice.signIn(e, "alice")
	_, body = alice.get(taskURL(task.ID))
	wantBody(t, body, "Enroll Alice Chen in On-call tooling", "Alice Chen's current access")
	if strings.Contains(body, "Your decision") {
		t.Error("alice is offered to decide on her own request")
	}
	// Someone the task does not concern is refused.
	bob := e.client()
	bob.signIn(e, "bob")
	res, body = bob.get(taskURL(task.ID))
	wantStatus(t, res, body, http.StatusForbidden)
}

// TestManagersReadTheirReportsPages: a manager reads the user pages of
// their reports; others who read only their own get 403.
func TestManagersReadTheirReportsPages(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	raj := e.client()
	raj.signIn(e, "raj")
	res, body := raj.get("/users/alice")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Alice Chen", "okta/engineering", "Member of Engineering onboarding")
	for _, c := range []struct{ who, page string }{{"alice", "/users/bob"}, {"bob", "/users/raj"}, {"alice", "/users/nobody"}} {
		cl := e.client()
		cl.signIn(e, c.who)
		res, body := cl.get(c.page)
		wantStatus(t, res, body, http.StatusForbidden)
		wantBody(t, body, "your own user and those of your reports")
	}
	grace := e.client()
	grace.signIn(e, "grace")
	res, body = grace.get("/users/alice")
	wantStatus(t, res, body, http.StatusOK)
}

// TestDecideSeveralTasksAtOnce: the inbox approves or denies the ticked
// tasks one by one, with the same checks, and says what was refused.
func TestDecideSeveralTasksAtOnce(t *testing.T) {
	e := newEnv(t)
	e.apply(managerEnrollment)
	own, err := e.engine.RequestProfile(e.as("raj"), "eng", "")
	if err != nil {
		t.Fatal(err)
	}
	w := e.waiting("raj")
	raj := e.client()
	raj.signIn(e, "raj")
	raj.get("/inbox")
	ids := func(users ...string) []string {
		var out []string
		for _, u := range users {
			out = append(out, fmt.Sprint(w[u]))
		}
		return out
	}

	// Nothing ticked, or a denial without a reason: nothing is decided.
	for _, form := range []url.Values{
		{"decision": {"approve"}},
		{"decision": {"deny"}, "task": ids("alice", "bob")},
		{"decision": {"deny"}, "task": ids("alice"), "comment": {"   "}},
	} {
		res, body := raj.post("/inbox", form)
		wantStatus(t, res, body, http.StatusSeeOther)
		_, body = raj.get(res.Header.Get("Location"))
		wantBody(t, body, "flash error", "nothing was decided")
	}
	if got := len(e.waiting("raj")); got != 4 {
		t.Fatalf("%d tasks wait on raj after refused forms, want 4", got)
	}

	// Two of his and his own request, which he may not decide.
	form := url.Values{"decision": {"approve"}, "task": append(ids("alice", "bob"), fmt.Sprint(own.ID)), "comment": {"Welcome"}}
	res, body := raj.post("/inbox", form)
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/inbox" {
		t.Errorf("after deciding: Location %q, want /inbox", loc)
	}
	_, body = raj.get("/inbox")
	wantBody(t, body, fmt.Sprintf("2 approved; 1 refused: you cannot decide on your own access (task %d)", own.ID))
	for _, u := range []string{"alice", "bob"} {
		if tk := e.task(w[u]); tk.State != roster.StateDone || !decided(tk, "raj", roster.HistoryApproved, "Welcome") {
			t.Errorf("%s's enrollment: %s %+v, want done with raj's comment", u, tk.State, tk.History)
		}
	}
	if tk := e.task(own.ID); tk.State != roster.StatePendingApproval {
		t.Errorf("raj's own request is %s", tk.State)
	}
	if got := navCount(body); got != "2" {
		t.Errorf("after deciding two, the navigation counts %q, want 2", got)
	}

	// Denying two with a reason, one of them decided already.
	res, body = raj.post("/inbox", url.Values{"decision": {"deny"}, "task": ids("carlos", "alice"), "comment": {"Not on the team"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = raj.get("/inbox")
	wantBody(t, body, fmt.Sprintf("1 denied; 1 refused: task %d is done, not pending approval", w["alice"]))
	if tk := e.task(w["carlos"]); tk.State != roster.StateDenied {
		t.Errorf("carlos's enrollment is %s, want denied", tk.State)
	}

	// Without the session's CSRF token nothing is decided.
	res, body = raj.post("/inbox", url.Values{"decision": {"approve"}, "task": ids("dmitri"), csrfField: {"forged"}})
	wantStatus(t, res, body, http.StatusForbidden)
	if tk := e.task(w["dmitri"]); tk.State != roster.StatePendingApproval {
		t.Errorf("a forged form decided dmitri's enrollment: %s", tk.State)
	}
}

// TestDecisionGoesOnToTheNextTask: after a decision on a task's page the
// person goes to the next task waiting on them, then back to the inbox.
func TestDecisionGoesOnToTheNextTask(t *testing.T) {
	e := newEnv(t)
	e.apply(managerEnrollment)
	w := e.waiting("raj")
	raj := e.client()
	raj.signIn(e, "raj")
	raj.get(taskURL(w["bob"]))

	// A denial without a reason stays on the task, which is unchanged.
	res, body := raj.post(taskURL(w["bob"])+"/deny", url.Values{"comment": {""}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != taskURL(w["bob"]) {
		t.Errorf("denial without a reason: Location %q, want the task", loc)
	}
	_, body = raj.get(res.Header.Get("Location"))
	wantBody(t, body, "a denial needs a reason")
	if tk := e.task(w["bob"]); tk.State != roster.StatePendingApproval {
		t.Fatalf("bob's enrollment is %s after a denial without reason", tk.State)
	}

	// bob's, then carlos's and dmitri's after it, then alice's before it.
	order := []string{"bob", "carlos", "dmitri", "alice"}
	for i, u := range order {
		action, form := "/approve", url.Values{}
		if u == "dmitri" {
			action, form = "/deny", url.Values{"comment": {"Joins next month"}}
		}
		res, body := raj.post(taskURL(w[u])+action, form)
		wantStatus(t, res, body, http.StatusSeeOther)
		loc := res.Header.Get("Location")
		_, body = raj.get(loc)
		if i+1 < len(order) {
			if want := taskURL(w[order[i+1]]); loc != want {
				t.Fatalf("after deciding %s's task: Location %q, want %s (%s's)", u, loc, want, order[i+1])
			}
			wantBody(t, body, fmt.Sprintf("task %d", w[u]), fmt.Sprintf("Next: task %d", w[order[i+1]]))
			continue
		}
		if loc != "/inbox" {
			t.Fatalf("after the last decision: Location %q, want /inbox", loc)
		}
		wantBody(t, body, fmt.Sprintf("Approved task %d", w[u]), "Nothing else waits on you.")
	}
	if tk := e.task(w["dmitri"]); tk.State != roster.StateDenied || !decided(tk, "raj", roster.HistoryDenied, "Joins next month") {
		t.Errorf("dmitri's enrollment: %s %+v", tk.State, tk.History)
	}
}

// TestLinkFromAnotherSiteOpensAgain: a page opened from another site's
// link (an email's) comes without the SameSite=Strict session cookie; the
// console opens it again from its own site instead of asking to sign in.
func TestLinkFromAnotherSiteOpensAgain(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/tasks/7?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	res, body := c.do(req)
	wantStatus(t, res, body, http.StatusOK)
	if got := res.Header.Get("Refresh"); got != "0; url=/tasks/7?x=1" {
		t.Errorf("Refresh %q, want the same page again", got)
	}
	wantBody(t, body, `href="/tasks/7?x=1"`)
	// From this site, or typed in, the page without a session asks to sign in.
	for _, site := range []string{"same-origin", "none", ""} {
		req.Header.Set("Sec-Fetch-Site", site)
		res, _ = c.do(req)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != signInURL("/tasks/7?x=1") {
			t.Errorf("Sec-Fetch-Site %q: status %d to %q, want the sign-in page", site, res.StatusCode, res.Header.Get("Location"))
		}
	}
}
