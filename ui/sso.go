package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/rosterhq/roster"
	"golang.org/x/oauth2"
)

// Single sign-on with OpenID Connect: the authorization code flow with PKCE.
//
// GET /auth/oidc/login starts it: it sets a short-lived signed cookie that
// holds the flow's state, nonce and PKCE verifier and where to go after, and
// sends the browser to the provider. The provider sends it back to GET
// /auth/oidc/callback, which takes the cookie (once: it is dropped, and its
// state refused from then on), checks that the state the provider returns is
// the cookie's, redeems the code with the verifier, verifies the ID token
// (signature, issuer, audience, expiry: go-oidc) and its nonce, and asks the
// engine which active user its verified email names. That user's session
// starts as with an API token. Every refusal is shown on the sign-in page.
//
// The flow cookie binds the flow to the browser that started it: a callback
// in another browser, or a forged or replayed state, finds no cookie or one
// that does not match. It is SameSite=Lax, because the provider's redirect
// back is a cross-site navigation, which a Strict cookie would not follow.
// For the same reason the callback does not redirect to the page it leads to:
// a Strict session cookie is not sent on a redirect chain that began on
// another site, so it answers a page that refreshes to it, a navigation this
// site starts.

// SSOConfig is the OpenID Connect provider the console signs people in with.
type SSOConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// on the first sign-in (and again after a failure), so a provider that
	// is down does not stop the server from starting.
	Issuer string
	// ClientID and ClientSecret are the console's registration at the
	// provider.
	ClientID     string
	ClientSecret string
	// RedirectURL is where the provider returns: <base URL>/auth/oidc/callback,
	// registered at the provider as is.
	RedirectURL string
	// SignIn starts a console session for the active user the provider
	// vouched for by their email, or returns an EUNAUTHORIZED error that
	// says why not; it records the outcome. The engine's SignIn. Required.
	SignIn func(ctx context.Context, email string, verified bool) (*roster.NewSession, error)
	// HTTPClient talks to the provider. Nil: a client with a 15-second
	// timeout.
	HTTPClient *http.Client
}

// ssoScopes are the scopes the console asks the provider for: the email
// claim names the user.
var ssoScopes = []string{oidc.ScopeOpenID, "email", "profile"}

// ssoFlowLifetime is how long a person has to sign in at the provider.
const ssoFlowLifetime = 10 * time.Minute

// maxSSONext is the longest path a sign-in returns to: the flow cookie must
// stay under the 4 KiB browsers keep.
const maxSSONext = 1024

// ssoCookie names the cookie of a sign-in in progress.
const ssoCookie = "roster_oidc"

// sso is the console's side of single sign-on.
type sso struct {
	cfg    SSOConfig
	client *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	used     map[string]time.Time // states already taken, until their flow expires
	pruned   time.Time
}

func newSSO(cfg SSOConfig) (*sso, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("ui: SSOConfig.Issuer is required")
	case cfg.ClientID == "":
		return nil, errors.New("ui: SSOConfig.ClientID is required")
	case cfg.RedirectURL == "":
		return nil, errors.New("ui: SSOConfig.RedirectURL is required")
	case cfg.SignIn == nil:
		return nil, errors.New("ui: SSOConfig.SignIn is required")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &sso{cfg: cfg, client: client, used: map[string]time.Time{}}, nil
}

// context returns ctx carrying the client that talks to the provider.
func (s *sso) context(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.client)
}

// discover reads the provider's discovery document once it answers, and
// returns the OAuth 2.0 configuration and the ID token verifier.
func (s *sso) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		return s.oauth, s.verifier, nil
	}
	p, err := oidc.NewProvider(s.context(ctx), s.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover the SSO provider %s: %w", s.cfg.Issuer, err)
	}
	s.oauth = &oauth2.Config{
		ClientID:     s.cfg.ClientID,
		ClientSecret: s.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  s.cfg.RedirectURL,
		Scopes:       ssoScopes,
	}
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID})
	return s.oauth, s.verifier, nil
}

