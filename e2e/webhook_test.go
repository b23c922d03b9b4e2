package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// webhookKey is the signing key of the tests' webhooks; the environment
// holds it the Standard Webhooks way, whsec_ and its base64.
var webhookKey = []byte("a key of thirty-two bytes, or so")

// received is one request a test's endpoint received.
type received struct {
	id, timestamp, signature, contentType string
	body                                  []byte
}

// endpoint is a webhook receiver run by a test: it records every request
// and answers with status.
type endpoint struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

func startEndpoint(t *testing.T, status int) *endpoint {
	ep := &endpoint{status: status}
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ep.mu.Lock()
		defer ep.mu.Unlock()
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		ep.got = append(ep.got, received{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), r.Header.Get("Content-Type"), body})
		w.WriteHeader(ep.status)
	}))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) answer(status int) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.status = status
}

func (ep *endpoint) requests() []received {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]received(nil), ep.got...)
}

// verify checks a request's signature as a receiver does, by computing the
// HMAC-SHA256 of "id.timestamp.body" with the key, and returns its body.
func verify(t *testing.T, r received) webhookBody {
	t.Helper()
	if !strings.HasPrefix(r.id, "msg_") || r.timestamp == "" {
		t.Fatalf("webhook-id %q, webhook-timestamp %q", r.id, r.timestamp)
	}
	if _, err := strconv.ParseInt(r.timestamp, 10, 64); err != nil {
		t.Fatalf("webhook-timestamp %q is not unix seconds", r.timestamp)
	}
	mac := hmac.New(sha256.New, webhookKey)
	mac.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if r.signature != want {
		t.Fatalf("webhook-signature %q, want %q", r.signature, want)
	}
	equal(t, "content type", r.contentType, "application/json")
	var b webhookBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return b
}

// sameJSON fails unless a and b encode the same value.
func sameJSON(t *testing.T, what string, a, b json.RawMessage) {
	t.Helper()
	if len(a) == 0 && len(b) == 0 {
		return
	}
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %s: %v", what, a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %s: %v", what, b, err)
	}
	equal(t, what, va, vb)
}

type webhookBody struct {
	Type      string       `json:"type"`
	Timestamp string       `json:"timestamp"`
	Data      roster.Event `json:"data"`
}

func webhookFile(url, events string) string {
	return fmt.Sprintf(`
webhooks:
  - {id: siem, url: %s, secret_env: ROSTER_SECRET_HOOK, insecure: true, events: [%s]}
`, url, events)
}

// Events matching a webhook's patterns are posted signed, with the event as
// the API shows it; a 500 is retried with the same webhook-id, also by a
// server started after a restart; events the patterns do not match are not
// posted; each event is delivered once.
func TestWebhookSignedRetriedAcrossARestart(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", "whsec_"+base64.StdEncoding.EncodeToString(webhookKey))
	ep := startEndpoint(t, http.StatusInternalServerError)
	e := start(t)
	e.apply(org + emailProfile)
	res := e.apply(webhookFile(ep.URL, `"task.*"`))
	equal(t, "changes", res.Changes, []string{"created webhook siem"})
	created := e.events("--action", "webhook.created")
	equal(t, "webhook.created events", len(created), 1)

	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng")
	tasks := e.events("--action", "task.created")
	if len(tasks) != 1 {
		t.Fatalf("%d task.created events, want 1", len(tasks))
	}
	ctx := context.Background()
	if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("delivered %d (err %v) to an endpoint answering 500", n, err)
	}
	first := ep.requests()
	equal(t, "requests to the failing endpoint", len(first), 1)
	b := verify(t, first[0])
	equal(t, "type", b.Type, "task.created")
	// The event as the API shows it; its data compared as JSON, which
	// PostgreSQL's JSONB may lay out anew.
	sameJSON(t, "event data", b.Data.Data, tasks[0].Data)
	b.Data.Data, tasks[0].Data = nil, nil
	equal(t, "event", b.Data, tasks[0])
	if b.Data.Hash == "" {
		t.Fatal("the event is posted without its hash")
	}
	equal(t, "webhook-id", first[0].id, fmt.Sprintf("msg_%d_siem", tasks[0].ID))
	var list []roster.WebhookStatus
	e.json(&list, roster.AdminUser, "webhook", "list")
	equal(t, "listed", len(list), 1)
	if list[0].LastDeliveredAt != nil || !strings.Contains(list[0].LastError, "500") || list[0].Attempts != 1 {
		t.Fatalf("list after a failure: %+v", list[0])
	}

	// Roster restarts; the endpoint recovers; the message is retried once
	// the backoff has passed, with the same webhook-id and a new signature.
	e.srv.Close(ctx)
	next := e.replica(t)
	ep.answer(http.StatusNoContent)
	e.clock.Advance(engineLeaseAndBackoff)
	if n, err := next.Notifier.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d (err %v) after the restart, want 1", n, err)
	}
	if n, _ := next.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("delivered twice")
	}
	all := ep.requests()
	equal(t, "requests", len(all), 2)
	equal(t, "retried webhook-id", all[1].id, all[0].id)
	if all[1].timestamp == all[0].timestamp {
		t.Fatal("the retry carries the first attempt's timestamp")
	}
	equal(t, "retried body", string(all[1].body), string(all[0].body))
	verify(t, all[1])
}

