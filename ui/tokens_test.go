package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

var newTokenValue = regexp.MustCompile(`id="new-token-value" class="secret" value="([^"]+)"`)

// api calls GET path of the API with a bearer token and returns the status.
func (e *env) api(token, path string) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestMyTokens: a signed-in person lists their tokens, creates one whose
// value is shown once, and revokes their own — never someone else's.
func TestMyTokens(t *testing.T) {
	e := newEnv(t)
	alice := e.client()
	alice.signIn(e, "alice")
	mine, err := e.engine.Tokens(e.as("alice"), "")
	if err != nil || len(mine) != 1 {
		t.Fatalf("alice's tokens: %v %+v", err, mine)
	}
	signedInWith := mine[0].ID

	res, body := alice.get("/tokens")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "My tokens", signedInWith, "this session", "You signed in with it: revoking it signs you out.", "Create token")

	// Create one that expires in 30 days: its value is shown once.
	e.clock.Advance(time.Hour)
	res, body = alice.post("/tokens", url.Values{"name": {"laptop CLI"}, "expires": {"30d"}})
	wantStatus(t, res, body, http.StatusOK)
	m := newTokenValue.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the new token's value is not shown:\n%s", body)
	}
	secret := m[1]
	wantBody(t, body, "shown only this once", "laptop CLI", "It expires <time", "2026-04-01 10:00 UTC</time> <span class=\"ago\">(in 30 days)")
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the secret may be cached: Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	for _, c := range res.Cookies() {
		if strings.Contains(c.Value, secret) {
			t.Errorf("the secret is in cookie %s", c.Name)
		}
	}
	if got := e.api(secret, "/api/v1/me"); got != http.StatusOK {
		t.Fatalf("the new token: status %d from the API, want 200", got)
	}
	mine, _ = e.engine.Tokens(e.as("alice"), "")
	var created roster.Token
	for _, tok := range mine {
		if tok.Name == "laptop CLI" {
			created = tok
		}
	}
	if created.ID == "" || created.User != "alice" || created.ExpiresAt == nil || !created.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("created token %+v, want alice's, expiring in 30 days", created)
	}
	// The list shows it, with its last use, and never the secret again.
	e.clock.Advance(time.Hour)
	e.api(secret, "/api/v1/me")
	_, body = alice.get("/tokens")
	wantBody(t, body, created.ID, "laptop CLI", "2026-04-01 10:00 UTC", "2026-03-02 11:00 UTC")
	if strings.Contains(body, secret) {
		t.Error("the token's value is shown again")
	}

	// Bad input changes nothing, and says what is wrong.
	for _, form := range []url.Values{
		{"name": {"x"}, "expires": {"10y"}},
		{"name": {strings.Repeat("n", 101)}, "expires": {"30d"}},
	} {
		res, body := alice.post("/tokens", form)
		wantStatus(t, res, body, http.StatusUnprocessableEntity)
		wantBody(t, body, "flash error")
	}
	if after, _ := e.engine.Tokens(e.as("alice"), ""); len(after) != 2 {
		t.Errorf("refused forms created tokens: %+v", after)
	}

	// She revokes it: the API refuses it after.
	res, body = alice.post("/tokens/"+created.ID+"/revoke", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = alice.get(res.Header.Get("Location"))
	wantBody(t, body, "Revoked token "+created.ID, "revoked")
	if got := e.api(secret, "/api/v1/me"); got != http.StatusUnauthorized {
		t.Errorf("the revoked token: status %d from the API, want 401", got)
	}

	// Someone else's token is refused, and without the CSRF token nothing happens.
	admins, _ := e.engine.Tokens(e.as(roster.AdminUser), roster.AdminUser)
	res, body = alice.post("/tokens/"+admins[0].ID+"/revoke", nil)
	wantStatus(t, res, body, http.StatusForbidden)
	wantBody(t, body, "is not yours")
	res, body = alice.post("/tokens", url.Values{"name": {"sneaky"}, "expires": {"30d"}, csrfField: {"forged"}})
	wantStatus(t, res, body, http.StatusForbidden)
	if got := e.api(adminToken, "/api/v1/me"); got != http.StatusOK {
		t.Errorf("the admin's token stopped working: %d", got)
	}

	// Revoking the token this session signed in with signs her out.
	alice.get("/tokens")
	res, body = alice.post("/tokens/"+signedInWith+"/revoke", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	res, _ = alice.get("/tokens")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Errorf("after revoking the session's token: status %d to %q, want a redirect to sign in", res.StatusCode, res.Header.Get("Location"))
	}
}