// take marks a flow's state used, and reports whether it was not already.
func (s *sso) take(state string, expires, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.pruned) > time.Minute {
		for st, exp := range s.used {
			if now.After(exp) {
				delete(s.used, st)
			}
		}
		s.pruned = now
	}
	if _, ok := s.used[state]; ok {
		return false
	}
	s.used[state] = expires
	return true
}

// ssoFlow is a sign-in in progress, as its cookie holds it.
type ssoFlow struct {
	state, nonce, verifier string
	next                   string
	expires                time.Time
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ssoFlowCookie returns the cookie of a sign-in in progress: the console's
// attributes, but SameSite=Lax so that it comes back with the provider's
// redirect.
func (u *UI) ssoFlowCookie(value string, maxAge int) *http.Cookie {
	c := u.sessions.cookie(ssoCookie, value, maxAge)
	c.SameSite = http.SameSiteLaxMode
	return c
}

// startSSO sends the browser to the provider (GET /auth/oidc/login).
func (u *UI) startSSO(w http.ResponseWriter, r *http.Request, v *visit) {
	next := localPath(r.URL.Query().Get("next"))
	if len(next) > maxSSONext {
		next = localPath("")
	}
	if v.me != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	oauth, _, err := u.sso.discover(ctx)
	if err != nil {
		u.logger.ErrorContext(r.Context(), "ui: SSO sign-in", "error", clip(err.Error(), outsideErrorMax))
		u.renderSignIn(w, r, v, http.StatusBadGateway, next, &errorView{Title: "SSO unavailable",
			Message: "The SSO provider could not be reached. Try again later, or sign in with an API token."})
		return
	}
	f := ssoFlow{state: randomToken(), nonce: randomToken(), verifier: oauth2.GenerateVerifier(), next: next,
		expires: u.now().Add(ssoFlowLifetime).Truncate(time.Second)}
	payload := strings.Join([]string{f.state, f.nonce, f.verifier, strconv.FormatInt(f.expires.Unix(), 10), f.next}, "|")
	http.SetCookie(w, u.ssoFlowCookie(u.sessions.sign("oidc", payload), int(ssoFlowLifetime/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oauth.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)), http.StatusFound)
}

// takeSSOFlow reads and drops the flow cookie, and returns the flow whose
// state the provider returned, or why there is none.
func (u *UI) takeSSOFlow(w http.ResponseWriter, r *http.Request, state string) (*ssoFlow, string) {
	const restart = " Sign in again."
	c, err := r.Cookie(u.sessions.cookieName(ssoCookie))
	if err != nil || c.Value == "" {
		return nil, "This browser has no SSO sign-in in progress: it expired, was already completed, or was started in another browser." + restart
	}
	http.SetCookie(w, u.ssoFlowCookie("", -1))
	payload, ok := u.sessions.verify("oidc", c.Value)
	parts := strings.SplitN(payload, "|", 5)
	if !ok || len(parts) != 5 {
		return nil, "The SSO sign-in's cookie is not valid." + restart
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return nil, "The SSO sign-in's cookie is not valid." + restart
	}
	f := &ssoFlow{state: parts[0], nonce: parts[1], verifier: parts[2], expires: time.Unix(exp, 0), next: localPath(parts[4])}
	if !u.now().Before(f.expires) {
		return f, "The SSO sign-in took too long and expired." + restart
	}
	if state == "" || !hmac.Equal([]byte(state), []byte(f.state)) {
		return f, "The provider's answer does not belong to the SSO sign-in this browser started (its state does not match)." + restart
	}
	if !u.sso.take(f.state, f.expires, u.now()) {
		return f, "This SSO sign-in was already used." + restart
	}
	return f, ""
}

// ssoClaims are the ID token's claims the console reads.
type ssoClaims struct {
	Email    string     `json:"email"`
	Verified *claimBool `json:"email_verified"`
	// DomainVerified is Entra ID's xms_edov optional claim: the email's
	// domain is one the user's tenant has proven it owns. Entra ID never
	// sends email_verified for work accounts.
	DomainVerified *claimBool `json:"xms_edov"`
}

// verified reports whether the provider vouches for the email: its
// email_verified claim, or, when it sends none, Entra ID's xms_edov.
func (c *ssoClaims) verified() bool {
	switch {
	case c.Verified != nil:
		return bool(*c.Verified)
	case c.DomainVerified != nil:
		return bool(*c.DomainVerified)
	}
	return false
}

// claimBool is a boolean claim; a few providers send it as a string.
type claimBool bool

// UnmarshalJSON reads true, false, "true" and "false"; anything else is
// false.
func (b *claimBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = claimBool(v)
	case string:
		*b = claimBool(strings.EqualFold(v, "true"))
	default:
		*b = false
	}
	return nil
}

