package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// state is a fingerprint of everything an apply could change.
func (e *env) state() string {
	e.t.Helper()
	var b strings.Builder
	for _, args := range [][]string{{"user", "list"}, {"grant", "list"}, {"task", "list"}, {"profile", "list"}, {"policy", "list"}, {"entitlement", "list"}, {"settings", "show"}, {"event", "list"}} {
		b.WriteString(e.ok(adminUser, append(args, "-o", "json")...))
	}
	return b.String()
}

// Each kind of bad input is refused with an error that names the line, and
// nothing changes.
func TestApplyRefusesBadInputAndChangesNothing(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	before := e.state()
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "users:\n  - {id: zoe, email: zoe@example.com, nmae: Zoe}\n", []string{":2:", `unknown key "nmae"`}},
		{"dangling reference", "users:\n  - id: zoe\n    manager: nobody\n", []string{":3:", `unknown user "nobody"`}},
		{"bad enum", "apps:\n  - id: vpn\n    entitlements:\n      - {id: user, provisioning: magic}\n", []string{":4:", "magic"}},
		{"own enrollment entitlement", "profiles:\n  - id: loop\n    entitlements: [access-profiles/loop]\n", []string{":3:", "own enrollment entitlement"}},
		{"unknown approver kind", "policies:\n  - id: odd\n    steps:\n      - approvers: ceo\n", []string{":4:", `"ceo"`}},
		{"broken YAML", "users:\n  - {id: zoe\n  - id: amy\n", []string{"bad.yaml:"}},
		{"valid part with one bad part", "users:\n  - {id: zoe, email: zoe@example.com}\ngrants:\n  - {user: zoe, entitlement: okta/nope}\n", []string{":4:", `unknown entitlement "okta/nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := e.applyFails("nothing was applied", adminUser, tt.doc)
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not contain %q:\n%s", w, stderr)
				}
			}
		})
	}
	if after := e.state(); after != before {
		t.Fatal("a refused apply changed something")
	}
}

func TestApplyIsIdempotentAndHasADryRun(t *testing.T) {
	e := start(t)
	doc := org + engProfile
	path := filepath.Join(e.dir, "org.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// A dry run says what would change and changes nothing.
	before := e.state()
	out := e.ok(adminUser, "apply", "-f", path, "--dry-run")
	for _, w := range []string{"created user alice", "created profile eng", "created policy manager"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
	if e.state() != before {
		t.Fatal("a dry run changed something")
	}
	first := e.apply(doc)
	if len(first.Changes) == 0 || len(first.Synced) != 1 {
		t.Fatalf("first apply: %+v", first)
	}
	snapshot := e.state()
	second := e.apply(doc)
	equal(t, "second apply changes", second.Changes, []string{})
	equal(t, "second apply syncs", len(second.Synced), 0)
	if e.state() != snapshot {
		t.Fatal("applying the same file twice changed something")
	}
}

func TestApplyAcceptsJSON(t *testing.T) {
	e := start(t)
	e.apply(`{"users": [{"id": "zoe", "email": "zoe@example.com", "name": "Zoe"}], "policies": [{"id": "auto", "steps": []}]}`)
	var u struct{ ID, Email, Status, Role string }
	e.json(&u, adminUser, "user", "show", "zoe")
	equal(t, "user", u, struct{ ID, Email, Status, Role string }{"zoe", "zoe@example.com", "active", "user"})
}

// Every change is an audit event with who, what, when and why, and the
// events endpoint filters them.
func TestAuditLog(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	task := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	e.ok("carol", "task", "approve", id(task), "--comment", "ok by me")
	e.ok(adminUser, "grant", "add", "dave", "okta/sales")

	approvals := e.events("--action", "task.approved", "--actor", "carol")
	if len(approvals) != 1 || approvals[0].ObjectID != id(task) || approvals[0].Reason != "ok by me" || approvals[0].At.IsZero() {
		t.Fatalf("approval events = %+v", approvals)
	}
	for _, action := range []string{"user.created", "profile.created", "task.created", "task.done", "profile.member_added", "grant.added", "profile.synced", "notify.approvers"} {
		if len(e.events("--action", action)) == 0 {
			t.Errorf("no %s event", action)
		}
	}
	added := e.events("--object-type", "grant", "--object-id", "dave okta/sales")
	if len(added) != 1 || added[0].Actor != "admin" || added[0].Action != "grant.added" {
		t.Fatalf("grant events = %+v", added)
	}
	// A grant's last event carries the sources it has now: an event of its
	// own, or one the task.created of the task done at once that gave it
	// stands for (its effects).
	last := map[string]roster.Event{}
	for _, ev := range e.events() {
		if ev.Actor == "" || ev.Action == "" || ev.At.IsZero() {
			t.Fatalf("event without actor, action or time: %+v", ev)
		}
		effects, err := ev.Effects()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range append([]roster.Event{ev}, effects...) {
			if ev.Action == "grant.added" || ev.Action == "grant.sources_changed" {
				last[ev.ObjectID] = ev
			}
		}
	}
	kinds := map[string]bool{}
	for key, sources := range e.grants() {
		ev, ok := last[key]
		if !ok {
			t.Errorf("grant %s has no grant.added event", key)
			continue
		}
		var data struct{ Sources []string }
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatalf("event %d data %s: %v", ev.ID, ev.Data, err)
		}
		equal(t, "sources in the last event of grant "+key, data.Sources, sources)
		kinds[strings.Join(sources, ",")] = true
	}
	if !kinds["direct"] || len(kinds) < 2 {
		t.Errorf("grants' sources %v: want direct ones and others", kinds)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	get := func(path string) (int, string) {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !json.Valid([]byte(body)) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, _ := get("/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d, want 401", code)
	}
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("/metrics with a plain user's token: %v %v, want 403", res, err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	code, body := res.StatusCode, string(b)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, w := range []string{
		`roster_syncs_total{outcome="applied"} 1`,
		`roster_tasks_created_total{kind="grant",origin="automation"} 2`,
		`roster_task_transitions_total{state="pending_approval"}`,
		`roster_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
