package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/testenv"
)

// ssoClient is a browser without a browser: an HTTP client with its own
// cookies that follows redirects, except into the console's SSO callback
// when asked to stop there.
type ssoClient struct {
	t   *testing.T
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
	// stopAtCallback leaves the provider's redirect to the callback
	// unfollowed, so a test can tamper with it or replay it.
	stopAtCallback bool
}

func newSSOClient(t *testing.T, e *env) *ssoClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &ssoClient{t: t, e: e, jar: jar}
	s.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if s.stopAtCallback && req.URL.Path == "/auth/oidc/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return s
}

// get fetches url and returns the response with its body read.
func (s *ssoClient) get(u string) (*http.Response, string) {
	s.t.Helper()
	resp, err := s.c.Get(u)
	if err != nil {
		s.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, string(b)
}

// login starts an SSO sign-in at the console's /auth/oidc/login?next=next
// and signs in at the provider as username. It returns the last response:
// the console's answer to the callback, or, with stopAtCallback, the
// provider's redirect to it.
func (s *ssoClient) login(next, username string) (*http.Response, string) {
	s.t.Helper()
	resp, body := s.get(s.e.srv.URL + "/auth/oidc/login?next=" + url.QueryEscape(next))
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/username" {
		s.t.Fatalf("the SSO link led to %s (%d), want the provider's login form:\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	form := url.Values{"id": {id}, "username": {username}, "password": {ssoPassword}}
	resp, err := s.c.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/login/username", form)
	if err != nil {
		s.t.Fatalf("sign in at the provider: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// cookie returns the console's cookie name, or nil.
func (s *ssoClient) cookie(name string) *http.Cookie {
	u, _ := url.Parse(s.e.srv.URL)
	for _, c := range s.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// lastEvent returns the last audit event.
func (e *env) lastEvent() roster.Event {
	e.t.Helper()
	var last roster.Event
	f := roster.EventFilter{Limit: roster.MaxPageSize}
	for {
		page, err := e.engine.Events(e.as(roster.AdminUser), f)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page.Items) > 0 {
			last = page.Items[len(page.Items)-1]
		}
		if page.NextCursor == "" {
			return last
		}
		f.Cursor = page.NextCursor
	}
}

func TestSSOSignIn(t *testing.T) {
	e := newEnv(t, withSSO(t, nil))
	c := newSSOClient(t, e)

	// The sign-in page offers SSO, keeping next.
	_, body := c.get(e.srv.URL + "/signin?next=/tasks")
	if !strings.Contains(body, `href="/auth/oidc/login?next=%2ftasks"`) {
		t.Errorf("the sign-in page has no SSO link that keeps next:\n%s", body)
	}

	resp, body := c.login("/tasks", "alice")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/auth/oidc/callback" || !strings.Contains(body, "You are signed in") {
		t.Fatalf("after the provider: %s (%d)\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	if got := resp.Header.Get("Refresh"); got != "0; url=/tasks" {
		t.Errorf("the signed-in page refreshes with %q, want to /tasks", got)
	}
	if c.cookie(ssoCookie) != nil {
		t.Error("the flow cookie outlived its callback")
	}
	_, body = c.get(e.srv.URL + "/tasks")
	if !strings.Contains(body, "Alice Chen") {
		t.Errorf("after SSO, /tasks does not show Alice signed in:\n%s", body)
	}
	if ev := e.lastEvent(); ev.Action != roster.ActionUserSignedIn || ev.Actor != "alice" || ev.ObjectID != "alice" {
		t.Errorf("last event %+v, want user.signed_in by alice", ev)
	}

	// next is the console's own, and short enough for the flow's cookie:
	// otherwise it is home.
	for _, next := range []string{"//evil.example/x", "/tasks?q=" + strings.Repeat("x", 2000)} {
		c2 := newSSOClient(t, e)
		resp, _ = c2.login(next, "alice")
		if got := resp.Header.Get("Refresh"); got != "0; url=/" {
			t.Errorf("with next %.40s, the signed-in page refreshes with %q, want to /", next, got)
		}
	}
}

func TestSSOFlowCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, withSSO(t, nil), func(cfg *Config, _ string) { cfg.Secure = secure })
		c := newSSOClient(t, e)
		c.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, _ := c.get(e.srv.URL + "/auth/oidc/login")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		if resp.StatusCode != http.StatusFound || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("client_id") != ssoClientID || q.Get("scope") != "openid email profile" ||
			q.Get("redirect_uri") != e.srv.URL+"/auth/oidc/callback" {
			t.Errorf("/auth/oidc/login answered %d to %s", resp.StatusCode, loc)
		}
		var flow *http.Cookie
		for _, ck := range resp.Cookies() {
			if strings.HasSuffix(ck.Name, ssoCookie) {
				flow = ck
			}
		}
		want := ssoCookie
		if secure {
			want = "__Host-" + ssoCookie
		}
		if flow == nil || flow.Name != want || flow.SameSite != http.SameSiteLaxMode || !flow.HttpOnly || flow.Secure != secure ||
			flow.Path != "/" || flow.MaxAge != 600 || strings.Contains(flow.Value, q.Get("code_challenge")) {
			t.Errorf("secure %v: flow cookie %v, want %s, SameSite=Lax, HttpOnly, Secure %v, Path=/, Max-Age=600", secure, flow, want, secure)
		}
	}
}

func TestSSORefusals(t *testing.T) {
	e := newEnv(t, withSSO(t, nil))
	e.apply(`
users:
  - {id: george, email: george@example.com, name: George Okoro, manager: raj, department: Engineering, title: Contractor, status: disabled}
`)

	// The engine's refusals, with the reason on the sign-in page, audited.
	for _, tc := range []struct {
		username string
		reason   string
		object   string
	}{
		{"george", "user george (george@example.com) is disabled", "george"},
		{"mallory", "no Roster user has the email address mallory@example.com", ""},
		{"unverified", "the SSO provider has not verified the email address alice@example.com", ""},
	} {
		c := newSSOClient(t, e)
		resp, body := c.login("/tasks", tc.username)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "SSO sign-in refused") || !strings.Contains(body, tc.reason) ||
			!strings.Contains(body, `id="sso"`) || !strings.Contains(body, `name="next" value="/tasks"`) {
			t.Errorf("%s: callback answered %d, want 403 with %q on the sign-in page:\n%s", tc.username, resp.StatusCode, tc.reason, body)
		}
		if c.cookie(sessionCookie) != nil {
			t.Errorf("%s: refused, yet given a session", tc.username)
		}
		if ev := e.lastEvent(); ev.Action != roster.ActionSignInRefused || ev.ObjectID != tc.object || !strings.Contains(ev.Reason, tc.reason) {
			t.Errorf("%s: last event %+v, want user.sign_in_refused about %q: %s", tc.username, ev, tc.object, tc.reason)
		}
	}

	// A callback this browser did not start, with a forged state, a
	// replayed one, or after the provider refused.
	c := newSSOClient(t, e)
	c.stopAtCallback = true
	resp, _ := c.login("/tasks", "alice")
	callback := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(callback, e.srv.URL+"/auth/oidc/callback?") {
		t.Fatalf("the provider answered %d to %q, want a redirect to the callback", resp.StatusCode, callback)
	}
	cb, _ := url.Parse(callback)
	forged := *cb
	q := forged.Query()
	q.Set("state", "forged-state")
	forged.RawQuery = q.Encode()

	stranger := newSSOClient(t, e)
	expectRefused := func(who *ssoClient, u, want string) {
		t.Helper()
		resp, body := who.get(u)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, want) || who.cookie(sessionCookie) != nil {
			t.Errorf("GET %s answered %d, want 403 saying %q and no session:\n%s", u, resp.StatusCode, want, body)
		}
	}
	expectRefused(stranger, callback, "no SSO sign-in in progress")
	expectRefused(c, forged.String(), "its state does not match")
	// The forged callback used up the flow: the real one is refused too.
	expectRefused(c, callback, "no SSO sign-in in progress")

	// A copy of the flow cookie is good for one callback only.
	c = newSSOClient(t, e)
	c.stopAtCallback = true
	resp, _ = c.login("/tasks", "alice")
	callback = resp.Header.Get("Location")
	flow := c.cookie(ssoCookie)
	c.stopAtCallback = false
	if resp, body := c.get(callback); resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed in") {
		t.Fatalf("the callback answered %d:\n%s", resp.StatusCode, body)
	}
	replay := newSSOClient(t, e)
	u, _ := url.Parse(e.srv.URL)
	replay.jar.SetCookies(u, []*http.Cookie{flow})
	expectRefused(replay, callback, "already used")

	// A code the provider issued to another browser's flow, injected into
	// this browser's callback with this browser's state, is refused: its
	// PKCE challenge is not this flow's.
	victim, attacker := newSSOClient(t, e), newSSOClient(t, e)
	victim.stopAtCallback, attacker.stopAtCallback = true, true
	resp, _ = victim.login("/tasks", "alice")
	mine, _ := url.Parse(resp.Header.Get("Location"))
	resp, _ = attacker.login("/tasks", "mallory")
	theirs, _ := url.Parse(resp.Header.Get("Location"))
	q = url.Values{"state": {mine.Query().Get("state")}, "code": {theirs.Query().Get("code")}}
	resp, body := victim.get(e.srv.URL + "/auth/oidc/callback?" + q.Encode())
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "did not accept the sign-in&#39;s code") || victim.cookie(sessionCookie) != nil {
		t.Errorf("an injected code answered %d, want 502 and no session:\n%s", resp.StatusCode, body)
	}

	// The provider's own refusal is shown.
	c = newSSOClient(t, e)
	c.stopAtCallback = true
	resp, _ = c.login("/tasks", "alice")
	cb, _ = url.Parse(resp.Header.Get("Location"))
	q = url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"the person cancelled"}}
	resp, body = c.get(e.srv.URL + "/auth/oidc/callback?" + q.Encode())
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "access_denied: the person cancelled") {
		t.Errorf("the provider's error answered %d:\n%s", resp.StatusCode, body)
	}
}

