package ui

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The SSO tests sign in through a real OpenID provider: zitadel's OP
// (github.com/zitadel/oidc/v3/pkg/op) as its example server sets it up, over
// its example in-memory storage, on a free port. Its login step is a form at
// /login/username (fields username and password) that the tests fill in, in
// Chromium or with an HTTP client.
//
// Its issuer is http://localhost:PORT while the console is served at
// http://127.0.0.1:PORT, so that the provider's redirect back to the console
// is a cross-site navigation, as it is in production: the browser then
// withholds SameSite=Strict cookies, which the flow must not depend on.

// ssoClientID and ssoClientSecret are the console's registration at the
// test provider.
const (
	ssoClientID     = "roster-console"
	ssoClientSecret = "roster-console-secret"
	// ssoPassword is every provider user's password.
	ssoPassword = "correct horse"
)

// ssoUsers are the people the test provider knows, by username.
var ssoUsers = []*storage.User{
	{ID: "p-alice", Username: "alice", Password: ssoPassword, Email: "alice@example.com", EmailVerified: true, FirstName: "Alice", LastName: "Chen"},
	{ID: "p-george", Username: "george", Password: ssoPassword, Email: "george@example.com", EmailVerified: true, FirstName: "George", LastName: "Okoro"},
	{ID: "p-mallory", Username: "mallory", Password: ssoPassword, Email: "mallory@example.com", EmailVerified: true, FirstName: "Mallory", LastName: "Unknown"},
	// The provider does not vouch for this account's email, which is Alice's.
	{ID: "p-unverified", Username: "unverified", Password: ssoPassword, Email: "alice@example.com", EmailVerified: false, FirstName: "Not", LastName: "Alice"},
}

// ssoUserStore is the test provider's user store.
type ssoUserStore struct{ users []*storage.User }

func (s ssoUserStore) GetUserByID(id string) *storage.User {
	for _, u := range s.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (s ssoUserStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s ssoUserStore) ExampleClientID() string { return storage.ServiceUserID }

// ssoStorage is the example storage whose clients get the profile and email
// claims in the ID token itself, as Okta, Entra ID, Google and Keycloak put
// them; the example's clients would leave them to the userinfo endpoint.
type ssoStorage struct{ *storage.Storage }

func (s ssoStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

// claimsInIDToken is a client that asks for the userinfo claims in the ID
// token.
type claimsInIDToken struct{ op.Client }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

// ssoProvider is a running test provider.
type ssoProvider struct {
	issuer      string
	redirectURI string

	mu sync.Mutex
	// callback is the last redirect to the console's callback it answered.
	callback string
}

// lastCallback returns the address of the provider's last redirect to the
// console's callback.
func (p *ssoProvider) lastCallback() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.callback
}

// recordCallbacks notes every redirect the provider answers to the
// console's callback.
func (p *ssoProvider) recordCallbacks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(callbackRecorder{w, p}, r)
	})
}

type callbackRecorder struct {
	http.ResponseWriter
	p *ssoProvider
}

func (c callbackRecorder) WriteHeader(code int) {
	if loc := c.Header().Get("Location"); strings.HasPrefix(loc, c.p.redirectURI+"?") {
		c.p.mu.Lock()
		c.p.callback = loc
		c.p.mu.Unlock()
	}
	c.ResponseWriter.WriteHeader(code)
}

// newSSOProvider starts a provider that knows ssoUsers and the console as a
// client returning to redirectURI.
func newSSOProvider(t *testing.T, redirectURI string) *ssoProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://localhost:" + portOf(ln.Addr())
	clients := map[string]*storage.Client{ssoClientID: storage.WebClient(ssoClientID, ssoClientSecret, redirectURI)}
	st := ssoStorage{storage.NewStorageWithClients(ssoUserStore{users: ssoUsers}, clients)}
	p := &ssoProvider{issuer: issuer, redirectURI: redirectURI}
	srv := &http.Server{Handler: p.recordCallbacks(exampleop.SetupServer(issuer, st, nil, false))}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
	t.Cleanup(func() { srv.Close() })
	return p
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// withSSO is an envOption that signs people in through a new test provider;
// provider, when not nil, is set to it.
func withSSO(t *testing.T, provider **ssoProvider) envOption {
	return func(cfg *Config, base string) {
		p := newSSOProvider(t, base+"/auth/oidc/callback")
		if provider != nil {
			*provider = p
		}
		signIn := cfg.Service.(interface {
			SignIn(ctx context.Context, email string, verified bool) (*roster.NewSession, error)
		}).SignIn
		cfg.SSO = &SSOConfig{Issuer: p.issuer, ClientID: ssoClientID, ClientSecret: ssoClientSecret,
			RedirectURL: base + "/auth/oidc/callback", SignIn: signIn}
	}
}
