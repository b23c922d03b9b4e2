package ui

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// client is a browser without JavaScript: a cookie jar, no automatic
// redirects, and the CSRF token of the last page it read.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{t: e.t, base: e.srv.URL, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read %s: %v", req.URL, err)
	}
	body := string(b)
	if m := csrfInput.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	return res, body
}

// get reads a page.
func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post submits a form; it adds the last CSRF token unless form sets one.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[csrfField]; !ok {
		form.Set(csrfField, c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signIn signs in with user's API token and returns the sign-in response.
func (c *client) signIn(e *env, user string) *http.Response {
	c.t.Helper()
	c.get("/signin")
	res, body := c.post("/signin", url.Values{"token": {e.token(user)}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: status %d\n%s", user, res.StatusCode, body)
	}
	c.get("/profiles") // pick up the session's CSRF token
	return res
}

func wantStatus(t *testing.T, res *http.Response, body string, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, body)
	}
}

func wantBody(t *testing.T, body string, wants ...string) {
	t.Helper()
	text := html.UnescapeString(body)
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("page does not say %q:\n%s", w, body)
		}
	}
}

func TestUnauthenticatedPagesRedirectToSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, path := range []string{"/", "/profiles", "/profiles/eng/controls", "/tasks?view=all", "/events"} {
		res, _ := c.get(path)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s: status %d, want 303", path, res.StatusCode)
		}
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, "/signin") {
			t.Errorf("GET %s: redirects to %q, want the sign-in page", path, loc)
		}
		if path != "/" && loc != signInURL(path) {
			t.Errorf("GET %s: redirects to %q, want %q", path, loc, signInURL(path))
		}
	}
	// A form posted without a session does nothing.
	res, body := c.post("/profiles/eng/sync", url.Values{csrfField: {"x"}})
	wantStatus(t, res, body, http.StatusForbidden)

	// The sign-in page itself, the style sheet and the API are not behind it.
	res, body = c.get("/signin?next=/tasks")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "API token", `name="next" value="/tasks"`)
	res, body = c.get("/static/style.css")
	wantStatus(t, res, body, http.StatusOK)
	res, _ = c.get("/api/v1/me")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me without a token: status %d, want 401 from the API", res.StatusCode)
	}

	// Signing in returns to where the person was going, and only on this site.
	c.get("/signin?next=/tasks")
	res, body = c.post("/signin", url.Values{"token": {adminToken}, "next": {"/tasks"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/tasks" {
		t.Errorf("after sign-in: Location %q, want /tasks", loc)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		if got := localPath(next); got != "/" {
			t.Errorf("localPath(%q) = %q, want /", next, got)
		}
	}
}

// TestSignInStaysOnSite checks that neither the sign-in form nor a signed-in
// visit to /signin redirects off-site, whatever next holds: a browser reads
// "/\t/evil.example" as "//evil.example", another host.
func TestSignInStaysOnSite(t *testing.T) {
	e := newEnv(t)
	bad := []string{"/\t/evil.example", "/\n/evil.example", "//evil.example/x", "/\\evil.example",
		"https://evil.example/", "javascript:alert(1)", "evil.example", "/\x7f/x"}
	for _, next := range bad {
		c := e.client()
		c.get("/signin")
		res, body := c.post("/signin", url.Values{"token": {adminToken}, "next": {next}})
		wantStatus(t, res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("sign-in with next %q: Location %q, want /", next, loc)
		}
		// Signed in now: the sign-in page sends the person on at once.
		res, body = c.get("/signin?next=" + url.QueryEscape(next))
		if loc := res.Header.Get("Location"); res.StatusCode == http.StatusSeeOther && loc != "/" {
			t.Errorf("signed-in GET /signin?next=%q: Location %q, want /", next, loc)
		} else if res.StatusCode != http.StatusSeeOther {
			wantStatus(t, res, body, http.StatusSeeOther)
		}
	}
	if got := localPath("/\x00/evil.example"); got != "/" {
		t.Errorf("localPath kept a NUL: %q", got) // forms holding one are refused before
	}
	for _, next := range []string{"/tasks", "/tasks?view=all&state=done", "/users/alice"} {
		if got := localPath(next); got != next {
			t.Errorf("localPath(%q) = %q, want it kept", next, got)
		}
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/signin")
	res, body := c.post("/signin", url.Values{"token": {"not-a-token"}})
	wantStatus(t, res, body, http.StatusUnauthorized)
	wantBody(t, body, "Sign-in failed", "the API token is not valid")

	// Without the sign-in form's token the post is refused.
	res, body = c.post("/signin", url.Values{"token": {adminToken}, csrfField: {""}})
	wantStatus(t, res, body, http.StatusForbidden)

	c.signIn(e, "alice")
	res, body = c.get("/profiles")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Alice Chen", "Sign out")
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t)
	res := e.client().signIn(e, "alice")
	var sess *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			sess = c
		}
	}
	if sess == nil {
		t.Fatalf("sign-in set no %s cookie: %v", sessionCookie, res.Header["Set-Cookie"])
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.Path != "/" {
		t.Errorf("session cookie %s: want HttpOnly, SameSite=Strict, not Secure, Path=/", sess.String())
	}
	if sess.MaxAge != int(SessionLifetime/time.Second) {
		t.Errorf("session cookie Max-Age %d, want %d", sess.MaxAge, int(SessionLifetime/time.Second))
	}
	if strings.Contains(sess.Value, "alice") {
		t.Errorf("session cookie shows the user id in clear: %s", sess.Value)
	}

	// Over TLS the cookie is Secure and takes the __Host- prefix.
	secure, err := New(Config{Service: e.engine, Sessions: e.engine, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	secure.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://roster.example/signin", nil))
	pre := rec.Result().Cookies()
	if len(pre) != 1 || pre[0].Name != "__Host-"+signinCookie {
		t.Fatalf("sign-in page cookies: %v", rec.Result().Header["Set-Cookie"])
	}
	token := csrfInput.FindStringSubmatch(rec.Body.String())[1]
	req := httptest.NewRequest(http.MethodPost, "https://roster.example/signin",
		strings.NewReader(url.Values{"token": {adminToken}, csrfField: {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(pre[0])
	rec = httptest.NewRecorder()
	secure.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("secure sign-in: status %d\n%s", rec.Code, rec.Body)
	}
	sess = nil
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-"+sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode {
		t.Errorf("secure session cookie: %v", rec.Result().Header["Set-Cookie"])
	}

	// Every page forbids scripts and framing.
	if csp := rec.Result().Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	good := c.csrf
	if good == "" {
		t.Fatal("no CSRF token on the profiles page")
	}
	for name, token := range map[string]string{"missing": "", "wrong": "bm90LXRoZS10b2tlbg", "mangled": good[:len(good)-2] + "xx"} {
		res, body := c.post("/profiles/eng/sync", url.Values{csrfField: {token}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s CSRF token: status %d, want 403", name, res.StatusCode)
		}
		wantBody(t, body, "CSRF")
	}
	// A token of another session does not work in this one.
	other := e.client()
	other.signIn(e, roster.AdminUser)
	if other.csrf == good {
		t.Fatal("two sessions share a CSRF token")
	}
	res, body := c.post("/profiles/eng/sync", url.Values{csrfField: {other.csrf}})
	wantStatus(t, res, body, http.StatusForbidden)

	// Nothing was synced by the refused posts.
	if last := e.profile("eng").Automation.LastSync; last == nil || !last.At.Equal(e.clock.Now()) {
		t.Fatalf("last sync: %+v", last)
	}
	before := e.profile("eng").Automation.LastSync.At
	e.clock.Advance(time.Minute)
	if got := e.profile("eng").Automation.LastSync.At; !got.Equal(before) {
		t.Errorf("a refused post synced the profile")
	}
	res, body = c.post("/profiles/eng/sync", url.Values{csrfField: {good}})
	wantStatus(t, res, body, http.StatusSeeOther)
	if got := e.profile("eng").Automation.LastSync.At; !got.Equal(e.clock.Now()) {
		t.Errorf("the post with the right token did not sync: last sync %v", got)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn(e, "alice")
	u, _ := url.Parse(e.srv.URL)
	stolen := c.http.Jar.Cookies(u)
	res, body := c.post("/signout", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	res, _ = c.get("/profiles")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: status %d, want a redirect to sign in", res.StatusCode)
	}
	// A copy of the old cookie is refused too.
	thief := e.client()
	thief.http.Jar.SetCookies(u, stolen)
	res, _ = thief.get("/profiles")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("old session cookie after sign-out: status %d, want a redirect to sign in", res.StatusCode)
	}
}

// TestSessionExpires checks that a session ends after the idle time without
// use, and after its lifetime however much it is used.
func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn(e, "alice")
	e.clock.Advance(engine.DefaultSessionIdle - time.Minute)
	if res, _ := c.get("/profiles"); res.StatusCode != http.StatusOK {
		t.Fatalf("session used within the idle time: status %d, want 200", res.StatusCode)
	}
	e.clock.Advance(engine.DefaultSessionIdle)
	if res, _ := c.get("/profiles"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("idle session: status %d, want a redirect to sign in", res.StatusCode)
	}
	// Used every hour, it still ends after its lifetime.
	c = e.client()
	c.signIn(e, "alice")
	for range int(engine.DefaultSessionLifetime/time.Hour) - 1 {
		e.clock.Advance(time.Hour)
		if res, _ := c.get("/profiles"); res.StatusCode != http.StatusOK {
			t.Fatalf("session in use: status %d, want 200", res.StatusCode)
		}
	}
	e.clock.Advance(time.Hour)
	if res, _ := c.get("/profiles"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("session past its lifetime: status %d, want a redirect to sign in", res.StatusCode)
	}
}

func TestForgedSessionCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "rss_" + strings.Repeat("ab", 32), Path: "/"}})
	res, _ := c.get("/profiles")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("made-up session cookie: status %d, want a redirect to sign in", res.StatusCode)
	}
}