func TestSSOUnavailable(t *testing.T) {
	e := newEnv(t, func(cfg *Config, base string) {
		cfg.SSO = &SSOConfig{Issuer: "http://127.0.0.1:1", ClientID: "x", ClientSecret: "y", RedirectURL: base + "/auth/oidc/callback",
			SignIn: func(context.Context, string, bool) (*roster.NewSession, error) { return nil, errors.New("not reached") }}
	})
	c := newSSOClient(t, e)
	resp, body := c.get(e.srv.URL + "/auth/oidc/login?next=/tasks")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "The SSO provider could not be reached") || !strings.Contains(body, `id="token"`) {
		t.Errorf("with the provider down, /auth/oidc/login answered %d:\n%s", resp.StatusCode, body)
	}
	// Without SSO, there is neither the link nor the routes.
	plain := newEnv(t)
	c = newSSOClient(t, plain)
	if _, body := c.get(plain.srv.URL + "/signin"); strings.Contains(body, "Sign in with SSO") {
		t.Error("the sign-in page offers SSO without a provider")
	}
	if resp, _ := c.get(plain.srv.URL + "/auth/oidc/login"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/auth/oidc/login without SSO answered %d, want 404", resp.StatusCode)
	}
}

// TestSSOClaims checks which ID token claims vouch for the email.
func TestSSOClaims(t *testing.T) {
	for _, tc := range []struct {
		claims string
		want   bool
	}{
		{`{"email":"a@example.com","email_verified":true}`, true},
		{`{"email":"a@example.com","email_verified":false}`, false},
		{`{"email":"a@example.com","email_verified":"true"}`, true},
		{`{"email":"a@example.com","email_verified":"False"}`, false},
		{`{"email":"a@example.com","email_verified":1}`, false},
		{`{"email":"a@example.com"}`, false},
		{`{"email":"a@example.com","xms_edov":true}`, true},
		{`{"email":"a@example.com","xms_edov":false}`, false},
		{`{"email":"a@example.com","email_verified":false,"xms_edov":true}`, false},
	} {
		var c ssoClaims
		if err := json.Unmarshal([]byte(tc.claims), &c); err != nil {
			t.Fatalf("%s: %v", tc.claims, err)
		}
		if got := c.verified(); got != tc.want {
			t.Errorf("%s: verified %v, want %v", tc.claims, got, tc.want)
		}
	}
}

