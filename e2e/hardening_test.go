package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/server"
)

// countingReader serves n bytes of a YAML comment and counts what was read.
type countingReader struct {
	n, read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	left := r.n.Load() - r.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	for i := range p {
		p[i] = '#'
	}
	r.read.Add(int64(len(p)))
	return len(p), nil
}

// request sends one HTTP request to the server as it is — token as its
// bearer and contentType as its type unless empty — and returns the answer
// with its body read.
func (e *env) request(method, path, token, contentType string, body io.Reader) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestApplyBodyOnlyForAdmins checks that the server refuses a plain user's
// apply before reading its body (spec 5: only admins' requests to apply are
// read past 1 MiB), so that anyone signed in cannot make it hold 256 MiB per
// request.
func TestApplyBodyOnlyForAdmins(t *testing.T) {
	e := start(t)
	e.apply(`users:
  - {id: alice, email: alice@example.com}
`)
	// A plan reads the same file: refused the same way.
	for _, path := range []string{"/api/v1/apply", "/api/v1/plan"} {
		body := &countingReader{}
		body.n.Store(64 << 20)
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 64 << 20
		req.Header.Set("Content-Type", "application/yaml")
		req.Header.Set("Authorization", "Bearer "+e.token("alice"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: the server closed the request without an answer: %v", path, err)
		}
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), "only admins") {
			t.Fatalf("plain user's %s: %d %s, want 403 naming admins", path, res.StatusCode, msg)
		}
		if read := body.read.Load(); read > 16<<20 {
			t.Fatalf("the server took %d MiB of a plain user's %s before refusing it", read>>20, path)
		}
	}
	// Any other request, an admin's too, is read no further than 1 MiB.
	for _, tc := range []struct{ path, token string }{
		{"/api/v1/tasks/1/approve", e.token("alice")},
		{"/api/v1/tokens", e.token("alice")},
		{"/api/v1/grants", adminToken},
	} {
		body := &countingReader{}
		body.n.Store(64 << 20)
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+tc.path, io.MultiReader(strings.NewReader(`{"comment":"`), body))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 64<<20 + 12
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tc.token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Errorf("64 MiB to %s: %d %s, want a refusal", tc.path, res.StatusCode, msg)
			}
		}
		if read := body.read.Load(); read > 16<<20 {
			t.Errorf("the server took %d MiB of a request to %s", read>>20, tc.path)
		}
	}
}

// TestAPIAnswersAreNotCached checks that API answers, errors included, say
// Cache-Control: no-store, so that no browser or proxy keeps who holds what.
func TestAPIAnswersAreNotCached(t *testing.T) {
	e := start(t)
	for _, tc := range []struct{ path, token string }{
		{"/api/v1/me", adminToken},
		{"/api/v1/grants", adminToken},
		{"/api/v1/users/nobody", adminToken},
		{"/api/v1/me", ""},
	} {
		res, _ := e.request(http.MethodGet, tc.path, tc.token, "", nil)
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s (status %d): Cache-Control %q, want no-store", tc.path, res.StatusCode, got)
		}
	}
	// The console's pages too.
	admin := signIn(t, e.srv.URL, adminToken)
	for _, path := range []string{"/profiles", "/users", "/tasks", "/events"} {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: admin.cookie.Name, Value: admin.cookie.Value})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Cache-Control"); res.StatusCode != http.StatusOK || got != "no-store" {
			t.Errorf("console GET %s: %d, Cache-Control %q, want 200 and no-store", path, res.StatusCode, got)
		}
	}
}

