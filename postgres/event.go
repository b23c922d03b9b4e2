package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
)

// --- events ---

const eventColumns = `id, at, actor, action, object_type, object_id, reason, data`

// scanEvent scans a row of eventColumns.
func scanEvent(r rowScanner) (roster.Event, error) {
	var (
		ev   roster.Event
		data []byte
	)
	if err := r.Scan(&ev.ID, &ev.At, &ev.Actor, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Reason, &data); err != nil {
		return ev, err
	}
	ev.At = decTime(ev.At)
	if data != nil {
		ev.Data = json.RawMessage(data)
	}
	return ev, nil
}

// AppendEvent appends an audit event and sets its ID. Data, when set, must be
// valid JSON; it is stored as JSONB, so it comes back with the same meaning
// but not byte for byte (whitespace and key order may change).
func (t *tx) AppendEvent(ctx context.Context, ev *roster.Event) error {
	return t.AppendEvents(ctx, []*roster.Event{ev})
}

// AppendEvents appends events in order, in one statement whatever their
// number (the columns travel as arrays), and sets their IDs.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var (
		e                                           encoder
		at                                          = make([]time.Time, len(evs))
		actor, action, objectType, objectID, reason = make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		data                                        = make([]*string, len(evs))
	)
	for i, ev := range evs {
		if len(ev.Data) > 0 {
			if !json.Valid(ev.Data) {
				return roster.Errorf(roster.EINVALID, "event %s: data is not valid JSON", ev.Action)
			}
			s := string(ev.Data)
			data[i] = &s
		}
		at[i] = e.time(ev.At)
		if e.err != nil {
			return fmt.Errorf("append event %s: %w", ev.Action, e.err)
		}
		actor[i], action[i], objectType[i], objectID[i], reason[i] = ev.Actor, string(ev.Action), ev.ObjectType, ev.ObjectID, ev.Reason
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO events (at, actor, action, object_type, object_id, reason, data)
		SELECT at, actor, action, object_type, object_id, reason, data::jsonb
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
			WITH ORDINALITY AS e (at, actor, action, object_type, object_id, reason, data, n)
		ORDER BY n
		RETURNING id`,
		at, actor, action, objectType, objectID, reason, data)
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, t.note(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, t.note(err))
	}
	if len(ids) != len(evs) {
		return fmt.Errorf("append events: %d ids for %d events", len(ids), len(evs))
	}
	// Ids come from the sequence in the order of n; RETURNING may list the
	// rows in another order, so they are matched by rank.
	slices.Sort(ids)
	for i, ev := range evs {
		ev.ID = ids[i]
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
		w.add("at >= " + w.arg(since))
	}
	if f.Cursor != "" {
		var k intKey
		if err := decodeCursor(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > " + w.arg(*k.ID))
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t, scanEvent,
		`SELECT `+eventColumns+` FROM events`+w.String()+` ORDER BY id LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return paginate(items, n, func(ev *roster.Event) any { return intKey{ID: &ev.ID} }), nil
}

// --- notifications ---

const notificationColumns = `id, at, channel, target, payload, attempts, delivered_at, last_error, next_at`

// scanNotification scans a row of notificationColumns.
func scanNotification(r rowScanner) (roster.Notification, error) {
	var n roster.Notification
	if err := r.Scan(&n.ID, &n.At, &n.Channel, &n.Target, &n.Payload, &n.Attempts,
		&n.DeliveredAt, &n.LastError, &n.NextAt); err != nil {
		return n, err
	}
	n.At, n.NextAt, n.DeliveredAt = decTime(n.At), decTime(n.NextAt), decTimePtr(n.DeliveredAt)
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
	if err := t.queryRow(ctx, `
		INSERT INTO notifications (at, channel, target, payload, attempts, delivered_at, last_error, next_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`, args...).Scan(&n.ID); err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
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
	ns, err := list(ctx, t, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE delivered_at IS NULL AND next_at <= $1 ORDER BY id LIMIT $2`, ts, paging.Size(limit))
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
	tag, err := t.exec(ctx, `
		UPDATE notifications SET at = $1, channel = $2, target = $3, payload = $4, attempts = $5,
			delivered_at = $6, last_error = $7, next_at = $8
		WHERE id = $9`, args...)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return roster.Errorf(roster.ENOTFOUND, "notification %d not found", n.ID)
	}
	return nil
}
