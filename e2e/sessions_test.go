package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
)

// console is a browser of the web console: it holds the session cookie and
// may send it to any replica.
type console struct {
	t      *testing.T
	cookie *http.Cookie
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in to the console at base with an API token and returns the
// browser, or fails the test with the page when the sign-in is refused.
func signIn(t *testing.T, base, token string) *console {
	t.Helper()
	c, status, body := trySignIn(t, base, token)
	if c == nil {
		t.Fatalf("sign-in at %s: %d\n%s", base, status, body)
	}
	return c
}

// trySignIn signs in with token and returns the browser, or nil with the
// answer when the sign-in is refused.
func trySignIn(t *testing.T, base, token string) (*console, int, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := b.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no form token on the sign-in page:\n%s", body)
	}
	res, err := b.PostForm(base+"/signin", url.Values{"token": {token}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return nil, res.StatusCode, string(body)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "roster_session" && ck.Value != "" {
			return &console{t: t, cookie: ck}, res.StatusCode, string(body)
		}
	}
	t.Fatalf("sign-in set no session cookie: %v", res.Cookies())
	return nil, 0, ""
}

// do sends a request with the session cookie to base and returns the
// status and body.
func (c *console) do(method, base, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: c.cookie.Name, Value: c.cookie.Value})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// signedIn reports whether the session still opens the console at base.
func (c *console) signedIn(base string) bool {
	c.t.Helper()
	status, _ := c.do(http.MethodGet, base, "/profiles", nil)
	switch status {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	c.t.Fatalf("GET /profiles at %s: %d", base, status)
	return false
}

// post submits a console form at base with the page's CSRF token.
func (c *console) post(base, path string, form url.Values) (int, string) {
	c.t.Helper()
	status, page := c.do(http.MethodGet, base, "/profiles", nil)
	m := csrfField.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		c.t.Fatalf("no CSRF token at %s: %d", base, status)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	return c.do(http.MethodPost, base, path, form)
}

// TestSessionsLiveInTheDatabase checks section 5's sessions across two
// replicas and a restart: signing out on one replica ends the session on
// the other, `roster session revoke` and disabling the user end it, and a
// restarted server keeps it; sign-ins, refusals and sign-outs are events.
func TestSessionsLiveInTheDatabase(t *testing.T) {
	e := start(t)
	e.apply(org)
	a, b := e.srv, e.replica(t)

	alice := signIn(t, a.URL, e.token("alice"))
	if !alice.signedIn(b.URL) {
		t.Fatal("a session started on replica A is refused on replica B")
	}
	var sessions []roster.Session
	e.json(&sessions, "alice", "session", "list")
	if len(sessions) != 1 || sessions[0].User != "alice" || sessions[0].Method != roster.SignInToken || !strings.HasPrefix(sessions[0].ID, "ses_") {
		t.Fatalf("alice's sessions: %+v", sessions)
	}
	first := sessions[0].ID
	signedIn := e.events("--action", "user.signed_in", "--object-id", "alice")
	if len(signedIn) != 1 || signedIn[0].Actor != "alice" || !strings.Contains(string(signedIn[0].Data), first) {
		t.Fatalf("user.signed_in events: %+v, want one naming %s", signedIn, first)
	}
	// The store holds no secret: the cookie's value is nowhere in the list.
	if out := e.ok(adminUser, "session", "list", "--user", "*", "-o", "json"); strings.Contains(out, alice.cookie.Value) {
		t.Fatal("the session list shows the session's secret")
	}

	// Signing out on B ends the session on A.
	if status, _ := alice.post(b.URL, "/signout", nil); status != http.StatusSeeOther {
		t.Fatalf("sign out on B: %d", status)
	}
	if alice.signedIn(a.URL) {
		t.Fatal("a session signed out on replica B still opens replica A")
	}
	if out := e.events("--action", "user.signed_out", "--object-id", "alice"); len(out) != 1 || !strings.Contains(string(out[0].Data), first) {
		t.Fatalf("user.signed_out events: %+v", out)
	}

	// A restart keeps the session, and keeps the signed-out one ended: A
	// stops, C starts on the same database.
	signedOut := alice
	alice = signIn(t, a.URL, e.token("alice"))
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := e.replica(t)
	e.srv = c
	if !alice.signedIn(c.URL) {
		t.Fatal("a session does not survive a restart")
	}
	if signedOut.signedIn(c.URL) {
		t.Fatal("a session signed out before a restart opens the console after it")
	}

	// roster session revoke ends it everywhere; alice may not revoke bob's,
	// an admin may.
	bob := signIn(t, c.URL, e.token("bob"))
	e.json(&sessions, adminUser, "session", "list", "--user", "bob")
	equal(t, "bob's sessions", len(sessions), 1)
	e.fails("not yours", "alice", "session", "revoke", sessions[0].ID)
	e.fails("only admins and auditors", "alice", "session", "list", "--user", "bob")
	e.ok(adminUser, "session", "revoke", sessions[0].ID)
	if bob.signedIn(b.URL) || bob.signedIn(c.URL) {
		t.Fatal("a revoked session still opens the console")
	}
	if out := e.events("--action", "session.revoked", "--object-id", "bob"); len(out) != 1 || out[0].Actor != adminUser {
		t.Fatalf("session.revoked events: %+v", out)
	}
	// Anyone revokes their own.
	e.json(&sessions, "alice", "session", "list")
	equal(t, "alice's sessions", len(sessions), 1)
	e.ok("alice", "session", "revoke", sessions[0].ID)
	if alice.signedIn(b.URL) {
		t.Fatal("a session its user revoked still opens the console")
	}

	// Disabling the user ends their sessions, and enabling them again does
	// not bring them back.
	dave := signIn(t, b.URL, e.token("dave"))
	disabled := strings.Replace(org, "{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering}",
		"{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering, status: disabled}", 1)
	e.apply(disabled)
	if dave.signedIn(b.URL) {
		t.Fatal("a disabled user's session still opens the console")
	}
	e.apply(org)
	if dave.signedIn(c.URL) {
		t.Fatal("enabling a user again brought back the session their disabling ended")
	}
}

// TestSignInRefusalsAreEvents checks that a refused console sign-in is an
// event with the reason, without an actor or the token for an unknown one,
// and that a revoked or expired token cannot sign in.
func TestSignInRefusalsAreEvents(t *testing.T) {
	e := start(t)
	e.apply(org)
	const guess = "rst_0123456789abcdef0123456789abcdef"
	if c, status, body := trySignIn(t, e.srv.URL, guess); c != nil || status != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Fatalf("sign-in with an unknown token: %d\n%s", status, body)
	}
	refused := e.events("--action", "user.sign_in_refused")
	if len(refused) != 1 || refused[0].Actor != "" || refused[0].ObjectID != "" || !strings.Contains(refused[0].Reason, "not valid") {
		t.Fatalf("user.sign_in_refused events: %+v", refused)
	}
	if all := e.ok(adminUser, "event", "list", "-o", "json"); strings.Contains(all, guess) {
		t.Fatal("the audit log holds the token a sign-in was refused with")
	}

	tok := e.createToken("bob", "bob-short", "--expires", "1h")
	e.clock.Advance(time.Hour)
	if c, status, body := trySignIn(t, e.srv.URL, e.tokens["bob-short"]); c != nil || status != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Fatalf("sign-in with an expired token: %d\n%s", status, body)
	}
	refused = e.events("--action", "user.sign_in_refused", "--object-id", "bob")
	if len(refused) != 1 || !strings.Contains(refused[0].Reason, "expired") || !strings.Contains(string(refused[0].Data), tok.ID) {
		t.Fatalf("user.sign_in_refused events about bob: %+v", refused)
	}
}

