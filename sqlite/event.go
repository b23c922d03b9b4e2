package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/rosterhq/roster"
)

// --- events ---

const eventColumns = `id, at, actor, action, object_type, object_id, reason, data`

// scanEvent scans a row of eventColumns.
func scanEvent(r rowScanner) (roster.Event, error) {
	var (
		ev   roster.Event
		at   int64
		data sql.NullString
	)
	if err := r.Scan(&ev.ID, &at, &ev.Actor, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Reason, &data); err != nil {
		return ev, err
	}
	ev.At = decTime(at)
	if data.Valid {
		ev.Data = json.RawMessage(data.String)
	}
	return ev, nil
}

// AppendEvent appends an audit event and sets its ID. Data, when set, must be
// valid JSON.
func (t *tx) AppendEvent(ctx context.Context, ev *roster.Event) error {
	return t.AppendEvents(ctx, []*roster.Event{ev})
}

// eventInsert appends events.
var eventInsert = newInsert(`INSERT OR FAIL INTO events (at, actor, action, object_type, object_id, reason, data) VALUES `, 7)

// AppendEvents appends events in order and sets their IDs, with multi-row
// INSERTs. Events are never read inside a read-write transaction, so they
// need not wait for the rows written behind.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	args := make([]any, 0, 7*len(evs))
	var e encoder
	for _, ev := range evs {
		var data sql.NullString
		if len(ev.Data) > 0 {
			if !json.Valid(ev.Data) {
				return roster.Errorf(roster.EINVALID, "event %s: data is not valid JSON", ev.Action)
			}
			data = sql.NullString{String: string(ev.Data), Valid: true}
		}
		args = append(args, e.time(ev.At), ev.Actor, ev.Action, ev.ObjectType, ev.ObjectID, ev.Reason, data)
		if e.err != nil {
			return fmt.Errorf("append event %s: %w", ev.Action, e.err)
		}
	}
	written := 0
	err := eventInsert.exec(ctx, t.tx, args, func(n int, last int64) error {
		// The events table has a plain rowid key and one writer at a time,
		// so the rows of one INSERT take consecutive ids in order.
		for i, ev := range evs[written : written+n] {
			ev.ID = last - int64(n-1-i)
		}
		written += n
		return nil
	})
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, err)
	}
	return nil
}

// Events returns one page of events, ordered by id.
func (t *tx) Events(ctx context.Context, f roster.EventFilter) (*roster.Page[roster.Event], error) {
	var w where
	w.eq("action", string(f.Action))
	w.eq("actor", f.Actor)
	w.eq("object_type", f.ObjectType)
	w.eq("object_id", f.ObjectID)
	if !f.Since.IsZero() {
		var e encoder
		since := e.time(f.Since)
		if e.err != nil {
			return nil, e.err
		}
		w.add("at >= ?", since)
	}
	if f.Cursor != "" {
		var k intKey
		if err := paging.Decode(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > ?", *k.ID)
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t.tx, scanEvent,
		`SELECT `+eventColumns+` FROM events`+w.String()+` ORDER BY id LIMIT ?`, append(w.args, n+1)...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return paginate(items, n, func(ev *roster.Event) any { return intKey{ID: &ev.ID} }), nil
}

// --- notifications ---

const notificationColumns = `id, at, channel, target, payload, attempts, delivered_at, last_error, next_at`

// scanNotification scans a row of notificationColumns.
func scanNotification(r rowScanner) (roster.Notification, error) {
	var (
		n           roster.Notification
		at, next    int64
		deliveredAt sql.NullInt64
	)
	if err := r.Scan(&n.ID, &at, &n.Channel, &n.Target, &n.Payload, &n.Attempts,
		&deliveredAt, &n.LastError, &next); err != nil {
		return n, err
	}
	n.At, n.NextAt, n.DeliveredAt = decTime(at), decTime(next), decTimePtr(deliveredAt)
	return n, nil
}

// EnqueueNotification stores an outgoing notification and sets its ID.
func (t *tx) EnqueueNotification(ctx context.Context, n *roster.Notification) error {
	var e encoder
	args := []any{e.time(n.At), n.Channel, n.Target, n.Payload, n.Attempts,
		e.timePtr(n.DeliveredAt), n.LastError, e.time(n.NextAt)}
	if e.err != nil {
		return fmt.Errorf("enqueue notification: %w", e.err)
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO notifications (at, channel, target, payload, attempts, delivered_at, last_error, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	n.ID = id
	return nil
}

// DueNotifications returns up to limit undelivered notifications whose NextAt
// is at or before now, oldest (lowest id) first. A limit of 0 or less means
// DefaultPageSize.
func (t *tx) DueNotifications(ctx context.Context, now time.Time, limit int) ([]roster.Notification, error) {
	var e encoder
	ts := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("due notifications: %w", e.err)
	}
	ns, err := list(ctx, t.tx, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE delivered_at IS NULL AND next_at <= ? ORDER BY id LIMIT ?`, ts, paging.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	return ns, nil
}

// UpdateNotification replaces a notification. It fails with ENOTFOUND when
// no notification has its ID.
func (t *tx) UpdateNotification(ctx context.Context, n *roster.Notification) error {
	var e encoder
	args := []any{e.time(n.At), n.Channel, n.Target, n.Payload, n.Attempts,
		e.timePtr(n.DeliveredAt), n.LastError, e.time(n.NextAt), n.ID}
	if e.err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, e.err)
	}
	res, err := t.tx.ExecContext(ctx, `
		UPDATE notifications SET at = ?, channel = ?, target = ?, payload = ?, attempts = ?,
			delivered_at = ?, last_error = ?, next_at = ?
		WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	} else if k == 0 {
		return roster.Errorf(roster.ENOTFOUND, "notification %d not found", n.ID)
	}
	return nil
}