// signedInData is the page that follows an SSO sign-in.
type signedInData struct {
	Next string
}

// finishSSO completes a sign-in when the provider returns
// (GET /auth/oidc/callback).
func (u *UI) finishSSO(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	f, problem := u.takeSSOFlow(w, r, q.Get("state"))
	next := localPath("")
	if f != nil {
		next = f.next
	}
	refuse := func(status int, msg string) {
		u.renderSignIn(w, r, v, status, next, &errorView{Title: "SSO sign-in refused", Message: msg})
	}
	if problem != "" {
		u.logger.WarnContext(r.Context(), "ui: SSO callback refused", "reason", problem)
		refuse(http.StatusForbidden, problem)
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "The SSO provider did not sign you in (" + clip(e, 100)
		if d := q.Get("error_description"); d != "" {
			msg += ": " + clip(d, 300)
		}
		refuse(http.StatusUnauthorized, msg+").")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	oauth, verifier, err := u.sso.discover(ctx)
	if err != nil {
		u.logger.ErrorContext(r.Context(), "ui: SSO sign-in", "error", clip(err.Error(), outsideErrorMax))
		refuse(http.StatusBadGateway, "The SSO provider could not be reached. Try again later, or sign in with an API token.")
		return
	}
	tok, err := oauth.Exchange(u.sso.context(ctx), q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		u.logger.WarnContext(r.Context(), "ui: SSO code exchange", "error", clip(err.Error(), outsideErrorMax))
		refuse(http.StatusBadGateway, "The SSO provider did not accept the sign-in's code. Sign in again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusBadGateway, "The SSO provider sent no ID token. Is the openid scope allowed for Roster?")
		return
	}
	idt, err := verifier.Verify(u.sso.context(ctx), raw)
	if err != nil {
		u.logger.WarnContext(r.Context(), "ui: SSO ID token", "error", clip(err.Error(), outsideErrorMax))
		refuse(http.StatusUnauthorized, "The SSO provider's ID token is not valid.")
		return
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(f.nonce)) {
		refuse(http.StatusUnauthorized, "The SSO provider's ID token does not belong to this sign-in (its nonce does not match). Sign in again.")
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			refuse(http.StatusUnauthorized, "The SSO provider's ID token does not match its access token.")
			return
		}
	}
	var claims ssoClaims
	if err := idt.Claims(&claims); err != nil {
		refuse(http.StatusUnauthorized, "The SSO provider's ID token could not be read.")
		return
	}
	ns, err := u.sso.cfg.SignIn(r.Context(), claims.Email, claims.verified())
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
			refuse(http.StatusForbidden, roster.ErrorMessage(err)+".")
			return
		}
		e := u.errorFor(r, err)
		u.renderSignIn(w, r, v, e.Status, next, e)
		return
	}
	u.sessions.drop(r.Context(), v.sess) // a new sign-in replaces any session
	u.sessions.start(w, ns)
	http.SetCookie(w, u.sessions.cookie(signinCookie, "", -1))
	// A page that moves on by itself rather than a redirect: see above.
	w.Header().Set("Refresh", "0; url="+next)
	u.render(w, r, &visit{ctx: v.ctx}, http.StatusOK, "signedin", "Signed in", "", signedInData{Next: next}, nil)
}

// clip cuts s to n bytes of valid UTF-8.
// outsideErrorMax is how much of an error from the SSO provider is logged:
// its answers may be long, and are cut (SPEC: errors from outside systems).
const outsideErrorMax = 500

func clip(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
