package engine

// Outbound webhooks: declaring them in a file, enqueueing a message for each
// audit event a webhook asks for in the transaction that appends the event,
// and delivering the messages, signed as Standard Webhooks says
// (https://www.standardwebhooks.com), from the notifier.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine/internal/same"
)

// webhookTimeout bounds one delivery attempt: a slow endpoint costs the
// notifier this much, and the engine nothing.
const webhookTimeout = 5 * time.Second

// webhookClient posts webhook messages. It follows no redirect: the
// endpoint's 3xx is its answer, a failure like any other, so a message never
// goes to an address the file did not declare.
var webhookClient = &http.Client{
	Timeout:       webhookTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// CheckEnv checks the name of an environment variable a setting reads
// against the secret prefix rule (the declarative parser asks).
func (k *known) CheckEnv(setting, name string) error {
	return k.o.e.checkSecretEnv(name)
}

// checkSecretEnv refuses the name of an environment variable that does not
// start with the secret prefix (roster serve --secret-env-prefix), as
// connectors' *_env settings do.
func (e *Engine) checkSecretEnv(name string) error {
	prefix := e.access.EnvPrefix
	if prefix == "" {
		prefix = "ROSTER_SECRET_"
	}
	if !strings.HasPrefix(name, prefix) {
		return fmt.Errorf("%s does not start with %s: Roster reads only the environment variables whose names do (roster serve --secret-env-prefix)", name, prefix)
	}
	return nil
}

// applyWebhook upserts a webhook declared in a file into the settings.
func (a *applier) applyWebhook(w roster.Webhook) error {
	if err := a.e.checkSecretEnv(w.SecretEnv); err != nil {
		return roster.Errorf(roster.EINVALID, "webhook %s: secret_env: %v", w.ID, err)
	}
	for _, p := range w.Events {
		if len(roster.ActionsMatching(p)) == 0 {
			return roster.Errorf(roster.EINVALID, "webhook %s: events: %q matches no audit action", w.ID, p)
		}
	}
	old, err := a.tenant()
	if err != nil {
		return err
	}
	s := *old
	s.Webhooks = slices.Clone(old.Webhooks)
	i, found := slices.BinarySearchFunc(s.Webhooks, w.ID, func(h roster.Webhook, id string) int { return strings.Compare(h.ID, id) })
	action := roster.ActionWebhookCreated
	var data any = w
	if found {
		if same.Content(s.Webhooks[i], w) {
			a.same()
			return nil
		}
		action, data = roster.ActionWebhookUpdated, same.Changes(s.Webhooks[i], w)
		s.Webhooks[i] = w
	} else {
		s.Webhooks = slices.Insert(s.Webhooks, i, w)
	}
	if err := a.tx.PutSettings(a.ctx, &s); err != nil {
		return err
	}
	a.settings = &s
	a.line("webhook", fmt.Sprintf("%s webhook %s", action.Verb(), w.ID))
	if a.planned != nil {
		d, _ := data.(*same.Diff)
		a.planned.change("webhook", w.ID, d)
	}
	return a.audit(action, "webhook", w.ID, a.why(), data)
}

// hooks is the tenant's webhooks with their patterns compiled: the actions
// each one posts.
type hooks struct {
	// from is the settings they were compiled from.
	from  *roster.Settings
	hooks []hook
}

type hook struct {
	id      string
	actions map[roster.AuditAction]bool
	// effects says the hook asks for an action an instant task's
	// task.created may stand for (roster.EffectActions).
	effects bool
}

// webhooks returns the op's compiled webhooks, compiling them again when
// the op's settings changed (an apply that declares one).
func (o *op) webhooks() ([]hook, error) {
	s, err := o.tenant()
	if err != nil {
		return nil, err
	}
	if o.hooks.from == s {
		return o.hooks.hooks, nil
	}
	o.hooks = hooks{from: s}
	for _, w := range s.Webhooks {
		if !w.Enabled {
			continue
		}
		h := hook{id: w.ID, actions: map[roster.AuditAction]bool{}}
		for _, p := range w.Events {
			for _, a := range roster.ActionsMatching(p) {
				h.actions[a] = true
				h.effects = h.effects || slices.Contains(roster.EffectActions, a)
			}
		}
		o.hooks.hooks = append(o.hooks.hooks, h)
	}
	return o.hooks.hooks, nil
}

// webhookMessage is the body of a webhook message.
type webhookMessage struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// enqueueWebhooks enqueues, in the op's transaction, one message per
// webhook for each of evs (appended, so with their ids and hashes) whose
// action it asks for. Events about notifications are never posted:
// delivering a message would post another. Each message's key names the
// webhook and the event, so it is enqueued once whoever appends it.
func (o *op) enqueueWebhooks(evs []*roster.Event) error {
	hs, err := o.webhooks()
	if err != nil || len(hs) == 0 {
		return err
	}
	for _, ev := range evs {
		if ev.ObjectType == "notification" {
			continue
		}
		var body []byte
		for _, h := range hs {
			if !h.wants(ev) {
				continue
			}
			if body == nil {
				if body, err = json.Marshal(webhookMessage{Type: string(ev.Action), Timestamp: ev.At, Data: ev}); err != nil {
					return fmt.Errorf("encode webhook message of event %d: %w", ev.ID, err)
				}
			}
			n := &roster.Notification{At: o.now, Channel: roster.ChannelWebhook, Target: h.id, Payload: string(body),
				Key: webhookKey(h.id, ev.ID), NextAt: o.now}
			if err := o.enqueue(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// wants reports whether h asks for ev: for its action, or for one of the
// events it stands for — the task.created of a task done the moment it was
// created stands for its task.done and for the events folded into it
// (roster.Event.Effects), such as the grant.added of the access it gave,
// and a webhook that asks for those gets it.
func (h hook) wants(ev *roster.Event) bool {
	if h.actions[ev.Action] {
		return true
	}
	if ev.Action != roster.ActionTaskCreated {
		return false
	}
	if h.actions[roster.ActionTaskDone] && ev.CreatedDone() {
		return true
	}
	if !h.effects {
		return false
	}
	effects, _ := ev.Effects() // the op's own encoding
	for _, f := range effects {
		if h.actions[f.Action] {
			return true
		}
	}
	return false
}

// webhookKey is the outbox key of the message of event to webhook.
func webhookKey(webhook string, event int64) string {
	return fmt.Sprintf("webhook %s event %d", webhook, event)
}

// webhookMessageID is the webhook-id of a message, the same on every
// attempt, which receivers deduplicate by: msg_<event id>_<webhook id>.
func webhookMessageID(msg roster.Notification) string {
	f := strings.Fields(msg.Key)
	if len(f) == 4 && f[0] == "webhook" && f[2] == "event" {
		return "msg_" + f[3] + "_" + f[1]
	}
	return fmt.Sprintf("msg_n%d_%s", msg.ID, msg.Target)
}

// webhook returns the declared webhook id.
func (o *op) webhook(id string) (*roster.Webhook, error) {
	s, err := o.tenant()
	if err != nil {
		return nil, err
	}
	for _, w := range s.Webhooks {
		if w.ID == id {
			return &w, nil
		}
	}
	return nil, roster.Errorf(roster.ENOTFOUND, "webhook %q is not declared", id)
}

// sendWebhook posts body to w, signed with the secret read now from
// w.SecretEnv, and returns the endpoint's status code (0 when it did not
// answer) and an error unless it answered 2xx.
func (e *Engine) sendWebhook(ctx context.Context, w *roster.Webhook, msgID string, body []byte) (int, error) {
	if err := e.checkSecretEnv(w.SecretEnv); err != nil {
		return 0, fmt.Errorf("webhook %s: secret_env: %w", w.ID, err)
	}
	secret, err := webhookSecret(os.Getenv(w.SecretEnv))
	if err != nil {
		return 0, fmt.Errorf("webhook %s: environment variable %s: %w", w.ID, w.SecretEnv, err)
	}
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Webhooks")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+signWebhook(secret, msgID, ts, body))
	resp, err := webhookClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("post to webhook %s: %w", w.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("webhook %s answered %s", w.ID, resp.Status)
	}
	return resp.StatusCode, nil
}

// webhookSecret returns the signing key a secret stands for: with the
// Standard Webhooks prefix whsec_, the base64 that follows decoded; the
// bytes of the secret otherwise.
func webhookSecret(v string) ([]byte, error) {
	if v == "" {
		return nil, errors.New("is not set or empty")
	}
	if rest, ok := strings.CutPrefix(v, "whsec_"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("starts with whsec_ but the rest is not base64")
		}
		return b, nil
	}
	return []byte(v), nil
}

// signWebhook returns the base64 HMAC-SHA256 of "id.timestamp.body".
func signWebhook(secret []byte, msgID, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msgID + "." + ts + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// deliverWebhook tries a webhook message once.
func (n *Notifier) deliverWebhook(ctx context.Context, msg roster.Notification) error {
	var w *roster.Webhook
	err := n.engine.view(ctx, func(o *op) (err error) {
		w, err = o.webhook(msg.Target)
		return err
	})
	if err != nil {
		return err
	}
	_, err = n.engine.sendWebhook(ctx, w, webhookMessageID(msg), []byte(msg.Payload))
	return err
}

// Webhooks lists the webhooks with the outcome of the message each tried
// last (admins and auditors).
func (e *Engine) Webhooks(ctx context.Context) ([]roster.WebhookStatus, error) {
	var out []roster.WebhookStatus
	err := e.view(ctx, func(o *op) error {
		if _, err := o.requireReader("list webhooks"); err != nil {
			return err
		}
		s, err := o.tenant()
		if err != nil {
			return err
		}
		out = make([]roster.WebhookStatus, 0, len(s.Webhooks))
		for _, w := range s.Webhooks {
			st := roster.WebhookStatus{Webhook: w, State: roster.WebhookIdle}
			last, err := o.tx.LatestNotification(o.ctx, roster.ChannelWebhook, w.ID)
			if err == nil {
				st.LastMessage, st.Attempts = webhookMessageID(*last), last.Attempts
				st.LastDeliveredAt, st.LastError = last.DeliveredAt, last.LastError
				switch {
				case last.DeliveredAt != nil:
					st.State = roster.WebhookDelivered
				case gaveUp(last, o.now):
					st.State = roster.WebhookGaveUp
				default:
					st.State, st.NextAttemptAt = roster.WebhookRetrying, &last.NextAt
				}
			} else if roster.ErrorCode(err) != roster.ENOTFOUND {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// TestWebhook sends a webhook.test message to webhook id now, outside the
// outbox, and reports the endpoint's answer (admins).
func (e *Engine) TestWebhook(ctx context.Context, id string) (*roster.WebhookTestResult, error) {
	var w *roster.Webhook
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireAdmin("test webhooks"); err != nil {
			return err
		}
		w, err = o.webhook(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := e.clock.Now().UTC()
	res := &roster.WebhookTestResult{Webhook: id, MessageID: fmt.Sprintf("msg_test%d_%s", now.UnixNano(), id)}
	body, err := json.Marshal(webhookMessage{Type: "webhook.test", Timestamp: now, Data: map[string]string{"webhook": id}})
	if err != nil {
		return nil, err
	}
	res.Status, err = e.sendWebhook(ctx, w, res.MessageID, body)
	answer := fmt.Sprintf("answered %d", res.Status)
	if err != nil {
		res.Error = connector.Cut(err).Error()
		answer = res.Error
	}
	err = e.update(ctx, func(o *op) error {
		return o.audit(roster.ActionWebhookTested, "webhook", id, answer, map[string]any{"message_id": res.MessageID, "status": res.Status})
	})
	return res, err
}
