package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
)

// Notifier delivers outgoing notifications (Slack incoming-webhook posts,
// emails through the tenant's SMTP server) from the store's outbox, retrying
// failures with exponential backoff. Tests call RunOnce; it tries every due
// notification once and returns how many were delivered.
type Notifier struct {
	*Worker[roster.Notification]
	client *http.Client
	// MaxAttempts is how often a notification is tried before it is given up.
	MaxAttempts int
}

// NewNotifier returns a notifier over e that looks for due notifications
// every tick.
func NewNotifier(e *Engine, tick time.Duration) *Notifier {
	n := &Notifier{client: &http.Client{Timeout: 10 * time.Second}, MaxAttempts: 8}
	n.Worker = newWorker(e, tick, workerConfig{name: "notifier", lease: "notifier", wake: e.notify, passes: notifyPasses}, n)
	return n
}

// A notifier's run reads notifyBatch due messages at a time, sends them
// (the emails over one SMTP connection) and records them in one
// transaction, and reads again while some are due, up to notifyPasses
// times: 10,000 emails enqueued at once go out in one run. Each pass checks
// that this replica still holds the lease, and a pass stops sending after
// passBudget, so that no other replica takes the lease over while messages
// it could send again are in flight.
const (
	notifyBatch  = 500
	notifyPasses = 200
	passBudget   = LeaseTTL / 4
)

// backoff is the wait after the n-th failed attempt: 10s, 20s, 40s, … capped at
// one hour.
func backoff(n int) time.Duration {
	d := 10 * time.Second << (n - 1)
	if n > 9 || d > time.Hour {
		return time.Hour
	}
	return d
}

// due lists the notifications due for an attempt.
func (n *Notifier) due(ctx context.Context) ([]roster.Notification, error) {
	// The webhook messages of queued events are enqueued as they are
	// sealed.
	if err := n.engine.sealed(ctx); err != nil {
		return nil, err
	}
	var due []roster.Notification
	err := n.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		due, err = tx.DueNotifications(ctx, n.engine.clock.Now(), notifyBatch)
		return err
	})
	return due, err
}

// The notifier's due messages are delivered together: the emails of a run
// over one SMTP connection.
var _ batchJob[roster.Notification] = (*Notifier)(nil)

// process tries to deliver msg once and records the attempt: delivered, or
// due again after a backoff, or given up after MaxAttempts. It reports
// whether msg was delivered.
func (n *Notifier) process(ctx context.Context, msg roster.Notification) (bool, error) {
	out := n.processAll(ctx, []roster.Notification{msg})[0]
	return out.done, out.err
}

// processAll tries to deliver each of msgs once and records the attempts.
// The emails go over one SMTP connection: a server that cannot be reached
// fails them all at once, so it costs one timeout, not one per message.
func (n *Notifier) processAll(ctx context.Context, msgs []roster.Notification) []outcome {
	sendErrs := make([]error, len(msgs))
	// untried are the messages to a webhook that failed earlier in the run:
	// they wait a backoff without an attempt, so an endpoint that is down
	// costs one timeout per run, not one per message.
	untried := make([]bool, len(msgs))
	failedHooks := map[string]error{}
	var emails []int
	var slack *slackRun
	for i, msg := range msgs {
		switch msg.Channel {
		case roster.ChannelEmail:
			emails = append(emails, i)
			continue
		case roster.ChannelSlackDM:
			if slack == nil {
				slack = n.newSlackRun(ctx)
			}
			sendErrs[i] = slack.send(ctx, msg)
			continue
		}
		if msg.Channel == roster.ChannelWebhook {
			if err, failed := failedHooks[msg.Target]; failed {
				untried[i], sendErrs[i] = true, fmt.Errorf("not tried: an earlier message to the webhook failed: %w", err)
				continue
			}
			if sendErrs[i] = n.deliverWebhook(ctx, msg); sendErrs[i] != nil {
				failedHooks[msg.Target] = sendErrs[i]
			}
			continue
		}
		sendErrs[i] = n.post(ctx, msg)
	}
	if len(emails) > 0 {
		batch := make([]roster.Notification, len(emails))
		for j, i := range emails {
			batch[j] = msgs[i]
		}
		for j, err := range n.mailAll(ctx, batch) {
			sendErrs[emails[j]] = err
		}
	}
	// What a webhook endpoint, Slack or an SMTP server answered is an
	// outside system's text: cut before it is kept, logged or shown.
	for i := range sendErrs {
		sendErrs[i] = connector.Cut(sendErrs[i])
	}
	// What was sent is recorded even when the run is stopping: else it
	// would be sent again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SMTPTimeout)
	defer cancel()
	outs := make([]outcome, len(msgs))
	err := n.recordAll(ctx, msgs, sendErrs, untried)
	if err == nil {
		for i, msg := range msgs {
			if sendErrs[i] != nil && !errors.Is(sendErrs[i], errNotSent) {
				n.engine.logger.Warn("notification delivery failed", "id", msg.ID, "channel", msg.Channel, "attempt", msg.Attempts+1, "error", sendErrs[i])
			}
			outs[i] = outcome{done: sendErrs[i] == nil}
		}
		return outs
	}
	n.engine.logger.Warn("could not record a pass's deliveries together: recording them one by one", "messages", len(msgs), "error", err)
	// Each attempt is then recorded in its own transaction: one that fails
	// to be recorded stays due without holding back the others.
	for i, msg := range msgs {
		if errors.Is(sendErrs[i], errNotSent) {
			continue
		}
		err := n.engine.updateAs(ctx, ActorSystem, func(o *op) error {
			if untried[i] {
				return n.postpone(o, msg, sendErrs[i])
			}
			return n.record(o, msg, sendErrs[i])
		})
		if err != nil {
			outs[i] = outcome{err: err}
			continue
		}
		if sendErrs[i] != nil {
			n.engine.logger.Warn("notification delivery failed", "id", msg.ID, "channel", msg.Channel, "attempt", msg.Attempts+1, "error", sendErrs[i])
		}
		outs[i] = outcome{done: sendErrs[i] == nil}
	}
	return outs
}

