package sqlstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/paging"
)

// --- events ---

const eventColumns = `id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer`

// scanEvent scans a row of eventColumns.
func scanEvent(r Row) (roster.Event, error) {
	var v struct {
		ev   roster.Event
		at   timeDest
		data []byte
		hash []byte
	}
	if err := r.Scan(&v.ev.ID, &v.at, &v.ev.Actor, &v.ev.Action, &v.ev.ObjectType, &v.ev.ObjectID, &v.ev.Reason, &v.data, &v.hash, &v.ev.Token, &v.ev.Issuer); err != nil {
		return v.ev, err
	}
	if v.hash != nil {
		v.ev.Hash = hex.EncodeToString(v.hash)
	}
	v.ev.At = v.at.T
	if v.data != nil {
		v.ev.Data = json.RawMessage(v.data)
	}
	return v.ev, nil
}

// CheckEvent returns EINVALID when ev's data is set but not valid JSON.
func CheckEvent(ev *roster.Event) error {
	if len(ev.Data) > 0 && !roster.CanonicalData(ev.Data) && !json.Valid(ev.Data) {
		return roster.Errorf(roster.EINVALID, "event %s: data is not valid JSON", ev.Action)
	}
	return nil
}

// Events returns one page of events, ordered by id.
func (t *Tx) Events(ctx context.Context, f roster.EventFilter) (*roster.Page[roster.Event], error) {
	var w where
	w.eq("action", string(f.Action))
	w.eq("actor", f.Actor)
	w.eq("object_type", f.ObjectType)
	w.eq("object_id", f.ObjectID)
	if len(f.Actions) > 0 {
		marks := strings.Repeat("?, ", len(f.Actions))
		args := make([]any, len(f.Actions))
		for i, a := range f.Actions {
			args[i] = string(a)
		}
		w.add("action IN ("+marks[:len(marks)-2]+")", args...)
	}
	e := t.enc()
	if !f.Since.IsZero() {
		w.add("at >= ?", e.time(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("at < ?", e.time(f.Until))
	}
	if e.err != nil {
		return nil, e.err
	}
	order := "id"
	if f.Newest {
		order = "id DESC"
		if err := t.beforeID(&w, f.Cursor); err != nil {
			return nil, err
		}
	} else if err := t.afterID(&w, f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanEvent, `SELECT `+eventColumns+` FROM events`, &w, order, f.Limit,
		func(ev *roster.Event) any { return intKey{ID: &ev.ID} })
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return p, nil
}

// --- notifications ---

const notificationColumns = `id, at, channel, target, payload, dedup_key, attempts, delivered_at, last_error, next_at`

// scanNotification scans a row of notificationColumns.
func scanNotification(r Row) (roster.Notification, error) {
	var v struct {
		n           roster.Notification
		at, next    timeDest
		deliveredAt nullTime
	}
	if err := r.Scan(&v.n.ID, &v.at, &v.n.Channel, &v.n.Target, &v.n.Payload, &v.n.Key, &v.n.Attempts,
		&v.deliveredAt, &v.n.LastError, &v.next); err != nil {
		return v.n, err
	}
	v.n.At, v.n.NextAt, v.n.DeliveredAt = v.at.T, v.next.T, v.deliveredAt.T
	return v.n, nil
}

// notificationArgs returns the values of notificationColumns but id, in
// order.
func (t *Tx) notificationArgs(n *roster.Notification) ([]any, error) {
	e := t.enc()
	args := []any{e.time(n.At), n.Channel, n.Target, n.Payload, n.Key, n.Attempts,
		e.timePtr(n.DeliveredAt), n.LastError, e.time(n.NextAt)}
	return args, e.err
}

// EnqueueNotification stores an outgoing notification and sets its ID. A
// notification whose Key is already in the outbox is not stored again: its
// ID is left 0.
func (t *Tx) EnqueueNotification(ctx context.Context, n *roster.Notification) error {
	args, err := t.notificationArgs(n)
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	ids, err := List(ctx, t.Q, ScanInt64, `
		INSERT INTO notifications (at, channel, target, payload, dedup_key, attempts, delivered_at, last_error, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dedup_key) WHERE dedup_key <> '' DO NOTHING
		RETURNING id`, args...)
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	n.ID = 0
	if len(ids) == 1 {
		n.ID = ids[0]
	}
	return nil
}

// notificationChunk is how many notifications one statement writes: nine
// parameters each, well under both databases' limits.
const notificationChunk = 256

// EnqueueNotifications stores notifications with multi-row statements.
func (t *Tx) EnqueueNotifications(ctx context.Context, ns []*roster.Notification) error {
	for len(ns) > 0 {
		chunk := ns[:min(len(ns), notificationChunk)]
		ns = ns[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO notifications (at, channel, target, payload, dedup_key, attempts, delivered_at, last_error, next_at) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, n := range chunk {
			a, err := t.notificationArgs(n)
			if err != nil {
				return fmt.Errorf("enqueue notifications: %w", err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, a...)
		}
		// A key twice in one statement is a conflict ON CONFLICT DO
		// NOTHING skips too (PostgreSQL would otherwise refuse it only
		// for DO UPDATE).
		q.WriteString(` ON CONFLICT (dedup_key) WHERE dedup_key <> '' DO NOTHING`)
		if _, err := t.Q.Exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("enqueue %d notifications: %w", len(chunk), err)
		}
	}
	return nil
}

// MarkNotificationsDelivered records one more attempt of each of ids,
// delivered at at.
func (t *Tx) MarkNotificationsDelivered(ctx context.Context, ids []int64, at time.Time) error {
	e := t.enc()
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("mark notifications delivered: %w", e.err)
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 4*notificationChunk)]
		ids = ids[len(chunk):]
		args := make([]any, 0, 1+len(chunk))
		args = append(args, ts)
		for _, id := range chunk {
			args = append(args, id)
		}
		in := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		if _, err := t.Q.Exec(ctx, `UPDATE notifications SET attempts = attempts + 1, delivered_at = ?, last_error = ''
			WHERE id IN (`+in+`)`, args...); err != nil {
			return fmt.Errorf("mark %d notifications delivered: %w", len(chunk), err)
		}
	}
	return nil
}