// TestSlowClientsAreCutOff checks the server's bounds on clients (issue 14:
// idle keep-alive connections and slow bodies were held for ever): an idle
// connection and a request whose body stalls are closed once their time is
// up, while an admin's apply may take longer than a request.
func TestSlowClientsAreCutOff(t *testing.T) {
	limits := server.HTTPLimits{Read: 300 * time.Millisecond, Idle: 300 * time.Millisecond, Apply: 10 * time.Second}
	e := startWith(t, server.Config{BootstrapToken: adminToken, HTTP: limits})
	addr := strings.TrimPrefix(e.srv.URL, "http://")

	// closed reports whether the server ends conn within a few seconds.
	closed := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	idle := dial()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if !closed(idle) {
		t.Error("an idle keep-alive connection was still open 5 s after its idle time")
	}
	slow := dial()
	fmt.Fprintf(slow, "POST /signin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=", addr)
	if !closed(slow) {
		t.Error("a request whose body stalled was still open 5 s after its read time")
	}

	// An admin's file that takes a second to arrive is still read whole.
	pr, pw := io.Pipe()
	go func() {
		for _, part := range []string{"users:\n", "  - {id: alice, email: alice@example.com}\n"} {
			time.Sleep(600 * time.Millisecond)
			pw.Write([]byte(part))
		}
		pw.Close()
	}()
	res, b := e.request(http.MethodPost, "/api/v1/apply", adminToken, "application/yaml", pr)
	if res.StatusCode != http.StatusOK || !strings.Contains(b, "alice") {
		t.Fatalf("slow apply: %d %s", res.StatusCode, b)
	}
}

// TestCLIShowsControlCharactersEscaped checks that what Roster stores is
// shown, not obeyed: a name or a comment holding terminal escape sequences
// comes out of the CLI with them escaped.
func TestCLIShowsControlCharactersEscaped(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.apply(`users:
  - id: mallory
    email: mallory@example.com
    name: "Mallory \e[2J\e]0;owned\a"
`)
	out := e.ok(adminUser, "user", "show", "mallory")
	if strings.ContainsAny(out, "\x1b\a") || !strings.Contains(out, `Mallory \x1b[2J\x1b]0;owned\x07`) {
		t.Fatalf("user show printed %q", out)
	}
	task := e.task("--user", "alice", "--profile", "eng")
	e.ok(adminUser, "task", "cancel", fmt.Sprint(task.ID), "--comment", "bye\x1b[1A\x1b[2Kall approved")
	out = e.ok(adminUser, "task", "show", fmt.Sprint(task.ID))
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `bye\x1b[1A\x1b[2Kall approved`) {
		t.Fatalf("task show printed %q", out)
	}
	// JSON escapes them itself, and is left as it is.
	var u roster.User
	e.json(&u, adminUser, "user", "show", "mallory")
	if u.Name != "Mallory \x1b[2J\x1b]0;owned\a" {
		t.Fatalf("user show -o json decoded name %q", u.Name)
	}
}

// TestNULAndInvalidUTF8AreRefused checks that text no store keeps (a NUL
// character, bytes that are not UTF-8) is refused with 422 and a message
// naming it, on every way in — a declarative file, an API body, an API
// address and a console form — before it reaches the store (PostgreSQL
// answered 500).
func TestNULAndInvalidUTF8AreRefused(t *testing.T) {
	e := start(t)
	e.apply(org)
	before := e.grants("--user", "alice")
	e.applyFails("NUL character", adminUser, "users:\n  - {id: nul, email: nul@example.com, name: \"a\\0b\"}\n")
	e.applyFails("NUL character", adminUser, `connectors:
  - id: hr
    type: csv
    app: hr
    settings: {path: "people\0.csv"}
`)
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/api/v1/grants", `{"user":"alice","entitlement":"github/org-member\u0000"}`, "NUL"},
		{"POST", "/api/v1/grants", "{\"user\":\"alice\xff\",\"entitlement\":\"github/org-member\"}", "UTF-8"},
		{"GET", "/api/v1/users/al%00ice", "", "NUL"},
		{"GET", "/api/v1/grants?user=al%00ice", "", "NUL"},
		{"GET", "/api/v1/grants?user=al%FFice", "", "UTF-8"},
		{"POST", "/api/v1/tasks/1/approve", `{"comment":"ok\u0000"}`, "NUL"},
	} {
		res, body := e.request(tc.method, tc.path, adminToken, "application/json", strings.NewReader(tc.body))
		if status := res.StatusCode; status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %q: %d %s, want 422 naming %s", tc.method, tc.path, tc.body, status, body, tc.want)
		}
	}
	if after := e.grants("--user", "alice"); len(after) != len(before) {
		t.Fatalf("a refused request changed alice's grants: %v, then %v", before, after)
	}
}

