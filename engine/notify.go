package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rosterhq/roster"
)

// Notifier delivers outgoing notifications (Slack incoming-webhook posts) from
// the store's outbox, retrying failures with exponential backoff. Tests call
// RunOnce.
type Notifier struct {
	engine *Engine
	client *http.Client
	// Tick is how often the notifier looks for due notifications.
	Tick time.Duration
	// MaxAttempts is how often a notification is tried before it is given up.
	MaxAttempts int
	loop
}

// NewNotifier returns a notifier over e.
func NewNotifier(e *Engine, tick time.Duration) *Notifier {
	return &Notifier{engine: e, client: &http.Client{Timeout: 10 * time.Second}, Tick: tick, MaxAttempts: 8}
}

// backoff is the wait after the n-th failed attempt: 10s, 20s, 40s, … capped at
// one hour.
func backoff(n int) time.Duration {
	d := 10 * time.Second << (n - 1)
	if n > 9 || d > time.Hour {
		return time.Hour
	}
	return d
}

// RunOnce tries every due notification once and returns how many were
// delivered.
func (n *Notifier) RunOnce(ctx context.Context) (int, error) {
	e := n.engine
	if leader, err := e.lead(ctx, "notifier"); err != nil || !leader {
		return 0, err
	}
	var due []roster.Notification
	err := e.store.View(ctx, func(tx roster.Tx) (err error) {
		due, err = tx.DueNotifications(ctx, e.clock.Now(), 100)
		return err
	})
	if err != nil {
		return 0, err
	}
	delivered := 0
	for _, msg := range due {
		sendErr := n.post(ctx, msg)
		err := e.updateAs(ctx, ActorSystem, func(o *op) error {
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
			if msg.Attempts >= n.MaxAttempts {
				msg.NextAt = o.now.Add(100 * 365 * 24 * time.Hour)
				if err := o.audit(roster.ActionNotifyFailed, "notification", fmt.Sprint(msg.ID), "gave up after "+fmt.Sprint(msg.Attempts)+" attempts: "+msg.LastError, nil); err != nil {
					return err
				}
			}
			return o.tx.UpdateNotification(o.ctx, &msg)
		})
		if err != nil {
			return delivered, err
		}
		if sendErr == nil {
			delivered++
		} else {
			e.logger.Warn("notification delivery failed", "id", msg.ID, "attempt", msg.Attempts, "error", sendErr)
		}
	}
	return delivered, nil
}

func (n *Notifier) post(ctx context.Context, msg roster.Notification) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, msg.Target, bytes.NewBufferString(msg.Payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Start runs it in the background until Stop.
func (n *Notifier) Start(ctx context.Context) {
	n.loop.start(ctx, n.engine, "notification delivery", n.Tick, nil, n.RunOnce)
}