// Only the events a webhook's patterns match are posted: an exact action,
// and a prefix.
func TestWebhookPostsOnlyMatchingEvents(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", string(webhookKey))
	ep := startEndpoint(t, http.StatusOK)
	e := start(t)
	e.apply(org + emailProfile + webhookFile(ep.URL, `"task.approved", "profile.*"`))
	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng")
	e.ok("carol", "task", "approve", id(task))
	for {
		n, err := e.srv.Notifier.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var types []string
	for _, r := range ep.requests() {
		b := verify(t, r)
		types = append(types, b.Type)
		if b.Type != "task.approved" && !strings.HasPrefix(b.Type, "profile.") {
			t.Fatalf("posted %s, which the patterns do not match", b.Type)
		}
	}
	approved := e.events("--action", "task.approved")
	if len(approved) == 0 {
		t.Fatal("no task.approved event")
	}
	var profileEvents []roster.Event
	for _, ev := range e.events() {
		if ev.Action.Object() == "profile" {
			profileEvents = append(profileEvents, ev)
		}
	}
	equal(t, "messages posted", len(types), len(approved)+len(profileEvents))
	if !strings.Contains(strings.Join(types, " "), "task.approved") {
		t.Fatalf("task.approved was not posted: %v", types)
	}
	for _, ty := range types {
		if ty == "task.created" {
			t.Fatal("task.created was posted")
		}
	}
}

// roster webhook test posts a signed webhook.test message now and shows
// the endpoint's answer; an answer other than 2xx fails the command.
// Admins test; auditors list; others neither.
func TestWebhookTestAndList(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", "whsec_"+base64.StdEncoding.EncodeToString(webhookKey))
	ep := startEndpoint(t, http.StatusOK)
	e := start(t)
	e.apply(org + webhookFile(ep.URL, `"task.*"`))
	out := e.ok(roster.AdminUser, "webhook", "test", "siem")
	contains(t, "test output", out, "siem", "answered 200")
	reqs := ep.requests()
	equal(t, "requests", len(reqs), 1)
	b := verify(t, reqs[0])
	equal(t, "type", b.Type, "webhook.test")
	ep.answer(http.StatusBadGateway)
	e.fails("502", roster.AdminUser, "webhook", "test", "siem")
	equal(t, "webhook.tested events", len(e.events("--action", "webhook.tested")), 2)
	e.fails("not declared", roster.AdminUser, "webhook", "test", "nope")

	var list []roster.WebhookStatus
	e.json(&list, "audrey", "webhook", "list")
	equal(t, "auditor's list", len(list), 1)
	equal(t, "secret env", list[0].SecretEnv, "ROSTER_SECRET_HOOK")
	equal(t, "events", list[0].Events, []string{"task.*"})
	contains(t, "webhook list", e.ok(roster.AdminUser, "webhook", "list"), "siem", ep.URL, "task.*", "yes")
	e.fails("", "audrey", "webhook", "test", "siem")
	e.fails("", "alice", "webhook", "list")
	equal(t, "requests after refusals", len(ep.requests()), 2)

	// A change is audited with before and after.
	e.apply(webhookFile(ep.URL, `"task.*", "safeguard.*"`))
	updated := e.events("--action", "webhook.updated")
	equal(t, "webhook.updated events", len(updated), 1)
	contains(t, "update data", string(updated[0].Data), "safeguard.*", `"before"`, `"after"`)

	// Disabled, it posts nothing more.
	e.apply(org + emailProfile + strings.Replace(webhookFile(ep.URL, `"task.*"`), "insecure: true", "insecure: true, enabled: false", 1))
	e.ok("alice", "profile", "request", "eng")
	equal(t, "task.created events", len(e.events("--action", "task.created")), 1)
	equal(t, "delivered by a disabled webhook", e.notify(), 0)
	equal(t, "requests after disabling", len(ep.requests()), 2)
}

// A file with a bad webhook is refused, naming the field and its line.
func TestWebhookBadFilesRefused(t *testing.T) {
	e := start(t)
	for _, tt := range []struct{ doc, want string }{
		{webhookFile("http://127.0.0.1:1/x", `"task.nope"`), `bad.yaml:3: webhooks[0].events[0]: "task.nope" matches no audit action`},
		{webhookFile("http://127.0.0.1:1/x", `"task"`), `webhooks[0].events[0]: "task" matches no audit action`},
		{webhookFile("http://127.0.0.1:1/x", `"nothing.*"`), `webhooks[0].events[0]: "nothing.*" matches no audit action`},
		{"webhooks:\n  - {id: siem, url: http://127.0.0.1:1/x, secret_env: ROSTER_SECRET_HOOK, events: [task.*]}\n", `webhooks[0].url: http:// sends events in clear text`},
		{"webhooks:\n  - {id: siem, url: ftp://x, secret_env: ROSTER_SECRET_HOOK, events: [task.*]}\n", `webhooks[0].url: "ftp://x" is not an http:// or https:// URL`},
		{"webhooks:\n  - {id: siem, url: https://x.example, secret_env: HOME, events: [task.*]}\n", `webhooks[0].secret_env: HOME does not start with ROSTER_SECRET_`},
		{"webhooks:\n  - {id: siem, secret_env: ROSTER_SECRET_HOOK, events: [task.*]}\n", `webhooks[0]: missing url`},
		{"webhooks:\n  - {id: siem, url: https://x.example, events: [task.*]}\n", `webhooks[0]: missing secret_env`},
		{"webhooks:\n  - {id: siem, url: https://x.example, secret_env: ROSTER_SECRET_HOOK}\n", `webhooks[0]: missing events`},
		{"webhooks:\n  - {id: siem, url: https://x.example, secret_env: ROSTER_SECRET_HOOK, events: []}\n", `webhooks[0].events: give at least one`},
		{"webhooks:\n  - {id: siem, url: https://x.example, secret_env: ROSTER_SECRET_HOOK, events: [task.*], colour: red}\n", `colour`},
	} {
		e.applyFails(tt.want, roster.AdminUser, tt.doc)
	}
	var list []roster.WebhookStatus
	e.json(&list, roster.AdminUser, "webhook", "list")
	equal(t, "webhooks after refused files", len(list), 0)
}

// An endpoint that fails costs one attempt per notifier run, not one per
// message: the others wait without using up their attempts, and all are
// delivered, each once, when it recovers. The requests that caused the
// events never wait on the endpoint.
func TestWebhookFailingEndpointTriedOncePerRun(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", string(webhookKey))
	ep := startEndpoint(t, http.StatusServiceUnavailable)
	e := start(t)
	e.apply(org + emailProfile + webhookFile(ep.URL, `"task.created"`))
	for _, u := range []string{"alice", "bob", "dave"} {
		e.ok(u, "profile", "request", "eng")
	}
	equal(t, "requests before the notifier runs", len(ep.requests()), 0)
	ctx := context.Background()
	for run := 1; run <= 2; run++ {
		if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("run %d delivered %d (err %v) to a failing endpoint", run, n, err)
		}
		equal(t, fmt.Sprintf("requests after run %d", run), len(ep.requests()), run)
		e.clock.Advance(engineLeaseAndBackoff)
	}
	reqs := ep.requests()
	equal(t, "the retry's webhook-id", reqs[1].id, reqs[0].id)
	ep.answer(http.StatusOK)
	if n, err := e.srv.Notifier.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("delivered %d (err %v) once the endpoint recovered, want 3", n, err)
	}
	ids := map[string]bool{}
	for _, r := range ep.requests()[2:] {
		verify(t, r)
		ids[r.id] = true
	}
	equal(t, "distinct messages delivered", len(ids), 3)
	if n, _ := e.srv.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("delivered again")
	}
}