// TestFailedSignInsAreThrottled checks that a client guessing tokens is
// slowed down: after ten unknown tokens from one address the API answers
// 429 with Retry-After without checking the token, and so does the
// console's sign-in form (one count for both).
func TestFailedSignInsAreThrottled(t *testing.T) {
	e := start(t)
	get := func(token string) *http.Response {
		res, _ := e.request(http.MethodGet, "/api/v1/me", token, "", nil)
		return res
	}
	if res := get(adminToken); res.StatusCode != http.StatusOK {
		t.Fatalf("admin token: %d", res.StatusCode)
	}
	for i := range 10 {
		if res := get(fmt.Sprintf("guess-%d", i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, res.StatusCode)
		}
	}
	res := get("guess-10")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("11th unknown token: %d (Retry-After %q), want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// While throttled, even a good token from that address waits: checking
	// it would tell a guesser when they are right.
	if res := get(adminToken); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("admin token while throttled: %d, want 429", res.StatusCode)
	}
	e.fails("too many requests", adminUser, "whoami")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := browser.Get(e.srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no form token on the sign-in page:\n%s", b)
	}
	res, err = browser.PostForm(e.srv.URL+"/signin", url.Values{"token": {adminToken}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "Try again in") {
		t.Fatalf("console sign-in while throttled: %d\n%s", res.StatusCode, b)
	}
}

// TestUnenrollingAMatchedMemberNeedsExclude checks spec §2: an admin who
// unenrolls an automation member whom the rule still matches is refused
// (409: the next sync would enroll them again) unless they exclude them too.
func TestUnenrollingAMatchedMemberNeedsExclude(t *testing.T) {
	e := start(t)
	e.apply(org + `
profiles:
  - id: eng
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	equal(t, "members", e.members("eng"), []string{"alice:automation", "bob:automation"})
	e.fails("still matches", adminUser, "profile", "unenroll", "eng", "alice")
	equal(t, "members after the refusal", e.members("eng"), []string{"alice:automation", "bob:automation"})

	e.ok(adminUser, "profile", "unenroll", "eng", "alice", "--exclude", "--comment", "moved to sales")
	equal(t, "members after unenroll --exclude", e.members("eng"), []string{"bob:automation"})
	if v := e.profile("eng"); !slices.Contains(v.Automation.ExcludedUsers, "alice") {
		t.Fatalf("alice is not excluded: %v", v.Automation.ExcludedUsers)
	}
	if r := e.sync("eng"); len(r.Enrolled) != 0 {
		t.Fatalf("the next sync enrolled %v again", r.Enrolled)
	}
}

// TestApproversFollowTheirRelationships checks issue 14's stale approvers:
// an approval step is decided by who holds the relationship now. After
// bob's manager changes from carol to erin, the waiting task moves to erin
// (task.reassigned), carol is refused and erin decides; a holder of the
// entitlement an entitlement_members step names who loses it cannot approve
// any more, even before anything re-resolves the step.
func TestApproversFollowTheirRelationships(t *testing.T) {
	e := start(t)
	e.apply(org + requestableProfile)
	var task roster.Task
	e.json(&task, "bob", "profile", "request", "eng")
	equal(t, "approvers", task.Approvers, []string{"carol"})

	e.apply(`users:
  - {id: bob, email: bob@example.com, name: Bob, manager: erin, department: Engineering}
`)
	moved := e.task("--user", "bob", "--entitlement", "access-profiles/eng")
	equal(t, "approvers after the manager changed", moved.Approvers, []string{"erin"})
	if got := e.tasks("--approver", "erin"); len(got) != 1 || got[0].ID != task.ID {
		t.Fatalf("erin's queue: %+v", got)
	}
	if len(e.events("--action", "task.reassigned", "--object-id", id(task))) != 1 {
		t.Fatal("no task.reassigned event")
	}
	e.fails("does not concern you", "carol", "task", "approve", id(task))
	e.ok("erin", "task", "approve", id(task))

	// security: sam, then a holder of okta/security-team other than sam.
	e.apply(`profiles:
  - id: sec
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: security}
`)
	e.json(&task, "alice", "profile", "request", "sec")
	e.ok("sam", "task", "approve", id(task))
	equal(t, "second step", e.task("--user", "alice", "--entitlement", "access-profiles/sec").Approvers, []string{"tess"})
	e.ok(adminUser, "grant", "remove", "tess", "okta/security-team")
	e.fails("not an approver", "tess", "task", "approve", id(task))
}

// TestAuditorsAndSubjectsDoNotAct checks two of issue 14's findings: an
// auditor is never an approver (a step naming only one goes to its fallback
// or the admins, instead of waiting for ever), and nobody — an admin
// included — carries out the provisioning of their own access.
func TestAuditorsAndSubjectsDoNotAct(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.apply(`policies:
  - id: audit
    steps:
      - {approvers: users, users: [audrey]}
profiles:
  - id: eng
    entitlements: [github/admin]
    allow_enrollment_requests: true
    enrollment: {policy: audit, bypass_entitlement_policies: true}
`)
	var task roster.Task
	e.json(&task, "bob", "profile", "request", "eng")
	if slices.Contains(task.Approvers, "audrey") || len(task.Approvers) == 0 {
		t.Fatalf("approvers %v: the auditor must be left out, the admins decide", task.Approvers)
	}
	e.ok(adminUser, "task", "approve", id(task))
	// The admin's own github/admin waits on ivan, not on the admin, who may
	// not complete it.
	e.apply(`profiles:
  - id: own
    entitlements: [github/admin]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
`)
	e.ok(adminUser, "profile", "enroll", "own", adminUser)
	own := e.task("--user", adminUser, "--entitlement", "github/admin")
	if own.State != roster.StatePendingProvisioning || slices.Contains(own.Provisioners, adminUser) {
		t.Fatalf("the admin's own github/admin: %s, provisioners %v", own.State, own.Provisioners)
	}
	e.fails("your own access", adminUser, "task", "provision", id(own))
	// Nor with a token the admin issued for the provisioner: it is the
	// admin's action too.
	e.createToken(adminUser, "ivan-by-admin", "ivan")
	e.fails("your own access", "ivan-by-admin", "task", "provision", id(own))
	e.ok("ivan", "task", "provision", id(own))
}

// TestSlackWebhookIsHiddenFromAuditors checks that the Slack webhook URL,
// a secret (whoever holds it posts to the admins' channel), is shown to
// auditors with its path hidden, and whole only to admins.
func TestSlackWebhookIsHiddenFromAuditors(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.apply(`settings:
  slack_webhook_url: https://hooks.slack.example/services/T000/B000/XXXXSECRET
`)
	var s roster.Settings
	e.json(&s, "audrey", "settings", "show")
	if strings.Contains(s.SlackWebhookURL, "SECRET") || !strings.HasPrefix(s.SlackWebhookURL, "https://hooks.slack.example/") {
		t.Fatalf("the auditor reads the webhook as %q", s.SlackWebhookURL)
	}
	e.json(&s, adminUser, "settings", "show")
	if !strings.HasSuffix(s.SlackWebhookURL, "XXXXSECRET") {
		t.Fatalf("the admin reads the webhook as %q", s.SlackWebhookURL)
	}
}

// TestMetricsOnTheirOwnAddress checks roster serve --metrics-addr: the
// metrics are served there without a token, and no longer on the main
// address, where they are otherwise for admins' and auditors' tokens only.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, MetricsAddr: "127.0.0.1:0"})
	res, err := http.Get(e.srv.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "go_goroutines") {
		t.Fatalf("metrics address: %d %.200s", res.StatusCode, b)
	}
	if res, _ := e.request(http.MethodGet, "/metrics", adminToken, "", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("main address /metrics with --metrics-addr: %d, want 404", res.StatusCode)
	}
}

// TestStrangersLearnNothingOfATask checks issue 14 #9: approving, denying or
// provisioning a task that does not concern the caller is refused with 403
// before anything else is checked, so the answer never tells its state or
// who decides or provisions it — whatever state the task is in.
func TestStrangersLearnNothingOfATask(t *testing.T) {
	e := start(t)
	e.apply(org + `
profiles:
  - id: eng
    entitlements: [github/admin]
    allow_enrollment_requests: true
    enrollment: {policy: manager, bypass_entitlement_policies: true}
`)
	var enroll roster.Task
	e.json(&enroll, "alice", "profile", "request", "eng")
	// pending_approval: carol decides.
	for _, verb := range []string{"approve", "deny", "provision"} {
		msg := e.fails("does not concern you", "erin", "task", verb, id(enroll))
		if strings.Contains(msg, "pending") || strings.Contains(msg, "carol") || strings.Contains(msg, "approval") {
			t.Errorf("erin's %s of a task waiting for approval told %q", verb, msg)
		}
	}
	e.ok("carol", "task", "approve", id(enroll))
	admin := e.task("--user", "alice", "--entitlement", "github/admin")
	equal(t, "github/admin", admin.State, roster.StatePendingProvisioning)
	// pending_provisioning (ivan provisions) and done.
	for _, tk := range []roster.Task{admin, enroll} {
		for _, verb := range []string{"approve", "deny", "provision"} {
			msg := e.fails("does not concern you", "erin", "task", verb, id(tk))
			if strings.Contains(msg, "ivan") || strings.Contains(msg, "carol") || strings.Contains(msg, string(tk.State)) {
				t.Errorf("erin's %s of task %d (%s) told %q", verb, tk.ID, tk.State, msg)
			}
		}
	}
	// The answer is 403 through the API too, whatever the state.
	for _, tk := range []roster.Task{admin, enroll} {
		for _, verb := range []string{"approve", "deny", "provision"} {
			res, body := e.request(http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/%s", tk.ID, verb), e.token("erin"), "application/json", strings.NewReader(`{"comment":"x"}`))
			if res.StatusCode != http.StatusForbidden || strings.Contains(body, string(tk.State)) {
				t.Errorf("POST %s of task %d (%s) as erin: %d %s, want 403 without its state", verb, tk.ID, tk.State, res.StatusCode, body)
			}
		}
	}
}

// TestAppliesAreReadTwoAtATime checks issue 14 #2's bound on concurrent
// applies: while two admins' files are still arriving, a third apply waits
// for its turn without being read or applied, and goes ahead as soon as
// one of the two is done.
func TestAppliesAreReadTwoAtATime(t *testing.T) {
	e := start(t)
	if rosterhttp.MaxConcurrentApplies != 2 {
		t.Fatalf("MaxConcurrentApplies = %d; this test holds two", rosterhttp.MaxConcurrentApplies)
	}
	type answer struct {
		status int
		err    error
	}
	post := func(body io.Reader) <-chan answer {
		done := make(chan answer, 1)
		go func() {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/apply", body)
			if err != nil {
				done <- answer{err: err}
				return
			}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/yaml")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- answer{err: err}
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			done <- answer{status: res.StatusCode}
		}()
		return done
	}
	var stalled []*io.PipeWriter
	var held []<-chan answer
	for i := range 2 {
		pr, pw := io.Pipe()
		stalled = append(stalled, pw)
		t.Cleanup(func() { pw.Close() })
		held = append(held, post(pr))
		go fmt.Fprintf(pw, "users:\n  - {id: held%d, email: held%d@example.com}\n", i, i)
	}
	time.Sleep(500 * time.Millisecond) // both take their places
	third := post(strings.NewReader("users:\n  - {id: third, email: third@example.com}\n"))
	select {
	case a := <-third:
		t.Fatalf("a third apply was answered (%d, %v) while two files were still arriving", a.status, a.err)
	case <-time.After(time.Second):
	}
	stalled[0].Close()
	for _, tc := range []struct {
		what string
		ch   <-chan answer
	}{{"the first apply", held[0]}, {"the third apply, once the first was done", third}} {
		select {
		case a := <-tc.ch:
			if a.err != nil || a.status != http.StatusOK {
				t.Fatalf("%s: %d %v", tc.what, a.status, a.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not answered", tc.what)
		}
	}
	stalled[1].Close()
	if a := <-held[1]; a.err != nil || a.status != http.StatusOK {
		t.Fatalf("the second apply: %d %v", a.status, a.err)
	}
}

// TestConnectionsAreCapped checks the cap on connections served at once
// (issue 14 #3): with the cap taken by clients that send nothing, another
// client waits, and is served as soon as one of them goes.
func TestConnectionsAreCapped(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, HTTP: server.HTTPLimits{MaxConns: 2}})
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	var silent []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		silent = append(silent, conn)
	}
	time.Sleep(200 * time.Millisecond) // both accepted
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := conn.Read(make([]byte, 1)); n > 0 || err == nil {
		t.Fatal("a third connection was served while two held the cap of two")
	}
	silent[0].Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	if !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("the waiting connection, once one went: %q %v", b, err)
	}
}
