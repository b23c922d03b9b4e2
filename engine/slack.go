package engine

// Slack direct messages: the same message an email tells, sent by the
// tenant's Slack bot to the recipient, found by their email address
// (users.lookupByEmail, then chat.postMessage to their user id).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// DefaultSlackAPIURL is where Slack's Web API is (Config.SlackAPIURL).
const DefaultSlackAPIURL = "https://slack.com/api/"

// checkSlackSettings refuses a bot_token_env whose name breaks the rule
// connectors' settings follow (roster serve --secret-env-prefix).
func (e *Engine) checkSlackSettings(s *roster.SlackSettings) error {
	if s == nil {
		return nil
	}
	if err := e.access.CheckEnv("notifications.slack.bot_token_env", s.BotTokenEnv); err != nil {
		return roster.Errorf(roster.EINVALID, "%v", err)
	}
	return nil
}

// channels returns the channels a user who chose notify is told on: email
// when the tenant sends email and they chose it; Slack when the tenant has a
// bot and they chose email or slack. With a bot token everyone told by email
// is also told on Slack; notify: slack means Slack only.
func channels(n roster.Notifications, notify string) []string {
	var out []string
	if n.Email != nil && notify == roster.NotifyEmail {
		out = append(out, roster.ChannelEmail)
	}
	if n.Slack != nil && (notify == roster.NotifyEmail || notify == roster.NotifySlack) {
		out = append(out, roster.ChannelSlackDM)
	}
	return out
}

// slackMessage is the payload of a Slack direct message: the email's text,
// and blocks with its subject, its text and a button to the link.
type slackMessage struct {
	Channel string           `json:"channel,omitempty"`
	Text    string           `json:"text"`
	Blocks  []map[string]any `json:"blocks,omitempty"`
}

// maxSlackSection is the most characters a section block's text may hold.
const maxSlackSection = 3000

// newSlackMessage turns the email m into a Slack message.
func newSlackMessage(m *roster.Email, link, ask string) slackMessage {
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m.Text), "-- Roster"))
	text := "*" + slackEscape(m.Subject) + "*\n" + slackEscape(body)
	if len(text) > maxSlackSection {
		text = strings.ToValidUTF8(text[:maxSlackSection-1], "") + "…"
	}
	msg := slackMessage{Text: m.Subject + "\n\n" + body,
		Blocks: []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}}}
	if link != "" {
		msg.Blocks = append(msg.Blocks, map[string]any{"type": "actions", "elements": []map[string]any{{
			"type": "button", "url": link, "text": map[string]any{"type": "plain_text", "text": ask}}}})
	}
	return msg
}

// slackEscape escapes the characters Slack's mrkdwn gives a meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// deliveryError is a failed delivery that says how to retry it: never
// (permanent), or not before retryAfter.
type deliveryError struct {
	err        error
	permanent  bool
	retryAfter time.Duration
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

// slackRun sends the Slack messages of one run of the notifier: the bot's
// token is read once, and each recipient's Slack id is looked up once.
type slackRun struct {
	n     *Notifier
	token string
	err   error
	ids   map[string]string
	// missing holds the lookups that failed for good (users_not_found).
	missing map[string]error
}

// newSlackRun reads the tenant's Slack settings and the bot's token.
func (n *Notifier) newSlackRun(ctx context.Context) *slackRun {
	r := &slackRun{n: n, ids: map[string]string{}, missing: map[string]error{}}
	var s *roster.Settings
	err := n.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		s, err = tx.Settings(ctx)
		return err
	})
	switch {
	case err != nil:
		r.err = fmt.Errorf("read settings: %w", err)
	case s.Notifications.Slack == nil:
		r.err = errors.New("settings.notifications.slack is not set: no Slack bot to send as")
	default:
		name := s.Notifications.Slack.BotTokenEnv
		if r.err = n.engine.checkSlackSettings(s.Notifications.Slack); r.err == nil {
			if r.token = os.Getenv(name); r.token == "" {
				r.err = fmt.Errorf("settings.notifications.slack: environment variable %s is not set", name)
			}
		}
	}
	return r
}

// send sends msg as a direct message to the Slack user whose email is its
// target.
func (r *slackRun) send(ctx context.Context, msg roster.Notification) error {
	if r.err != nil {
		return r.err
	}
	var m slackMessage
	if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
		return &deliveryError{err: fmt.Errorf("read the message: %w", err), permanent: true}
	}
	if err := r.missing[msg.Target]; err != nil {
		return err
	}
	id, ok := r.ids[msg.Target]
	if !ok {
		var user struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		form := url.Values{"email": {msg.Target}}.Encode()
		if err := r.call(ctx, "users.lookupByEmail", "application/x-www-form-urlencoded", []byte(form), &user); err != nil {
			if de := (*deliveryError)(nil); errors.As(err, &de) && de.permanent {
				r.missing[msg.Target] = err
			}
			return err
		}
		if id = user.User.ID; id == "" {
			return &deliveryError{err: errors.New("slack users.lookupByEmail: no user id in the answer"), permanent: true}
		}
		r.ids[msg.Target] = id
	}
	m.Channel = id
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return r.call(ctx, "chat.postMessage", "application/json; charset=utf-8", body, nil)
}

// call calls the Web API method with body and decodes its answer into out.
// Slack answers 200 with {"ok": false, "error": CODE} when a call fails:
// rate limits, Slack's own errors, the token's errors and 5xx are retried
// (not before Retry-After when given); any other error, such as
// users_not_found, is permanent.
func (r *slackRun) call(ctx context.Context, method, contentType string, body []byte, out any) error {
	base := cmpOr(r.n.engine.slackAPI, DefaultSlackAPIURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("slack %s: %w", method, err)
	}
	defer resp.Body.Close()
	retryAfter := time.Duration(0)
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = time.Duration(secs) * time.Second
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5 {
		return &deliveryError{err: fmt.Errorf("slack %s: %s", method, resp.Status), retryAfter: retryAfter}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("slack %s: read the answer: %w", method, err)
	}
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(raw, &answer) != nil {
		return &deliveryError{err: fmt.Errorf("slack %s answered %s", method, resp.Status), permanent: resp.StatusCode/100 == 4}
	}
	if !answer.OK {
		switch answer.Error {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
			// The bot's token or scopes, which an admin may fix.
			"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "missing_scope", "no_permission":
			return &deliveryError{err: fmt.Errorf("slack %s: %s", method, answer.Error), retryAfter: retryAfter}
		}
		return &deliveryError{err: fmt.Errorf("slack %s: %s", method, cmpOr(answer.Error, "failed")), permanent: true}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("slack %s: read the answer: %w", method, err)
		}
	}
	return nil
}