// A message its endpoint keeps failing is retried with back-off and, after
// its last attempt, given up: `webhook list` says so at each stage (idle,
// retrying with the next attempt's time, gave up), a notify.failed event
// records it, and it is not tried again. A later message delivered shows
// delivered.
func TestWebhookGiveUpShownInList(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", string(webhookKey))
	ep := startEndpoint(t, http.StatusInternalServerError)
	e := start(t)
	e.apply(org + emailProfile + webhookFile(ep.URL, `"task.created"`))
	status := func() roster.WebhookStatus {
		var list []roster.WebhookStatus
		e.json(&list, roster.AdminUser, "webhook", "list")
		if len(list) != 1 {
			t.Fatalf("webhook list: %+v", list)
		}
		return list[0]
	}
	equal(t, "state before any message", status().State, roster.WebhookIdle)
	e.ok("alice", "profile", "request", "eng")
	ctx := context.Background()
	for attempt := 1; attempt <= e.srv.Notifier.MaxAttempts; attempt++ {
		if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("attempt %d delivered %d (err %v)", attempt, n, err)
		}
		st := status()
		equal(t, fmt.Sprintf("attempts after attempt %d", attempt), st.Attempts, attempt)
		if attempt < e.srv.Notifier.MaxAttempts {
			if st.State != roster.WebhookRetrying || st.NextAttemptAt == nil || !st.NextAttemptAt.After(e.clock.Now()) {
				t.Fatalf("after attempt %d: %+v, want retrying at a later time", attempt, st)
			}
			contains(t, "webhook list", e.ok(roster.AdminUser, "webhook", "list"), "retrying at", "answered 500")
		}
		e.clock.Advance(2 * time.Hour)
	}
	st := status()
	if st.State != roster.WebhookGaveUp || st.NextAttemptAt != nil || st.LastDeliveredAt != nil {
		t.Fatalf("after the last attempt: %+v, want gave up", st)
	}
	contains(t, "webhook list", e.ok(roster.AdminUser, "webhook", "list"), "gave up", "answered 500")
	failed := e.events("--action", "notify.failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "gave up after 8 attempts") {
		t.Fatalf("notify.failed events: %+v", failed)
	}
	e.clock.Advance(48 * time.Hour)
	e.notify()
	equal(t, "requests: no attempt after giving up", len(ep.requests()), e.srv.Notifier.MaxAttempts)

	ep.answer(http.StatusOK)
	e.ok("bob", "profile", "request", "eng")
	equal(t, "delivered", e.notify(), 1)
	equal(t, "state after a delivery", status().State, roster.WebhookDelivered)
}

