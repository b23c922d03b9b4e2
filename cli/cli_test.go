package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/cli"
	rosterhttp "github.com/rosterhq/roster/http"
)

// fakeService answers the few calls these tests make; any other method panics
// (through the embedded nil interface), which fails the command. Lists come in
// three pages, so the CLI has to follow the cursors to get every item.
type fakeService struct {
	roster.Service

	mu    sync.Mutex
	calls []string
	// taskFilters and grantFilters record the filter of each list call.
	taskFilters  []roster.TaskFilter
	grantFilters []roster.GrantFilter
	removed      [2]string
	applied      roster.ApplyRequest
	// err, when set, is returned by every call; failCursor makes only the
	// list call for that page cursor fail.
	err        error
	failCursor string
}

func (f *fakeService) record(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.err
}

// threePages returns page cursor ("", "p2" or "p3") of a list of three pages,
// built by item.
func threePages[T any](cursor string, item func(i int) T) (*roster.Page[T], error) {
	next := map[string]string{"": "p2", "p2": "p3", "p3": ""}
	start := map[string]int{"": 0, "p2": 2, "p3": 4}
	n, ok := start[cursor]
	if !ok {
		return nil, roster.Errorf(roster.EINVALID, "bad cursor %q", cursor)
	}
	return &roster.Page[T]{Items: []T{item(n + 1), item(n + 2)}, NextCursor: next[cursor]}, nil
}

