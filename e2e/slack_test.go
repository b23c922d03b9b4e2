package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/server"
)

// slackAPI is an HTTP server that answers the two Web API methods Roster
// calls as Slack does, and checks each call: the bot's token, the method,
// the form or JSON it sends.
type slackAPI struct {
	t     *testing.T
	token string
	// users maps an email to its Slack user id; others are not found.
	users map[string]string

	mu      sync.Mutex
	lookups []string
	posts   []slackPost
	// limit answers the next chat.postMessage with 429 and Retry-After.
	limit string
}

// slackPost is one chat.postMessage the server received.
type slackPost struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
	Blocks  []struct {
		Type string `json:"type"`
		Text struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"elements"`
	} `json:"blocks"`
}

func startSlack(t *testing.T, token string, users map[string]string) (*slackAPI, string) {
	s := &slackAPI{t: t, token: token, users: users}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + "/api/"
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	answer := func(v map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost {
		s.t.Errorf("slack: %s %s, want POST", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.token {
		s.t.Errorf("slack %s: Authorization %q", r.URL.Path, got)
		answer(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch r.URL.Path {
	case "/api/users.lookupByEmail":
		if err := r.ParseForm(); err != nil {
			s.t.Errorf("users.lookupByEmail: %v", err)
		}
		email := r.PostForm.Get("email")
		s.lookups = append(s.lookups, email)
		if id, ok := s.users[email]; ok {
			answer(map[string]any{"ok": true, "user": map[string]any{"id": id, "profile": map[string]any{"email": email}}})
			return
		}
		answer(map[string]any{"ok": false, "error": "users_not_found"})
	case "/api/chat.postMessage":
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.t.Errorf("chat.postMessage: Content-Type %q", ct)
		}
		if s.limit != "" {
			w.Header().Set("Retry-After", s.limit)
			s.limit = ""
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		var p slackPost
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			s.t.Errorf("chat.postMessage: %v", err)
		}
		s.posts = append(s.posts, p)
		answer(map[string]any{"ok": true, "channel": "D" + p.Channel, "ts": fmt.Sprint(len(s.posts))})
	default:
		s.t.Errorf("slack: unexpected call %s", r.URL.Path)
		answer(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// to returns the messages posted to the Slack user id.
func (s *slackAPI) to(id string) []slackPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slackPost
	for _, p := range s.posts {
		if p.Channel == id {
			out = append(out, p)
		}
	}
	return out
}

func (s *slackAPI) lookedUp() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lookups...)
}

// slackSettings sends email through smtp and Slack messages as the bot
// whose token is in ROSTER_SECRET_SLACK_BOT; ivan is told on Slack only
// and bob not at all.
func slackSettings(smtp *smtptest.Server) string {
	return fmt.Sprintf(`
settings:
  base_url: https://roster.example.com
  notifications:
    email: {smtp_host: %s, smtp_port: %d, from: roster@example.com}
    slack: {bot_token_env: ROSTER_SECRET_SLACK_BOT}
users:
  - {id: alice, email: alice@example.com, name: Alice Smith, manager: carol, department: Engineering, title: Staff Engineer}
  - {id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering, notify: none}
  - {id: ivan, email: ivan@example.com, name: Ivan, department: IT, notify: slack}
`, smtp.Host, smtp.Port)
}

// With a bot token, a request reaches its approver by email and as a Slack
// direct message (the user found by email, looked up once per run); the
// approval tells the requester both ways and the provisioner, who chose
// notify: slack, on Slack only.
func TestSlackDirectMessages(t *testing.T) {
	t.Setenv("ROSTER_SECRET_SLACK_BOT", "xoxb-test-token")
	slack, api := startSlack(t, "xoxb-test-token", map[string]string{
		"carol@example.com": "UCAROL", "alice@example.com": "UALICE", "ivan@example.com": "UIVAN", "dave@example.com": "UDAVE"})
	smtp := smtptest.Start(t)
	e := startWith(t, server.Config{BootstrapToken: adminToken, SlackAPIURL: api})
	e.apply(org + emailProfile)
	e.apply(slackSettings(smtp))

	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng", "--comment", "joining the <platform> team")
	e.ok("dave", "profile", "request", "eng")
	e.ok("bob", "profile", "request", "eng")
	equal(t, "delivered", e.notify(), 6)
	equal(t, "emails to carol", len(smtp.To("carol@example.com")), 3)
	dms := slack.to("UCAROL")
	equal(t, "Slack messages to carol", len(dms), 3)
	equal(t, "lookups", slack.lookedUp(), []string{"carol@example.com"})
	link := fmt.Sprintf("https://roster.example.com/tasks/%d", task.ID)
	var dm *slackPost
	for i := range dms {
		if strings.Contains(dms[i].Text, "Alice Smith") {
			dm = &dms[i]
		}
	}
	if dm == nil {
		t.Fatalf("no Slack message to carol about alice: %+v", dms)
	}
	contains(t, "Slack text", dm.Text, "Approve?", "Alice Smith, Staff Engineer, Engineering", "Enroll in Engineering onboarding",
		"joining the <platform> team", "GitHub: admin", link)
	if len(dm.Blocks) != 2 || dm.Blocks[0].Type != "section" || dm.Blocks[1].Type != "actions" || len(dm.Blocks[1].Elements) != 1 {
		t.Fatalf("blocks: %+v", dm.Blocks)
	}
	contains(t, "section", dm.Blocks[0].Text.Text, "*Approve? Alice Smith", "joining the &lt;platform&gt; team")
	equal(t, "button", dm.Blocks[1].Elements[0].URL, link)
	equal(t, "delivered again", e.notify(), 0)

	e.ok("carol", "task", "approve", id(task))
	equal(t, "delivered after the approval", e.notify(), 3)
	contains(t, "requester's email", one(t, smtp, "alice@example.com").Subject, "Approved")
	approved := slack.to("UALICE")
	equal(t, "Slack messages to alice", len(approved), 1)
	contains(t, "requester's Slack message", approved[0].Text, "Approved", link)
	equal(t, "emails to ivan (notify: slack)", len(smtp.To("ivan@example.com")), 0)
	provision := slack.to("UIVAN")
	equal(t, "Slack messages to ivan", len(provision), 1)
	contains(t, "provisioner's Slack message", provision[0].Text, "To do", "GitHub: admin")
	equal(t, "delivered events", len(e.events("--action", "notify.delivered")), 9)
}

// A recipient Slack does not know is given up at once (users_not_found is
// permanent) while their email goes out; a rate limit waits Retry-After.
func TestSlackUnknownUserAndRateLimit(t *testing.T) {
	t.Setenv("ROSTER_SECRET_SLACK_BOT", "xoxb-test-token")
	slack, api := startSlack(t, "xoxb-test-token", map[string]string{"alice@example.com": "UALICE"})
	smtp := smtptest.Start(t)
	e := startWith(t, server.Config{BootstrapToken: adminToken, SlackAPIURL: api})
	e.apply(org + emailProfile)
	e.apply(slackSettings(smtp))
	ctx := context.Background()

	// carol is not in Slack: her emails go, her Slack messages are given
	// up, after one lookup.
	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng")
	e.ok("dave", "profile", "request", "eng")
	equal(t, "delivered", e.notify(), 2)
	equal(t, "emails to carol", len(smtp.To("carol@example.com")), 2)
	failed := e.events("--action", "notify.failed")
	if len(failed) != 2 || !strings.Contains(failed[0].Reason, "users_not_found") || !strings.Contains(failed[1].Reason, "users_not_found") {
		t.Fatalf("notify.failed events: %+v", failed)
	}
	e.clock.Advance(24 * time.Hour)
	equal(t, "delivered a day later", e.notify(), 0)
	equal(t, "lookups of carol", len(slack.lookedUp()), 1)

	// Slack limits the rate: the message waits Retry-After (300s), longer
	// than the first backoff, then goes once.
	slack.limit = "300"
	e.ok("carol", "task", "deny", id(task), "--comment", "not now")
	equal(t, "delivered while limited", e.notify(), 1) // the email
	e.clock.Advance(2 * time.Minute)
	if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("delivered %d (err %v) before Retry-After", n, err)
	}
	e.clock.Advance(4 * time.Minute)
	equal(t, "delivered after Retry-After", e.notify(), 1)
	denied := slack.to("UALICE")
	equal(t, "Slack messages to alice", len(denied), 1)
	contains(t, "denial", denied[0].Text, "Denied", "not now")
}

// settings.notifications.slack as the SPEC writes it applies, is shown and
// removed with null; a bot_token_env without the secret prefix is refused.
func TestSlackSettings(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.applyFails("settings.notifications.slack.bot_token_env", adminUser, `
settings:
  notifications:
    slack: {bot_token_env: SLACK_BOT_TOKEN}
`)
	e.applyFails("settings.notifications.slack.bot_token_env", adminUser, `
settings:
  notifications:
    slack: {}
`)
	e.apply(`
settings:
  notifications:
    slack: {bot_token_env: ROSTER_SECRET_SLACK_BOT}
`)
	var s roster.Settings
	e.json(&s, adminUser, "settings", "show")
	if s.Notifications.Slack == nil || s.Notifications.Slack.BotTokenEnv != "ROSTER_SECRET_SLACK_BOT" {
		t.Fatalf("settings.notifications.slack: %+v", s.Notifications.Slack)
	}
	e.apply("settings:\n  notifications:\n    slack: null\n")
	s = roster.Settings{}
	e.json(&s, adminUser, "settings", "show")
	if s.Notifications.Slack != nil {
		t.Fatalf("slack: null left %+v", s.Notifications.Slack)
	}
}
