package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/sqlite"
)

// adminToken is the bootstrap token of every test tenant.
const adminToken = "ui-test-admin-token"

// org is the organisation the tests start from: people, apps and policies,
// but no profile — the tests build profiles in the console or apply them.
const org = `
settings:
  default_request_policy: manager
  default_revoke_policy: auto
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
        fallback: [admin]
users:
  - {id: raj, email: raj@example.com, name: Raj Patel, department: Engineering, title: VP Engineering}
  - {id: alice, email: alice@example.com, name: Alice Chen, manager: raj, department: Engineering, title: Engineer}
  - {id: bob, email: bob@example.com, name: Bob Martin, manager: raj, department: Engineering, title: Engineer}
  - {id: carlos, email: carlos@example.com, name: Carlos Mendes, manager: raj, department: Engineering, title: Engineer}
  - {id: dmitri, email: dmitri@example.com, name: Dmitri Volkov, manager: raj, department: Engineering, title: SRE}
  - {id: george, email: george@example.com, name: George Okoro, manager: raj, department: Engineering, title: Contractor}
  - {id: grace, email: grace@example.com, name: Grace Kim, department: Finance, title: Auditor, role: auditor}
apps:
  - id: okta
    name: Okta
    owners: [admin]
    entitlements:
      - {id: engineering, name: Engineering department, request_policy: manager}
      - {id: employees, name: All employees, request_policy: manager}
  - id: github
    name: GitHub
    owners: [raj]
    entitlements:
      - {id: org-member, name: Organisation member, request_policy: auto}
      - {id: admin, name: Organisation owner, request_policy: manager, risk: high}
  - id: slack
    name: Slack
    owners: [admin]
    entitlements:
      - {id: eng, name: "#eng", request_policy: auto}
grants:
  - {user: alice, entitlement: okta/engineering}
  - {user: bob, entitlement: okta/engineering}
  - {user: carlos, entitlement: okta/engineering}
  - {user: dmitri, entitlement: okta/engineering}
  - {user: george, entitlement: okta/engineering}
`

// engProfile is a ready-made profile for the tests that do not build one in
// the console: its enrollment approves at once.
const engProfile = `
profiles:
  - id: eng
    name: Engineering onboarding
    description: What every engineer gets on day one.
    entitlements: [github/org-member, slack/eng]
    allow_enrollment_requests: true
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified, bypass_entitlement_policies: true}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/engineering]
      excluded_users: [george]
      safeguard: true
`

// env is one running Roster: a SQLite store, the engine on a manual clock,
// and an HTTP server with the API under /api/ and the console everywhere else.
type env struct {
	t      *testing.T
	engine *engine.Engine
	clock  *roster.ManualClock
	ui     *UI
	srv    *httptest.Server
	tokens map[string]string
	// data is the engine's data directory, where csv connectors' files go.
	data string
}

// envOption changes the console's configuration before it starts; base is
// the address the console is served at.
type envOption func(cfg *Config, base string)

// newEnv starts Roster with the test organisation applied.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := newEnvOf(t, nil, opts...)
	e.apply(org)
	return e
}

// newEnvOf starts Roster on a store that load, when not nil, fills first.
func newEnvOf(t *testing.T, load func(store roster.Store, clock roster.Clock) error, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clock := roster.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	if load != nil {
		if err := load(store, clock); err != nil {
			t.Fatalf("load the organisation: %v", err)
		}
	}
	data := t.TempDir()
	eng := engine.New(engine.Config{Store: store, Clock: clock, ConnectorAccess: connector.Access{DataDir: data}})
	if _, err := eng.Bootstrap(ctx, adminToken); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	cfg := Config{Service: eng, Sessions: eng, SessionKey: []byte("ui-test-session-key")}
	for _, o := range opts {
		o(&cfg, "http://"+srv.Listener.Addr().String())
	}
	console, err := New(cfg)
	if err != nil {
		t.Fatalf("ui.New: %v", err)
	}
	console.now = clock.Now // the console tells the time the engine does
	api := rosterhttp.NewServer(rosterhttp.ServerConfig{Service: eng, Authenticate: eng.Authenticate})
	mux.Handle("/api/", api.Handler())
	mux.Handle("/healthz", api.Handler())
	mux.Handle("/metrics", api.Handler())
	mux.Handle("/", console.Handler())
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, engine: eng, clock: clock, ui: console, srv: srv, tokens: map[string]string{roster.AdminUser: adminToken}, data: data}
}

// as returns a context that acts as user.
func (e *env) as(user string) context.Context {
	return roster.NewContext(context.Background(), user)
}

// apply applies a declarative document as the admin.
func (e *env) apply(doc string) *roster.ApplyResult {
	e.t.Helper()
	res, err := e.engine.Apply(e.as(roster.AdminUser), roster.ApplyRequest{Filename: "test", Document: []byte(doc)})
	if err != nil {
		e.t.Fatalf("apply: %v\n%s", err, strings.Join(roster.ErrorDetails(err), "\n"))
	}
	return res
}

// token returns an API token of user, creating one the first time.
func (e *env) token(user string) string {
	e.t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return tok
	}
	tok, err := e.engine.CreateToken(e.as(user), roster.TokenRequest{})
	if err != nil {
		e.t.Fatalf("create a token for %s: %v", user, err)
	}
	e.tokens[user] = tok.Token
	return tok.Token
}

// profile reads a profile as the admin.
func (e *env) profile(id string) *roster.ProfileView {
	e.t.Helper()
	p, err := e.engine.Profile(e.as(roster.AdminUser), id)
	if err != nil {
		e.t.Fatalf("read profile %s: %v", id, err)
	}
	return p
}