// TestSSOErrorsLoggedCut: what an SSO provider answers is cut to 500
// characters in the log too (SPEC: errors from outside systems), however
// long the provider's answer.
func TestSSOErrorsLoggedCut(t *testing.T) {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 20000), http.StatusInternalServerError)
	}))
	defer provider.Close()
	var logs testenv.Buffer
	e := newEnv(t, func(cfg *Config, base string) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		cfg.SSO = &SSOConfig{Issuer: provider.URL, ClientID: "x", ClientSecret: "y", RedirectURL: base + "/auth/oidc/callback",
			SignIn: func(context.Context, string, bool) (*roster.NewSession, error) { return nil, errors.New("not reached") }}
	})
	c := newSSOClient(t, e)
	if resp, _ := c.get(e.srv.URL + "/auth/oidc/login?next=/tasks"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("with the provider failing, /auth/oidc/login answered %d, want 502", resp.StatusCode)
	}
	out := logs.String()
	if !strings.Contains(out, "SSO sign-in") || !strings.Contains(out, "xxxx") {
		t.Fatalf("the provider's failure was not logged with its answer:\n%.2000s", out)
	}
	if n := strings.Count(out, "x"); n > 600 {
		t.Errorf("the log holds %d characters of the provider's answer, want it cut to 500:\n%.2000s", n, out)
	}
}