// A task done the moment it is created has one event, task.created with
// "state": "done" (no task.done follows it); a webhook that asks for
// task.done is posted that event, and one that asks for neither is not.
func TestWebhookTaskDoneAtOnce(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", string(webhookKey))
	ep := startEndpoint(t, http.StatusNoContent)
	e := start(t)
	e.apply(org + webhookFile(ep.URL, `"task.done"`))
	e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	created := e.events("--action", "task.created")
	equal(t, "task.created events (alice's and bob's enrollments and access)", len(created), 4)
	equal(t, "task.done events", len(e.events("--action", "task.done")), 0)
	for _, ev := range created {
		var d struct{ State, User, Entitlement string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		equal(t, "state in task.created of task "+ev.ObjectID, d.State, "done")
		equal(t, "task "+ev.ObjectID+" is done", e.task("--user", d.User, "--entitlement", d.Entitlement).State, roster.StateDone)
	}
	if n, err := e.srv.Notifier.RunOnce(context.Background()); n != 4 || err != nil {
		t.Fatalf("delivered %d (err %v) to a task.done webhook, want the 4 tasks done at once", n, err)
	}
	for _, r := range ep.requests() {
		equal(t, "type", verify(t, r).Type, "task.created")
	}
}

// What carrying out a task done the moment it is created does to the task's
// own grant and membership is recorded in its task.created event (its
// effects), not as events of their own: an enrollment's
// profile.member_added and the grant that shows it, a grant task's
// grant.added, an unenrollment's profile.member_removed and grant.removed, a
// revoke task's grant.removed. Switching on many profiles at once, those
// would be millions of rows saying again what the tasks say. A webhook
// that asks for those actions is posted the task.created that holds them,
// and the chain verifies.
func TestInstantTasksEffectsAreInTheirEvent(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", string(webhookKey))
	ep := startEndpoint(t, http.StatusNoContent)
	e := start(t)
	e.apply(org + webhookFile(ep.URL, `"grant.added", "profile.member_added", "grant.removed", "profile.member_removed"`))
	e.notify()
	before := len(ep.requests()) // the file's own grants
	e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	equal(t, "profile.member_added events", len(e.events("--action", "profile.member_added")), 0)
	added := e.events("--action", "grant.added")
	equal(t, "grant.added events (the file's four grants)", len(added), 4)
	for _, ev := range added {
		if strings.Contains(ev.ObjectID, "github/") || strings.Contains(ev.ObjectID, "access-profiles/") {
			t.Errorf("grant.added event %d of %s: the task that gave it holds it", ev.ID, ev.ObjectID)
		}
	}
	type effect struct{ action, objectType, objectID, data string }
	effectsOf := func(ev roster.Event) []effect {
		t.Helper()
		fs, err := ev.Effects()
		if err != nil {
			t.Fatal(err)
		}
		var out []effect
		for _, f := range fs {
			if f.ID != ev.ID || !f.At.Equal(ev.At) || f.Actor != ev.Actor {
				t.Errorf("effect %+v of event %d: not the event's id, time and actor", f, ev.ID)
			}
			out = append(out, effect{string(f.Action), f.ObjectType, f.ObjectID, string(f.Data)})
		}
		return out
	}
	created := e.events("--action", "task.created")
	equal(t, "task.created events", len(created), 4)
	for _, ev := range created {
		d := taskData(t, ev)
		task := e.task("--user", d.User, "--entitlement", d.Entitlement)
		u := task.User
		var want []effect
		if task.Entitlement == "access-profiles/eng" {
			want = []effect{
				{"profile.member_added", "profile", "eng", `{"source":"automation","user":"` + u + `"}`},
				{"grant.added", "grant", u + " access-profiles/eng", `{"sources":["profile:eng"]}`},
			}
		} else {
			want = []effect{{"grant.added", "grant", u + " github/org-member", `{"sources":["profile:eng"]}`}}
		}
		equal(t, "effects of the task.created of task "+id(task), effectsOf(ev), want)
	}
	e.notify()
	posted := ep.requests()[before:]
	equal(t, "messages posted for the enrollments", len(posted), 4)
	for _, r := range posted {
		equal(t, "type", verify(t, r).Type, "task.created")
	}

	// alice leaves: her unenrollment and the revoke of what only eng gave
	// her are done at once too.
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	e.sync("eng")
	equal(t, "profile.member_removed events", len(e.events("--action", "profile.member_removed")), 0)
	removed := e.events("--action", "grant.removed")
	if len(removed) != 1 || removed[0].ObjectID != "alice okta/engineering" {
		t.Fatalf("grant.removed events: %+v, want the admin's removal of alice's okta/engineering alone", removed)
	}
	var effects [][]effect
	for _, ev := range e.events("--action", "task.created")[4:] {
		effects = append(effects, effectsOf(ev))
	}
	equal(t, "effects of the unenrollment and the revoke", effects, [][]effect{
		{{"profile.member_removed", "profile", "eng", `{"user":"alice"}`}, {"grant.removed", "grant", "alice access-profiles/eng", ""}},
		{{"grant.removed", "grant", "alice github/org-member", ""}},
	})
	if _, err := e.srv.Notifier.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "messages posted in all", len(ep.requests()), before+4+1+2)
	if out := e.ok("audrey", "audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %s", out)
	}
}

// taskData reads a task.created event's user and entitlement.
func taskData(t *testing.T, ev roster.Event) struct{ User, Entitlement string } {
	t.Helper()
	var d struct{ User, Entitlement string }
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