// DueNotifications returns up to limit undelivered notifications whose NextAt
// is at or before now, oldest (lowest id) first. A limit of 0 or less means
// DefaultPageSize.
func (t *Tx) DueNotifications(ctx context.Context, now time.Time, limit int) ([]roster.Notification, error) {
	e := t.enc()
	ts := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("due notifications: %w", e.err)
	}
	ns, err := List(ctx, t.Q, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE delivered_at IS NULL AND next_at <= ? ORDER BY id LIMIT ?`, ts, paging.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	return ns, nil
}

// UpdateNotification replaces a notification. It fails with ENOTFOUND when
// no notification has its ID.
func (t *Tx) UpdateNotification(ctx context.Context, n *roster.Notification) error {
	args, err := t.notificationArgs(n)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	k, err := t.Q.Exec(ctx, `
		UPDATE notifications SET at = ?, channel = ?, target = ?, payload = ?, dedup_key = ?, attempts = ?,
			delivered_at = ?, last_error = ?, next_at = ?
		WHERE id = ?`, append(args, n.ID)...)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	if k == 0 {
		return roster.Errorf(roster.ENOTFOUND, "notification %d not found", n.ID)
	}
	return nil
}

// LatestNotification returns the notification to target on channel that was
// attempted last (the highest id with at least one attempt), or ENOTFOUND.
func (t *Tx) LatestNotification(ctx context.Context, channel, target string) (*roster.Notification, error) {
	ns, err := List(ctx, t.Q, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE channel = ? AND target = ? AND attempts > 0 ORDER BY id DESC LIMIT 1`, channel, target)
	if err != nil {
		return nil, fmt.Errorf("latest notification to %s %s: %w", channel, target, err)
	}
	if len(ns) == 0 {
		return nil, roster.Errorf(roster.ENOTFOUND, "no notification to %s %s was attempted", channel, target)
	}
	return &ns[0], nil
}