// TestSessionsEndWhenIdle checks --session-idle: a session unused that long
// ends, one in use goes on.
func TestSessionsEndWhenIdle(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, SessionIdle: 30 * time.Minute})
	e.apply(org)
	alice := signIn(t, e.srv.URL, e.token("alice"))
	for range 4 {
		e.clock.Advance(20 * time.Minute)
		if !alice.signedIn(e.srv.URL) {
			t.Fatal("a session in use ended")
		}
	}
	e.clock.Advance(30 * time.Minute)
	if alice.signedIn(e.srv.URL) {
		t.Fatal("a session unused for --session-idle still opens the console")
	}
}

// TestSessionWithAnIssuedTokenCountsItsIssuer checks that a console session
// signed in with a token an admin issued acts as the admin too: the admin
// cannot approve their own request through it.
func TestSessionWithAnIssuedTokenCountsItsIssuer(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.apply(`
profiles:
  - id: mgr
    name: Managers
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	var task roster.Task
	e.json(&task, adminUser, "profile", "request", "mgr")
	equal(t, "approvers", task.Approvers, []string{"sam"})
	e.createToken(adminUser, "sam-by-admin", "sam")
	sam := signIn(t, e.srv.URL, e.tokens["sam-by-admin"])
	status, body := sam.post(e.srv.URL, "/tasks/"+id(task)+"/approve", nil)
	if status == http.StatusSeeOther {
		status, body = sam.do(http.MethodGet, e.srv.URL, "/tasks/"+id(task), nil)
	}
	equal(t, "task state", e.task("--user", adminUser).State, roster.StatePendingApproval)
	if !strings.Contains(body, "your own access") {
		t.Fatalf("approving through the session (%d) did not say why it was refused:\n%s", status, body)
	}
}
