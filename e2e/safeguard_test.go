package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// bigOrg has ten engineers e01…e10 in okta/engineering, all members of eng
// once synced; the safeguard applies above 5 members at 20%.
func bigOrg(extraSettings, automation string) string {
	var b strings.Builder
	b.WriteString("settings:\n  safeguard: {min_members: 5, max_removal_percent: 20}\n" + extraSettings)
	b.WriteString("users:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  - {id: e%02d, email: e%02d@example.com, name: Engineer %d}\n", i, i, i)
	}
	b.WriteString(`apps:
  - id: okta
    name: Okta
    entitlements: [{id: engineering, request_policy: auto, revoke_policy: auto}]
  - id: github
    name: GitHub
    entitlements: [{id: org-member, request_policy: auto, revoke_policy: auto}]
policies:
  - {id: auto, steps: []}
grants:
`)
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  - {user: e%02d, entitlement: okta/engineering}\n", i)
	}
	b.WriteString(`profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
    automation: {enabled: true, any_entitlement: [okta/engineering]` + automation + `}
`)
	return b.String()
}

// webhook is a local HTTP server that records what is posted to it, standing
// in for Slack's incoming webhook.
type webhook struct {
	*httptest.Server
	mu    sync.Mutex
	posts []map[string]any
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &m) != nil {
			http.Error(rw, "bad request", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.posts = append(w.posts, m)
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhook) received() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.posts...)
}

// pauseEng removes three of eng's ten members from the rule (30% > 20%) and
// adds e11, then syncs: the safeguard pauses.
func pauseEng(t *testing.T, e *env) {
	t.Helper()
	e.apply(`
users: [{id: e11, email: e11@example.com, name: Engineer 11}]
grants: [{user: e11, entitlement: okta/engineering}]
`)
	for _, u := range []string{"e01", "e02", "e03"} {
		e.ok(adminUser, "grant", "remove", u, "okta/engineering")
	}
	r := e.sync("eng")
	equal(t, "paused sync", []any{r.Paused, r.Enrolled, r.Unenrolled, r.TasksCreated}, []any{true, []string{}, []string{}, 0})
}

func TestSafeguardPausesReviewsAndResumes(t *testing.T) {
	e := start(t)
	hook := newWebhook(t)
	e.apply(bigOrg("  slack_webhook_url: "+hook.URL+"\n", ""))
	equal(t, "members", len(e.profile("eng").Members), 10)
	pauseEng(t, e)

	v := e.profile("eng")
	equal(t, "state", v.Automation.State, "paused")
	equal(t, "staged", v.Automation.Staged, roster.Staged{Enroll: []string{"e11"}, Unenroll: []string{"e01", "e02", "e03"}, Members: 10})
	equal(t, "nothing applied: members", len(v.Members), 10)
	equal(t, "nothing applied: tasks", len(e.tasks("--entitlement", "access-profiles/eng", "--kind", "revoke")), 0)
	alerts := e.events("--action", "safeguard.paused", "--object-id", "eng")
	if len(alerts) != 1 || !strings.Contains(alerts[0].Reason, "3 of 10") {
		t.Fatalf("alert events = %+v, want one naming 3 of 10", alerts)
	}
	if len(e.events("--action", "notify.admins")) != 1 {
		t.Fatal("admins were not notified of the pause")
	}
	if n, err := e.srv.Notifier.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("notifier delivered %d (err %v), want 1", n, err)
	}
	posts := hook.received()
	if len(posts) != 1 || posts[0]["profile"] != "eng" || posts[0]["staged_unenroll"] != float64(3) || !strings.Contains(fmt.Sprint(posts[0]["text"]), "eng") {
		t.Fatalf("slack posts = %+v, want one naming eng and 3 removals", posts)
	}
	if n, _ := e.srv.Notifier.RunOnce(context.Background()); n != 0 {
		t.Fatalf("notifier delivered the same message again")
	}

	// While paused, syncs change nothing and the staged plan stays.
	equal(t, "sync while paused", e.sync("eng").Paused, true)
	e.clock.Advance(2 * time.Hour)
	if n, _ := e.srv.Scheduler.RunOnce(context.Background()); n != 0 {
		t.Fatalf("scheduler synced a paused profile")
	}

	// e03 is back in the group: resume applies only what still holds.
	e.ok(adminUser, "grant", "add", "e03", "okta/engineering")
	var r roster.SyncResult
	e.json(&r, adminUser, "profile", "resume", "eng")
	equal(t, "resumed", []any{r.Enrolled, r.Unenrolled}, []any{[]string{"e11"}, []string{"e01", "e02"}})
	v = e.profile("eng")
	equal(t, "state after resume", v.Automation.State, "active")
	equal(t, "staged after resume", v.Automation.Staged, roster.Staged{Enroll: []string{}, Unenroll: []string{}})
	equal(t, "members after resume", len(v.Members), 9)
	e.fails("not paused", adminUser, "profile", "resume", "eng")
}

// Removals count over a rolling hour, so a mass removal cannot slip through in
// small steps; after the hour, small steps pass again.
func TestSafeguardCountsTheRollingHour(t *testing.T) {
	for _, tc := range []struct {
		wait  time.Duration
		pause bool
	}{{10 * time.Minute, true}, {61 * time.Minute, false}} {
		t.Run(tc.wait.String(), func(t *testing.T) {
			e := start(t)
			e.apply(bigOrg("", ""))
			e.ok(adminUser, "grant", "remove", "e01", "okta/engineering")
			e.ok(adminUser, "grant", "remove", "e02", "okta/engineering")
			r := e.sync("eng")
			equal(t, "first step (exactly 20%)", []any{r.Paused, r.Unenrolled}, []any{false, []string{"e01", "e02"}})
			e.clock.Advance(tc.wait)
			e.ok(adminUser, "grant", "remove", "e03", "okta/engineering")
			equal(t, "second step paused", e.sync("eng").Paused, tc.pause)
		})
	}
}