// errNotSent is the error of a message a pass did not send, its time being
// up (passBudget): it stays due as it was, not attempted.
var errNotSent = errors.New("not sent in this pass: its time was up")

// recordAll records the attempts of a pass in one transaction: the
// deliveries in one statement, each failure as record does.
func (n *Notifier) recordAll(ctx context.Context, msgs []roster.Notification, sendErrs []error, untried []bool) error {
	return n.engine.updateAs(ctx, ActorSystem, func(o *op) error {
		var delivered []int64
		for i, msg := range msgs {
			switch {
			case errors.Is(sendErrs[i], errNotSent):
			case untried[i]:
				if err := n.postpone(o, msg, sendErrs[i]); err != nil {
					return err
				}
			case sendErrs[i] == nil:
				delivered = append(delivered, msg.ID)
				if err := o.audit(roster.ActionNotifyDelivered, "notification", fmt.Sprint(msg.ID), msg.Channel, nil); err != nil {
					return err
				}
			default:
				if err := n.record(o, msg, sendErrs[i]); err != nil {
					return err
				}
			}
		}
		return o.tx.MarkNotificationsDelivered(o.ctx, delivered, o.now)
	})
}

// record records one attempt to deliver msg, which failed with sendErr or
// succeeded.
func (n *Notifier) record(o *op, msg roster.Notification, sendErr error) error {
	// msg is a copy: the store may run the transaction again.
	msg.Attempts++
	if sendErr == nil {
		now := o.now
		msg.DeliveredAt, msg.LastError = &now, ""
		if err := o.tx.UpdateNotification(o.ctx, &msg); err != nil {
			return err
		}
		return o.audit(roster.ActionNotifyDelivered, "notification", fmt.Sprint(msg.ID), msg.Channel, nil)
	}
	msg.LastError = sendErr.Error()
	msg.NextAt = o.now.Add(backoff(msg.Attempts))
	var de *deliveryError
	if errors.As(sendErr, &de) && de.retryAfter > backoff(msg.Attempts) {
		msg.NextAt = o.now.Add(de.retryAfter)
	}
	if de != nil && de.permanent {
		// Trying again would fail again (users_not_found).
		msg.NextAt = o.now.Add(givenUp)
		if err := o.audit(roster.ActionNotifyFailed, "notification", fmt.Sprint(msg.ID), "gave up: "+msg.LastError, nil); err != nil {
			return err
		}
	} else if msg.Attempts >= n.MaxAttempts {
		msg.NextAt = o.now.Add(givenUp)
		if err := o.audit(roster.ActionNotifyFailed, "notification", fmt.Sprint(msg.ID), "gave up after "+fmt.Sprint(msg.Attempts)+" attempts: "+msg.LastError, nil); err != nil {
			return err
		}
	}
	return o.tx.UpdateNotification(o.ctx, &msg)
}

// givenUp is how far a message given up is put off: never tried again.
const givenUp = 100 * 365 * 24 * time.Hour

// gaveUp reports whether msg was given up as of now.
func gaveUp(msg *roster.Notification, now time.Time) bool {
	return msg.DeliveredAt == nil && msg.NextAt.Sub(now) > givenUp/2
}

// postpone makes msg due again after the backoff of its attempts so far,
// without counting an attempt.
func (n *Notifier) postpone(o *op, msg roster.Notification, why error) error {
	msg.LastError = why.Error()
	msg.NextAt = o.now.Add(backoff(max(msg.Attempts, 1)))
	return o.tx.UpdateNotification(o.ctx, &msg)
}

func (n *Notifier) key(msg roster.Notification) string { return fmt.Sprint("notification ", msg.ID) }

// envTarget starts the target of a notification whose URL is read, when it
// is sent, from the environment variable named after it
// (settings.slack_webhook_url_env).
const envTarget = "env:"

// target returns the URL a notification goes to: its target, or the value
// of the variable its target names, which must still start with the secret
// prefix. The error names the variable, never its value.
func (n *Notifier) target(msg roster.Notification) (string, error) {
	name, ok := strings.CutPrefix(msg.Target, envTarget)
	if !ok {
		return msg.Target, nil
	}
	if err := n.engine.access.CheckEnv("slack_webhook_url_env", name); err != nil {
		return "", err
	}
	v := os.Getenv(name)
	if u, err := url.Parse(v); v == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("settings.slack_webhook_url_env: environment variable %s does not hold an http or https URL", name)
	}
	return v, nil
}

func (n *Notifier) post(ctx context.Context, msg roster.Notification) error {
	target, err := n.target(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewBufferString(msg.Payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		// Not the *url.Error's text: it carries the URL, a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
