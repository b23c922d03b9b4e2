package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/cli"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/server"
)

// adminToken is the bootstrap token of every test server.
const adminToken = "test-admin-token"

// env is one running Roster with its clock, and helpers to drive it.
type env struct {
	t     *testing.T
	srv   *server.Server
	clock *roster.ManualClock
	dir   string
	// secrets and data are the server's --secrets-dir and --data-dir, in dir:
	// the files connectors' settings may name go there.
	secrets, data string
	// db is the server's database: a SQLite path or a PostgreSQL URL.
	db string
	// tokens caches the API token of each user the test acted as.
	tokens map[string]string
}

// start runs a server on a free port with a fresh database. Background work is
// off: tests run the scheduler and notifier by hand after moving the clock.
func start(t *testing.T) *env {
	t.Helper()
	return startWith(t, server.Config{BootstrapToken: adminToken})
}

// startWith runs a server with cfg, filling in the database, address, clock
// and the background ticks it leaves zero (off).
func startWith(t *testing.T, cfg server.Config) *env {
	t.Helper()
	dir := t.TempDir()
	clock := roster.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if cfg.DB == "" {
		cfg.DB = testDatabase(t, dir)
	}
	if cfg.ConnectorAccess == (connector.Access{}) {
		cfg.ConnectorAccess = connector.Access{SecretsDir: filepath.Join(dir, "secrets"), DataDir: filepath.Join(dir, "data")}
		for _, d := range []string{cfg.ConnectorAccess.SecretsDir, cfg.ConnectorAccess.DataDir} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg.Addr, cfg.Clock = "127.0.0.1:0", clock
	// Background work is off unless the test sets its tick.
	for _, tick := range []*time.Duration{&cfg.SchedulerTick, &cfg.NotifierTick, &cfg.ChangeTick, &cfg.ConnectorTick, &cfg.ProvisionTick} {
		if *tick == 0 {
			*tick = -1
		}
	}
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	token := cfg.BootstrapToken
	if cfg.Demo && token == "" {
		token = server.DemoTokenPrefix + roster.AdminUser
	}
	return &env{t: t, srv: srv, clock: clock, dir: dir, db: cfg.DB, tokens: map[string]string{roster.AdminUser: token},
		secrets: cfg.ConnectorAccess.SecretsDir, data: cfg.ConnectorAccess.DataDir}
}

// testDatabase returns a fresh database for one test: a SQLite file in dir, or,
// with ROSTER_TEST_E2E_DB=postgres, a new PostgreSQL database (see pgtest),
// so that the whole suite runs on both stores.
func testDatabase(t *testing.T, dir string) string {
	switch kind := os.Getenv("ROSTER_TEST_E2E_DB"); kind {
	case "", "sqlite":
		return filepath.Join(dir, "roster.db")
	case "postgres":
		return pgtest.NewDatabase(t)
	default:
		t.Fatalf("ROSTER_TEST_E2E_DB=%q: want sqlite or postgres", kind)
		return ""
	}
}

// result is what one roster command printed.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the roster command line as user (by their API token).
func (e *env) run(user string, args ...string) result {
	e.t.Helper()
	token := e.token(user)
	var stdout, stderr bytes.Buffer
	code := cli.Main(args, cli.Options{
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string {
			switch k {
			case "ROSTER_SERVER":
				return e.srv.URL
			case "ROSTER_TOKEN":
				return token
			}
			return ""
		},
		Serve:   func(context.Context, cli.ServeConfig) error { return fmt.Errorf("not in tests") },
		Migrate: server.Migrate,
		Backup:  server.Backup,
	})
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// ok runs a command as user and fails the test unless it succeeds.
func (e *env) ok(user string, args ...string) string {
	e.t.Helper()
	r := e.run(user, args...)
	if r.code != 0 {
		e.t.Fatalf("roster %s (as %s): exit %d\nstderr: %s", strings.Join(args, " "), user, r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command as user, expects it to fail with a message containing
// want on stderr and nothing on stdout, and returns stderr.
func (e *env) fails(want, user string, args ...string) string {
	e.t.Helper()
	r := e.run(user, args...)
	if r.code == 0 {
		e.t.Fatalf("roster %s (as %s) succeeded, want failure %q\nstdout: %s", strings.Join(args, " "), user, want, r.stdout)
	}
	if !strings.Contains(r.stderr, want) {
		e.t.Fatalf("roster %s (as %s): stderr %q does not contain %q", strings.Join(args, " "), user, r.stderr, want)
	}
	if r.stdout != "" {
		e.t.Fatalf("roster %s (as %s) failed but printed to stdout: %q", strings.Join(args, " "), user, r.stdout)
	}
	return r.stderr
}

// json runs a command as user with -o json and decodes its output into v.
func (e *env) json(v any, user string, args ...string) {
	e.t.Helper()
	out := e.ok(user, append(args, "-o", "json")...)
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		e.t.Fatalf("roster %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if dec.More() {
		e.t.Fatalf("roster %s: more than one JSON value on stdout:\n%s", strings.Join(args, " "), out)
	}
}

// token returns user's API token, issued for them by the server itself the
// first time (so that the token's issuer is its user, as when people create
// their own: tokens an admin issues for others are tested on their own).
func (e *env) token(user string) string {
	e.t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return tok
	}
	secret := fmt.Sprintf("test-%s-%d", user, time.Now().UnixNano())
	if err := e.srv.Engine.IssueToken(context.Background(), user, secret, "test"); err != nil {
		e.t.Fatalf("issue a token for %s: %v", user, err)
	}
	e.tokens[user] = secret
	return secret
}

// apply applies a declarative file as the admin.
func (e *env) apply(doc string) roster.ApplyResult {
	e.t.Helper()
	path := filepath.Join(e.dir, fmt.Sprintf("apply-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	var res roster.ApplyResult
	e.json(&res, roster.AdminUser, "apply", "-f", path)
	return res
}

// applyFails applies a declarative file as user expecting it to be refused,
// and returns stderr.
func (e *env) applyFails(want, user, doc string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, "bad.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return e.fails(want, user, "apply", "-f", path)
}

// sync syncs one profile as the admin.
func (e *env) sync(profile string) roster.SyncResult {
	e.t.Helper()
	var res []roster.SyncResult
	e.json(&res, roster.AdminUser, "sync", profile)
	if len(res) != 1 || res[0].Profile != profile {
		e.t.Fatalf("sync %s returned %+v", profile, res)
	}
	return res[0]
}

// profile shows a profile as the admin.
func (e *env) profile(id string) roster.ProfileView {
	e.t.Helper()
	var v roster.ProfileView
	e.json(&v, roster.AdminUser, "profile", "show", id)
	return v
}

// members returns a profile's members as "user:source".
func (e *env) members(profile string) []string {
	e.t.Helper()
	out := []string{}
	for _, m := range e.profile(profile).Members {
		out = append(out, m.User+":"+string(m.Source))
	}
	return out
}

// tasks lists tasks as the admin with filter flags.
func (e *env) tasks(flags ...string) []roster.Task {
	e.t.Helper()
	var ts []roster.Task
	e.json(&ts, roster.AdminUser, append([]string{"task", "list"}, flags...)...)
	return ts
}

// task finds the single task matching the flags.
func (e *env) task(flags ...string) roster.Task {
	e.t.Helper()
	ts := e.tasks(flags...)
	if len(ts) != 1 {
		e.t.Fatalf("task list %v: %d tasks, want 1: %+v", flags, len(ts), ts)
	}
	return ts[0]
}

// grants lists grants as "user entitlement [sources]" lines.
func (e *env) grants(flags ...string) map[string][]string {
	e.t.Helper()
	var gs []roster.Grant
	e.json(&gs, roster.AdminUser, append([]string{"grant", "list"}, flags...)...)
	out := map[string][]string{}
	for _, g := range gs {
		out[g.User+" "+g.Entitlement] = g.Sources
	}
	return out
}

// events lists audit events as the admin.
func (e *env) events(flags ...string) []roster.Event {
	e.t.Helper()
	return e.eventsAs(roster.AdminUser, flags...)
}

// eventsAs lists audit events as user.
func (e *env) eventsAs(user string, flags ...string) []roster.Event {
	e.t.Helper()
	var evs []roster.Event
	e.json(&evs, user, append([]string{"event", "list"}, flags...)...)
	return evs
}

func id(t roster.Task) string { return fmt.Sprint(t.ID) }

// equal fails the test when got and want differ.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// waitFor polls cond every 10 ms for up to 20 seconds, and fails the test
// naming what it waited for if cond never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 20 s for %s", what)
}