// Saving the automation discards the staged plan and lifts the pause; with
// safeguard off on the profile the sync goes through.
func TestSafeguardEditingTheAutomationDiscardsThePlan(t *testing.T) {
	e := start(t)
	e.apply(bigOrg("", ""))
	pauseEng(t, e)
	res := e.apply(`
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
    automation: {enabled: true, any_entitlement: [okta/engineering], safeguard: false}
`)
	if len(res.Synced) != 1 || res.Synced[0].Paused || len(res.Synced[0].Unenrolled) != 3 {
		t.Fatalf("sync after saving = %+v, want 3 unenrolled without a pause", res.Synced)
	}
	if len(e.events("--action", "safeguard.plan_discarded")) != 1 {
		t.Fatal("no event says the staged plan was discarded")
	}
	v := e.profile("eng")
	equal(t, "state", v.Automation.State, "active")
	equal(t, "members", len(v.Members), 8)
}

// A Slack message the webhook refuses is retried with backoff from the
// database's outbox, also by a server started after a restart.
func TestSlackDeliveryRetriesAcrossARestart(t *testing.T) {
	e := start(t)
	var mu sync.Mutex
	failing, got := true, 0
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			http.Error(rw, "try later", http.StatusServiceUnavailable)
			return
		}
		got++
	}))
	defer hook.Close()
	e.apply(bigOrg("  slack_webhook_url: "+hook.URL+"\n", ""))
	pauseEng(t, e)
	ctx := context.Background()
	if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("delivered %d (err %v) to a failing webhook", n, err)
	}
	// Not due again before the backoff.
	mu.Lock()
	failing = false
	mu.Unlock()
	if n, _ := e.srv.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("retried before the backoff")
	}
	// The server restarts: the message is still owed, and a replica that
	// takes over the lease delivers it once the backoff has passed.
	e.srv.Close(ctx)
	next := e.replica(t)
	e.clock.Advance(engineLeaseAndBackoff)
	if n, err := next.Notifier.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d (err %v) after the backoff, want 1", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	equal(t, "posts received", got, 1)
}

// engineLeaseAndBackoff is long enough for the first retry's backoff (10s)
// and for the old leader's lease to expire.
const engineLeaseAndBackoff = 2 * time.Minute

// TestSlackWebhookFromEnvironment checks settings.slack_webhook_url_env
// (issue 14 #9): the webhook URL comes from a ROSTER_SECRET_ variable, read
// when a message is sent (a changed variable takes effect without an
// apply), and is never stored or shown; another prefix, or both settings at
// once, is refused at apply.
func TestSlackWebhookFromEnvironment(t *testing.T) {
	e := start(t)
	first, second := newWebhook(t), newWebhook(t)
	t.Setenv("ROSTER_SECRET_SLACK_HOOK", first.URL+"/services/T000/B000/XXXXSECRET")
	e.apply(bigOrg("  slack_webhook_url_env: ROSTER_SECRET_SLACK_HOOK\n", ""))
	pauseEng(t, e)

	// Read at send time: the variable now names the second hook.
	t.Setenv("ROSTER_SECRET_SLACK_HOOK", second.URL+"/services/T000/B000/XXXXSECRET")
	if n, err := e.srv.Notifier.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("notifier delivered %d (err %v), want 1", n, err)
	}
	if posts := second.received(); len(posts) != 1 || posts[0]["profile"] != "eng" {
		t.Fatalf("posts to the hook the variable names = %+v, want the pause of eng", posts)
	}
	if posts := first.received(); len(posts) != 0 {
		t.Fatalf("posts to the hook the variable named at apply = %+v, want none", posts)
	}

	// The settings name the variable, not the URL, for everyone.
	e.apply(`users: [{id: audrey, email: audrey@example.com, role: auditor}]`)
	for _, user := range []string{"audrey", roster.AdminUser} {
		out := e.ok(user, "settings", "show", "-o", "json")
		if strings.Contains(out, "SECRET/") || strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "ROSTER_SECRET_SLACK_HOOK") {
			t.Errorf("settings as %s: %s", user, out)
		}
	}

	msg := e.applyFails("ROSTER_SECRET_", roster.AdminUser, "settings:\n  slack_webhook_url_env: HOME\n")
	if !strings.Contains(msg, "ROSTER_SECRET_") {
		t.Errorf("a variable without the prefix: %s", msg)
	}
	msg = e.applyFails("not both", roster.AdminUser, "settings:\n  slack_webhook_url_env: ROSTER_SECRET_SLACK_HOOK\n  slack_webhook_url: "+second.URL+"\n")
	if !strings.Contains(msg, "slack_webhook_url") {
		t.Errorf("both settings: %s", msg)
	}
	// An inline URL replaces the variable, and the other way round.
	e.apply("settings:\n  slack_webhook_url: " + second.URL + "\n")
	var s roster.Settings
	e.json(&s, roster.AdminUser, "settings", "show")
	equal(t, "after an inline URL", [2]string{s.SlackWebhookURL, s.SlackWebhookURLEnv}, [2]string{second.URL, ""})
	e.apply("settings:\n  slack_webhook_url_env: ROSTER_SECRET_SLACK_HOOK\n")
	var after roster.Settings
	e.json(&after, roster.AdminUser, "settings", "show")
	equal(t, "after a variable", [2]string{after.SlackWebhookURL, after.SlackWebhookURLEnv}, [2]string{"", "ROSTER_SECRET_SLACK_HOOK"})
}