func TestNonAdminsGet403OnAdminScreens(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	for _, user := range []string{"alice", "grace"} {
		t.Run(user, func(t *testing.T) {
			c := e.client()
			c.signIn(e, user)
			// The auditor reads Controls and Review (auditor_test.go).
			adminScreens := []string{"/new-profile"}
			if user == "alice" {
				adminScreens = append(adminScreens, "/profiles/eng/controls", "/profiles/eng/review")
			}
			for _, path := range adminScreens {
				res, body := c.get(path)
				wantStatus(t, res, body, http.StatusForbidden)
				wantBody(t, body, "only", "Only admins")
			}
			// The profile itself is readable, without the admin controls.
			res, body := c.get("/profiles/eng")
			wantStatus(t, res, body, http.StatusOK)
			hidden := []string{"Enroll users", "/new-profile", "Unenroll"}
			if user == "alice" {
				hidden = append(hidden, "/profiles/eng/controls")
			}
			for _, admin := range hidden {
				if strings.Contains(body, admin) {
					t.Errorf("%s sees %q on the profile page", user, admin)
				}
			}
			// Posting anyway: the engine refuses, and its message is shown.
			for path, msg := range map[string]string{
				"/profiles/eng/controls":     "only admins may apply declarative files",
				"/profiles/eng/entitlements": "only admins may apply declarative files",
				"/profiles/eng/sync":         "only admins may sync profiles",
				"/profiles/eng/resume":       "only admins may resume syncs",
				"/profiles/eng/enroll":       "only admins may enroll users",
				"/new-profile":               "only admins may apply declarative files",
			} {
				form := url.Values{"users": {"bob"}, "op": {"add"}, "entitlement": {"github/admin"}, "id": {"sneaky"},
					"automation_enabled": {"on"}, "any_entitlement": {"okta/employees"}, "mode": {"sync_and_act"}, "access": {"leave"}}
				res, body := c.post(path, form)
				wantStatus(t, res, body, http.StatusForbidden)
				wantBody(t, body, msg)
			}
			p := e.profile("eng")
			if p.Automation.AnyEntitlement[0] != "okta/engineering" || len(p.Entitlements) != 2 {
				t.Errorf("a refused post changed the profile: %+v", p)
			}
		})
	}
	// Screens for admins and auditors only: the engine refuses a user.
	c := e.client()
	c.signIn(e, "alice")
	for _, path := range []string{"/users", "/events", "/users/bob"} {
		res, body := c.get(path)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	res, body := c.get("/tasks?view=all")
	wantStatus(t, res, body, http.StatusForbidden)
}

func TestEveryScreenRenders(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	for _, path := range []string{
		"/profiles", "/new-profile", "/profiles/eng", "/profiles/eng/entitlements", "/profiles/eng/controls",
		"/profiles/eng/review", "/tasks", "/tasks?view=provisioning", "/tasks?view=requests", "/tasks?view=all&state=done",
		"/tasks/1", "/request", "/users", "/users/alice", "/apps", "/events", "/events?action=profile.created", "/inbox", "/tokens",
	} {
		res, body := admin.get(path)
		wantStatus(t, res, body, http.StatusOK)
	}
	res, body := admin.get("/nowhere")
	wantStatus(t, res, body, http.StatusNotFound)
	res, body = admin.get("/profiles/nope")
	wantStatus(t, res, body, http.StatusNotFound)
	wantBody(t, body, "nope")

	alice := e.client()
	alice.signIn(e, "alice")
	for _, path := range []string{"/profiles", "/profiles/eng", "/profiles/eng/entitlements", "/tasks", "/tasks?view=requests", "/request", "/users/alice", "/apps", "/inbox", "/tokens"} {
		res, body := alice.get(path)
		wantStatus(t, res, body, http.StatusOK)
	}
}

func TestSaveControlsShowsValidationErrors(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	c.get("/profiles/eng/controls")
	// Automation on with an empty rule is refused by the engine's validation.
	res, body := c.post("/profiles/eng/controls", url.Values{
		"name": {"Engineering onboarding"}, "automation_enabled": {"on"}, "mode": {"sync_and_act"}, "access": {"leave"},
		"excluded_users": {"george, nobody-here"},
	})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantBody(t, body, "names neither any_entitlement nor an expression", "nobody-here", "The declarative document the console applied")
	if p := e.profile("eng"); len(p.Automation.AnyEntitlement) != 1 {
		t.Errorf("a refused save changed the profile: %+v", p.Automation)
	}

	// The same form with a rule saves, and the notice lists the changes.
	res, body = c.post("/profiles/eng/controls", url.Values{
		"name": {"Engineering onboarding"}, "automation_enabled": {"on"}, "mode": {"sync_and_act"}, "access": {"leave"},
		"any_entitlement": {"okta/engineering", "okta/employees"}, "excluded_users": {"george"}, "safeguard": {"on"},
		"enrollment_policy": {"auto"}, "unenrollment_policy": {"auto"}, "allow_enrollment_requests": {"on"},
	})
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = c.get(res.Header.Get("Location"))
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Saved.", "updated profile eng")
	p := e.profile("eng")
	if p.Unenrollment.Access != roster.AccessLeave || len(p.Automation.AnyEntitlement) != 2 || p.Enrollment.BypassEntitlementPolicies {
		t.Errorf("saved profile: %+v", p)
	}
	if len(p.Entitlements) != 2 {
		t.Errorf("saving the controls changed the entitlements: %v", p.Entitlements)
	}
}

func TestTaskActions(t *testing.T) {
	e := newEnv(t)
	e.apply(strings.Replace(engProfile, "{policy: auto, bypass", "{policy: manager, bypass", 1))
	raj := e.client()
	raj.signIn(e, "raj")
	res, body := raj.get("/tasks")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Member of Engineering onboarding", "alice")
	page, err := e.engine.Tasks(e.as("raj"), roster.TaskFilter{Approver: "raj", User: "alice"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("raj's task for alice: %v %+v", err, page)
	}
	id := page.Items[0].ID
	path := taskURL(id)
	res, body = raj.get(path)
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Your decision", "Approve", "Deny")

	// alice cannot decide on her own enrollment: no form, and the engine refuses.
	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.get(path)
	wantStatus(t, res, body, http.StatusOK)
	if strings.Contains(body, "Your decision") {
		t.Error("alice is offered to decide on her own enrollment")
	}
	res, body = alice.post(path+"/approve", url.Values{"comment": {"me me me"}})
	wantStatus(t, res, body, http.StatusForbidden)

	res, body = raj.post(path+"/approve", url.Values{"comment": {"Welcome aboard"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	// The decision leads on to the next task waiting on raj.
	if loc := res.Header.Get("Location"); loc == path || !strings.HasPrefix(loc, "/tasks/") {
		t.Errorf("after the decision: Location %q, want the next task waiting on raj", loc)
	}
	_, body = raj.get(res.Header.Get("Location"))
	wantBody(t, body, fmt.Sprintf("Approved task %d", id), "Next: task")
	_, body = raj.get(path)
	wantBody(t, body, "Welcome aboard", "Raj Patel")
	// Denying it now is not possible, and the engine's reason is shown.
	res, body = raj.post(path+"/deny", nil)
	if res.StatusCode == http.StatusSeeOther {
		_, body = raj.get(res.Header.Get("Location"))
	}
	wantBody(t, body, "flash error")
}

func TestEnrollUnenrollAndRequest(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	admin.get("/profiles/eng")

	res, body := admin.post("/profiles/eng/enroll", url.Values{"users": {"raj, grace"}, "comment": {"leads the team"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "Started 2 enrollments.", "enroll raj")
	if p := e.profile("eng"); len(p.Members) != 6 {
		t.Fatalf("eng members after enrolling raj and grace: %+v", p.Members)
	}

	// Enrolling a member again is refused with the engine's reasons.
	res, body = admin.post("/profiles/eng/enroll", url.Values{"users": {"raj nobody"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "flash error", "nothing was done", "raj", "nobody")

	res, body = admin.post("/profiles/eng/unenroll", url.Values{"user": {"raj"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "Started the unenrollment of raj.")
	if p := e.profile("eng"); len(p.Members) != 5 {
		t.Errorf("eng members after unenrolling raj: %+v", p.Members)
	}

	// Requests: allowed on eng, refused by the engine where the profile does not allow them.
	e.apply(strings.Replace(strings.Replace(engProfile, "id: eng", "id: closed", 1), "allow_enrollment_requests: true", "allow_enrollment_requests: false", 1))
	bob := e.client()
	bob.signIn(e, "bob")
	res, body = bob.get("/request")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Member")
	if strings.Contains(body, "/request/closed") {
		t.Error("the Request access page offers a profile that does not accept requests")
	}
	res, body = bob.post("/request/closed", nil)
	wantStatus(t, res, body, http.StatusForbidden)
	wantBody(t, body, "does not accept enrollment requests")
}

// TestFormsRefuseNUL checks that a console form holding a NUL character or
// text that is not UTF-8 is refused with 422 before anything is changed.
func TestFormsRefuseNUL(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	for _, users := range []string{"alice\x00", "ali\xffce"} {
		res, body := c.post("/profiles/eng/enroll", url.Values{"users": {users}})
		wantStatus(t, res, body, http.StatusUnprocessableEntity)
		wantBody(t, body, "not allowed", "Nothing was changed")
	}
}

// TestSavingControlsKeepsTheExclusionPolicy checks that saving a profile's
// Controls, which writes the profile's whole declarative form, keeps the
// exclusion_policy the form does not show.
func TestSavingControlsKeepsTheExclusionPolicy(t *testing.T) {
	e := newEnv(t)
	e.apply(strings.Replace(engProfile, "      excluded_users: [george]\n", "      excluded_users: [george]\n      exclusion_policy: manager\n", 1))
	if p := e.profile("eng"); p.Automation.ExclusionPolicy != "manager" {
		t.Fatalf("exclusion_policy %q after apply, want manager", p.Automation.ExclusionPolicy)
	}
	c := e.client()
	c.signIn(e, roster.AdminUser)
	res, body := c.post("/profiles/eng/controls", url.Values{
		"name": {"Engineering"}, "description": {"renamed"}, "allow_enrollment_requests": {"on"},
		"enrollment_policy": {"auto"}, "unenrollment_policy": {"auto"}, "access": {"revoke_unjustified"},
		"automation_enabled": {"on"}, "mode": {"sync_and_act"}, "any_entitlement": {"okta/engineering"},
		"excluded_users": {"george"}, "safeguard": {"on"},
	})
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusOK {
		t.Fatalf("save controls: %d\n%s", res.StatusCode, body)
	}
	p := e.profile("eng")
	if p.Name != "Engineering" {
		t.Fatalf("the form was not saved: name %q", p.Name)
	}
	if p.Automation.ExclusionPolicy != "manager" {
		t.Errorf("exclusion_policy %q after saving the controls, want manager kept", p.Automation.ExclusionPolicy)
	}
}

// The audit log shows each event's hash, in full in its details.
func TestEventsShowTheirHash(t *testing.T) {
	e := newEnv(t)
	page, err := e.engine.Events(roster.NewContext(context.Background(), roster.AdminUser), roster.EventFilter{})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("events: %v %v", page, err)
	}
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/events")
	wantStatus(t, res, body, http.StatusOK)
	for _, ev := range page.Items {
		if !strings.Contains(body, "<code>"+ev.Hash+"</code>") {
			t.Fatalf("the audit log does not show event %d's hash %s", ev.ID, ev.Hash)
		}
	}
}

// TestEventsShowTokenAndIssuer checks that the audit log page names the
// token an action was taken with and who issued it, when another person.
func TestEventsShowTokenAndIssuer(t *testing.T) {
	e := newEnv(t)
	tok, err := e.engine.CreateToken(e.as(roster.AdminUser), roster.TokenRequest{User: "raj", Name: "service"})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["raj"] = tok.Token
	e.client().signIn(e, "raj")
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/events?action=user.signed_in&actor=raj")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "token <code>"+tok.ID+"</code>, issued by admin")
}

// TestMembersArePaged: the Members tab shows a page of members at a time
// with their range and the total, and links onwards and back.
func TestMembersArePaged(t *testing.T) {
	e := newEnv(t)
	var doc strings.Builder
	doc.WriteString("users:\n")
	for i := range 130 {
		fmt.Fprintf(&doc, "  - {id: m%03d, email: m%03d@example.org}\n", i, i)
	}
	doc.WriteString("grants:\n")
	for i := range 130 {
		fmt.Fprintf(&doc, "  - {user: m%03d, entitlement: okta/everyone}\n", i)
	}
	doc.WriteString(`apps:
  - id: okta
    entitlements: [{id: everyone, request_policy: auto, revoke_policy: auto}]
profiles:
  - id: all
    enrollment: {policy: auto}
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [okta/everyone]}
`)
	e.apply(doc.String())
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/all")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "1–100 of 130", "m000", "m099", `id="members-next"`)
	if strings.Contains(body, "m100") || strings.Contains(body, `id="members-first"`) {
		t.Fatalf("the first page shows more than 100 members or a link back to itself")
	}
	next := regexp.MustCompile(`href="([^"]+)" id="members-next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no link to the next page")
	}
	res, body = admin.get(html.UnescapeString(next[1]))
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "101–130 of 130", "m100", "m129", `id="members-first"`)
	if strings.Contains(body, "m099") || strings.Contains(body, `id="members-next"`) {
		t.Fatalf("the last page repeats a member or links onwards")
	}
}

// TestSaveControlsExpression: the Controls form's expression field saves a
// rule on attributes, and an expression that does not type-check is refused
// with the problem named, changing nothing.
func TestSaveControlsExpression(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	res, body := c.get("/profiles/eng/controls")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `name="expression"`)
	form := func(expr string) url.Values {
		return url.Values{
			"name": {"Engineering onboarding"}, "automation_enabled": {"on"}, "mode": {"sync_and_act"}, "access": {"leave"},
			"any_entitlement": {"okta/engineering"}, "expression": {expr}, "excluded_users": {"george"}, "safeguard": {"on"},
			"enrollment_policy": {"auto"}, "unenrollment_policy": {"auto"},
		}
	}
	res, body = c.post("/profiles/eng/controls", form(`user.departmnt == "Engineering"`))
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantBody(t, body, `user has no field "departmnt"`, "The declarative document the console applied")
	if p := e.profile("eng"); p.Automation.Expression != "" {
		t.Errorf("a refused save set the expression: %q", p.Automation.Expression)
	}

	res, body = c.post("/profiles/eng/controls", form(`user.department == "Engineering"`))
	wantStatus(t, res, body, http.StatusSeeOther)
	if p := e.profile("eng"); p.Automation.Expression != `user.department == "Engineering"` || len(p.Automation.AnyEntitlement) != 1 {
		t.Errorf("saved automation: %+v", p.Automation)
	}
	res, body = c.get("/profiles/eng/controls")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `user.department == "Engineering"</textarea>`)
}
