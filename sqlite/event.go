package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// AppendEvent appends an audit event and sets its ID. Data, when set, must be
// valid JSON.
func (t *tx) AppendEvent(ctx context.Context, ev *roster.Event) error {
	return t.AppendEvents(ctx, []*roster.Event{ev})
}

// eventInsert appends events.
var eventInsert = newInsert(`INSERT OR FAIL INTO events (at, actor, action, object_type, object_id, reason, data, token, issuer) VALUES `, 9)

// AppendEvents appends events in order and sets their IDs, with multi-row
// INSERTs. Events are never read inside a read-write transaction, so they
// need not wait for the rows written behind.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	args := make([]any, 0, 9*len(evs))
	var e encoder
	for _, ev := range evs {
		if err := sqlstore.CheckEvent(ev); err != nil {
			return err
		}
		var data sql.NullString
		if len(ev.Data) > 0 {
			data = sql.NullString{String: string(ev.Data), Valid: true}
		}
		args = append(args, e.time(ev.At), ev.Actor, ev.Action, ev.ObjectType, ev.ObjectID, ev.Reason, data, ev.Token, ev.Issuer)
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