func (f *fakeService) Tasks(ctx context.Context, fl roster.TaskFilter) (*roster.Page[roster.Task], error) {
	if err := f.record("Tasks"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.taskFilters = append(f.taskFilters, fl)
	f.mu.Unlock()
	return threePages(fl.Cursor, func(i int) roster.Task {
		return roster.Task{ID: int64(i), Kind: roster.TaskGrant, User: "bob", Entitlement: "github/admin",
			State: roster.StatePendingApproval, Origin: roster.OriginManual, Approvers: []string{"sam"}}
	})
}

func (f *fakeService) Grants(ctx context.Context, fl roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	if err := f.record("Grants"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.grantFilters = append(f.grantFilters, fl)
	f.mu.Unlock()
	if f.failCursor != "" && fl.Cursor == f.failCursor {
		return nil, roster.Errorf(roster.EFORBIDDEN, "auditors only")
	}
	return threePages(fl.Cursor, func(i int) roster.Grant {
		return roster.Grant{User: fmt.Sprintf("user%d", i), Entitlement: "github/org-member", Sources: []string{roster.SourceDirect}}
	})
}

func (f *fakeService) Users(ctx context.Context, fl roster.UserFilter) (*roster.Page[roster.User], error) {
	if err := f.record("Users"); err != nil {
		return nil, err
	}
	return threePages(fl.Cursor, func(i int) roster.User {
		return roster.User{ID: fmt.Sprintf("user%d", i), Status: roster.UserActive, Role: roster.RoleUser}
	})
}

func (f *fakeService) Events(ctx context.Context, fl roster.EventFilter) (*roster.Page[roster.Event], error) {
	if err := f.record("Events"); err != nil {
		return nil, err
	}
	return threePages(fl.Cursor, func(i int) roster.Event { return roster.Event{ID: int64(i), Action: fl.Action} })
}

func (f *fakeService) Entitlements(ctx context.Context, fl roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	if err := f.record("Entitlements"); err != nil {
		return nil, err
	}
	return threePages(fl.Cursor, func(i int) roster.Entitlement {
		return roster.Entitlement{ID: fmt.Sprintf("github/e%d", i), App: "github"}
	})
}

func (f *fakeService) Sync(ctx context.Context, profile string) (*roster.SyncResult, error) {
	if err := f.record("Sync"); err != nil {
		return nil, err
	}
	return &roster.SyncResult{Profile: profile, Enrolled: []string{"alice", "bob"}, TasksCreated: 2}, nil
}

func (f *fakeService) SyncAll(ctx context.Context) ([]roster.SyncResult, error) {
	if err := f.record("SyncAll"); err != nil {
		return nil, err
	}
	return []roster.SyncResult{{Profile: "eng"}, {Profile: "ops", Paused: true}}, nil
}

// Profiles answers GET /api/v1/profiles/{id}, which the client asks without
// members.
func (f *fakeService) Profiles(ctx context.Context, filter roster.ProfileFilter) ([]roster.ProfileView, error) {
	if err := f.record("Profiles"); err != nil {
		return nil, err
	}
	if filter.ID == "" || !filter.WithoutMembers {
		return nil, roster.Errorf(roster.EINVALID, "the client asked for %+v", filter)
	}
	return []roster.ProfileView{{
		ID:                 filter.ID,
		MemberCount:        2,
		PendingEnrollments: []roster.PendingTask{{User: "bob", Task: 4, Origin: roster.OriginAutomation, State: roster.StatePendingApproval}},
		Automation: roster.AutomationView{
			Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct},
			State:      roster.AutomationPaused,
			Staged:     roster.Staged{Enroll: []string{"dan"}, Unenroll: []string{"erin"}},
		},
	}}, nil
}

// ProfileMembers answers the members in two pages of one.
func (f *fakeService) ProfileMembers(ctx context.Context, profile string, filter roster.MemberFilter) (*roster.Page[roster.MemberView], error) {
	if err := f.record("ProfileMembers"); err != nil {
		return nil, err
	}
	if filter.Cursor == "" {
		return &roster.Page[roster.MemberView]{Items: []roster.MemberView{{User: "alice", Source: roster.MemberAutomation}}, NextCursor: "after-alice"}, nil
	}
	return &roster.Page[roster.MemberView]{Items: []roster.MemberView{{User: "carol", Source: roster.MemberManual}}}, nil
}

func (f *fakeService) RemoveGrant(ctx context.Context, user, entitlement string) error {
	f.mu.Lock()
	f.removed = [2]string{user, entitlement}
	f.mu.Unlock()
	return f.record("RemoveGrant")
}

func (f *fakeService) Apply(ctx context.Context, req roster.ApplyRequest) (*roster.ApplyResult, error) {
	f.mu.Lock()
	f.applied = req
	f.mu.Unlock()
	if err := f.record("Apply"); err != nil {
		return nil, err
	}
	return &roster.ApplyResult{DryRun: req.DryRun, Changes: []string{"created user alice"}}, nil
}

func (f *fakeService) Task(ctx context.Context, id int64) (*roster.Task, error) {
	if err := f.record("Task"); err != nil {
		return nil, err
	}
	return &roster.Task{ID: id}, nil
}

func (f *fakeService) Whoami(ctx context.Context) (*roster.User, error) {
	if err := f.record("Whoami"); err != nil {
		return nil, err
	}
	return &roster.User{ID: roster.ActorFromContext(ctx), Role: roster.RoleAdmin}, nil
}

// env is a test's environment: a server over a fakeService.
type env struct {
	service *fakeService
	vars    map[string]string
	stdin   io.Reader
	serve   func(context.Context, cli.ServeConfig) error
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{service: &fakeService{}}
	srv := rosterhttp.NewServer(rosterhttp.ServerConfig{
		Service: e.service,
		Authenticate: func(ctx context.Context, token string) (roster.Actor, error) {
			switch token {
			case "admin-token":
				return roster.Actor{User: "admin"}, nil
			case "alice-token":
				return roster.Actor{User: "alice"}, nil
			}
			return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "invalid API token")
		},
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.vars = map[string]string{"ROSTER_SERVER": ts.URL, "ROSTER_TOKEN": "admin-token"}
	return e
}

// run runs the roster command line with args and returns what it printed and
// its exit code.
func (e *env) run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = cli.Main(args, cli.Options{
		Stdin:  e.stdin,
		Stdout: &out,
		Stderr: &errOut,
		Getenv: func(k string) string { return e.vars[k] },
		Serve:  e.serve,
	})
	return out.String(), errOut.String(), code
}

// runJSON runs a command that must succeed and decodes its stdout, which must
// hold exactly one JSON value, into v.
func (e *env) runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	stdout, stderr, code := e.run(args...)
	if code != 0 || stderr != "" {
		t.Fatalf("roster %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("roster %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("roster %s: stdout holds more than one JSON value:\n%s", strings.Join(args, " "), stdout)
	}
}

func TestListsFollowEveryPage(t *testing.T) {
	e := newEnv(t)

	var tasks []struct {
		ID        int64    `json:"id"`
		Kind      string   `json:"kind"`
		User      string   `json:"user"`
		Approvers []string `json:"approvers"`
	}
	e.runJSON(t, &tasks, "task", "list", "--user", "bob", "--open", "--approver", "sam", "-o", "json")
	if len(tasks) != 6 {
		t.Fatalf("task list returned %d tasks, want all 6 of 3 pages", len(tasks))
	}
	for i, task := range tasks {
		if task.ID != int64(i+1) || task.Kind != "grant" || task.User != "bob" || !reflect.DeepEqual(task.Approvers, []string{"sam"}) {
			t.Errorf("task %d = %+v", i, task)
		}
	}
	if n := len(e.service.taskFilters); n != 3 {
		t.Fatalf("%d Tasks calls, want 3", n)
	}
	for _, f := range e.service.taskFilters {
		if f.User != "bob" || !f.OpenOnly || f.Approver != "sam" {
			t.Errorf("filter %+v lost the flags", f)
		}
	}

	var grants []struct {
		User        string   `json:"user"`
		Entitlement string   `json:"entitlement"`
		Sources     []string `json:"sources"`
	}
	e.runJSON(t, &grants, "grant", "list", "--app", "github", "-o", "json")
	if len(grants) != 6 || grants[5].User != "user6" || grants[0].Sources[0] != "direct" {
		t.Errorf("grant list = %+v, want user1…user6 with their sources", grants)
	}
	if got := e.service.grantFilters[0].App; got != "github" {
		t.Errorf("grant filter app = %q, want github", got)
	}

	for _, args := range [][]string{
		{"user", "list"},
		{"entitlement", "list"},
		{"event", "list", "--action", "task.approve"},
	} {
		var items []map[string]any
		e.runJSON(t, &items, append(args, "-o", "json")...)
		if len(items) != 6 {
			t.Errorf("roster %s returned %d items, want 6", strings.Join(args, " "), len(items))
		}
	}
}

func TestTableOutput(t *testing.T) {
	e := newEnv(t)
	stdout, stderr, code := e.run("task", "list")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 7 {
		t.Fatalf("want a header and 6 rows, got:\n%s", stdout)
	}
	if fields := strings.Fields(lines[0]); !reflect.DeepEqual(fields,
		[]string{"ID", "KIND", "USER", "ENTITLEMENT", "STATE", "ORIGIN", "PROFILE", "APPROVERS"}) {
		t.Errorf("header = %q", lines[0])
	}
	if fields := strings.Fields(lines[6]); !reflect.DeepEqual(fields,
		[]string{"6", "grant", "bob", "github/admin", "pending_approval", "manual", "-", "sam"}) {
		t.Errorf("last row = %q", lines[6])
	}
}

func TestSyncJSONIsAnArray(t *testing.T) {
	e := newEnv(t)
	type syncResult struct {
		Profile      string   `json:"profile"`
		Enrolled     []string `json:"enrolled"`
		Unenrolled   []string `json:"unenrolled"`
		TasksCreated int      `json:"tasks_created"`
		Paused       bool     `json:"paused"`
	}

	var one []syncResult
	e.runJSON(t, &one, "sync", "eng", "-o", "json")
	want := []syncResult{{Profile: "eng", Enrolled: []string{"alice", "bob"}, Unenrolled: []string{}, TasksCreated: 2}}
	if !reflect.DeepEqual(one, want) {
		t.Errorf("sync eng = %+v, want %+v", one, want)
	}

	var all []syncResult
	e.runJSON(t, &all, "sync", "--all", "-o", "json")
	if len(all) != 2 || all[1].Profile != "ops" || !all[1].Paused {
		t.Errorf("sync --all = %+v", all)
	}
}

func TestProfileShowJSON(t *testing.T) {
	e := newEnv(t)
	var p struct {
		ID      string `json:"id"`
		Members []struct {
			User   string `json:"user"`
			Source string `json:"source"`
		} `json:"members"`
		PendingEnrollments []struct {
			User string `json:"user"`
			Task int64  `json:"task"`
		} `json:"pending_enrollments"`
		Automation struct {
			Enabled bool   `json:"enabled"`
			Mode    string `json:"mode"`
			State   string `json:"state"`
			Staged  struct {
				Enroll   []string `json:"enroll"`
				Unenroll []string `json:"unenroll"`
			} `json:"staged"`
		} `json:"automation"`
	}
	e.runJSON(t, &p, "profile", "show", "eng", "-o", "json")
	// The members come in two pages: the command prints both.
	if p.ID != "eng" || len(p.Members) != 2 || p.Members[0].Source != "automation" || p.Members[1].User != "carol" ||
		len(p.PendingEnrollments) != 1 || p.PendingEnrollments[0].Task != 4 ||
		!p.Automation.Enabled || p.Automation.Mode != "sync_and_act" || p.Automation.State != "paused" ||
		!reflect.DeepEqual(p.Automation.Staged.Unenroll, []string{"erin"}) {
		t.Errorf("profile show = %+v", p)
	}

	stdout, _, code := e.run("profile", "show", "eng")
	for _, want := range []string{"MEMBERS", "PENDING ENROLLMENTS", "Staged unenroll:", "erin"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("profile show table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestGrantRemoveJSON(t *testing.T) {
	e := newEnv(t)
	var got map[string]any
	e.runJSON(t, &got, "grant", "remove", "bob", "github/admin", "-o", "json")
	want := map[string]any{"removed": true, "user": "bob", "entitlement": "github/admin"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grant remove = %v, want %v", got, want)
	}
	if e.service.removed != [2]string{"bob", "github/admin"} {
		t.Errorf("service removed %v", e.service.removed)
	}
}

func TestApplyFromStdin(t *testing.T) {
	e := newEnv(t)
	e.stdin = strings.NewReader("users:\n  - {id: alice}\n")
	var res roster.ApplyResult
	e.runJSON(t, &res, "apply", "-f", "-", "--dry-run", "-o", "json")
	if !res.DryRun || !reflect.DeepEqual(res.Changes, []string{"created user alice"}) {
		t.Errorf("apply = %+v", res)
	}
	if got := e.service.applied; string(got.Document) != "users:\n  - {id: alice}\n" || !got.DryRun {
		t.Errorf("service got %+v", got)
	}
}

func TestErrorsGoToStderr(t *testing.T) {
	t.Run("service error with details", func(t *testing.T) {
		e := newEnv(t)
		e.service.err = &roster.Error{Code: roster.ENOTFOUND, Message: "no task 99", Details: []string{"it may have been purged", "check the id"}}
		stdout, stderr, code := e.run("task", "show", "99", "-o", "json")
		if code != 1 || stdout != "" {
			t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
		}
		if want := "error: no task 99\n  it may have been purged\n  check the id\n"; stderr != want {
			t.Errorf("stderr = %q, want %q", stderr, want)
		}
	})
	t.Run("list error on a later page", func(t *testing.T) {
		e := newEnv(t)
		e.service.failCursor = "p3"
		stdout, stderr, code := e.run("grant", "list", "-o", "json")
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "error: auditors only") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if n := len(e.service.grantFilters); n != 3 {
			t.Errorf("%d Grants calls, want 3 (failing on the last page)", n)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		e := newEnv(t)
		e.vars["ROSTER_TOKEN"] = "stolen"
		stdout, stderr, code := e.run("whoami")
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "error: invalid API token") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("no token", func(t *testing.T) {
		e := newEnv(t)
		delete(e.vars, "ROSTER_TOKEN")
		stdout, stderr, code := e.run("whoami")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "ROSTER_TOKEN") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("server down", func(t *testing.T) {
		e := newEnv(t)
		down := httptest.NewServer(nil)
		down.Close()
		stdout, stderr, code := e.run("--server", down.URL, "whoami")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "could not reach") || !strings.Contains(stderr, down.URL) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestTokenFlagOverridesEnvironment(t *testing.T) {
	e := newEnv(t)
	var u roster.User
	e.runJSON(t, &u, "whoami", "-o", "json")
	if u.ID != "admin" {
		t.Errorf("with ROSTER_TOKEN: whoami = %q, want admin", u.ID)
	}
	e.runJSON(t, &u, "whoami", "--token", "alice-token", "-o", "json")
	if u.ID != "alice" {
		t.Errorf("with --token: whoami = %q, want alice", u.ID)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"task", "show"},
		{"task", "show", "1", "2"},
		{"task", "approve", "twelve"},
		{"profile", "enroll", "eng"},
		{"grant", "add", "bob"},
		{"grant", "add", "bob", "admin"},
		{"sync"},
		{"sync", "eng", "--all"},
		{"apply"},
		{"task", "list", "--colour"},
		{"task"},
		{"task", "frobnicate"},
		{"user", "list", "-o", "yaml"},
		{"event", "list", "--since", "yesterday"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := e.run(args...)
			if code != 1 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
			}
			if !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, "usage: roster ") {
				t.Errorf("stderr = %q, want an error with the usage", stderr)
			}
		})
	}
	if len(e.service.calls) != 0 {
		t.Errorf("usage errors called the API: %v", e.service.calls)
	}
}

func TestServe(t *testing.T) {
	e := newEnv(t)
	var got []cli.ServeConfig
	e.serve = func(ctx context.Context, cfg cli.ServeConfig) error {
		got = append(got, cfg)
		return nil
	}
	e.vars["ROSTER_BOOTSTRAP_TOKEN"] = "boot-0123456789abcdef0123456789abcdef"

	if _, stderr, code := e.run("serve"); code != 0 {
		t.Fatalf("serve: exit %d, %s", code, stderr)
	}
	if _, stderr, code := e.run("serve", "--db", "postgres://db/roster", "--addr", ":9090", "--demo", "--no-migrate", "--sync-on-change=false",
		"--secret-env-prefix", "ACME_ROSTER_", "--secrets-dir", "/run/secrets/roster", "--data-dir", "/var/lib/roster/data", "--session-idle", "30m", "--metrics-addr", "127.0.0.1:9100"); code != 0 {
		t.Fatalf("serve with flags: exit %d, %s", code, stderr)
	}
	e.vars["ROSTER_SESSION_IDLE"] = "2h"
	if _, stderr, code := e.run("serve"); code != 0 {
		t.Fatalf("serve with ROSTER_SESSION_IDLE: exit %d, %s", code, stderr)
	}
	want := []cli.ServeConfig{
		{DB: "roster.db", Addr: "127.0.0.1:8080", BootstrapToken: "boot-0123456789abcdef0123456789abcdef", SyncOnChange: true, SecretEnvPrefix: "ROSTER_SECRET_", SessionIdle: 8 * time.Hour},
		{DB: "postgres://db/roster", Addr: ":9090", Demo: true, BootstrapToken: "boot-0123456789abcdef0123456789abcdef", NoMigrate: true,
			SecretEnvPrefix: "ACME_ROSTER_", SecretsDir: "/run/secrets/roster", DataDir: "/var/lib/roster/data", SessionIdle: 30 * time.Minute, MetricsAddr: "127.0.0.1:9100"},
		{DB: "roster.db", Addr: "127.0.0.1:8080", BootstrapToken: "boot-0123456789abcdef0123456789abcdef", SyncOnChange: true, SecretEnvPrefix: "ROSTER_SECRET_", SessionIdle: 2 * time.Hour},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("serve configs = %+v\nwant %+v", got, want)
	}

	// A short bootstrap token is refused before anything starts.
	e.vars["ROSTER_BOOTSTRAP_TOKEN"] = "test-admin-token"
	if _, stderr, code := e.run("serve"); code != 1 || !strings.Contains(stderr, "at least 32") || len(got) != 3 {
		t.Errorf("serve with a 16-character token: exit %d, stderr %q, %d starts", code, stderr, len(got))
	}
	e.vars["ROSTER_BOOTSTRAP_TOKEN"] = "boot-0123456789abcdef0123456789abcdef"
	if _, stderr, code := e.run("serve", "--session-idle", "10s"); code != 1 || !strings.Contains(stderr, "at least a minute") {
		t.Errorf("serve --session-idle 10s: exit %d, stderr %q", code, stderr)
	}

	e.serve = func(context.Context, cli.ServeConfig) error { return errors.New("address in use") }
	if _, stderr, code := e.run("serve"); code != 1 || stderr != "error: address in use\n" {
		t.Errorf("failing serve: exit %d, stderr %q", code, stderr)
	}
}
