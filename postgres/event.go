package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

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
		token, issuer                               = make([]string, len(evs)), make([]string, len(evs))
	)
	for i, ev := range evs {
		if err := sqlstore.CheckEvent(ev); err != nil {
			return err
		}
		if len(ev.Data) > 0 {
			s := string(ev.Data)
			data[i] = &s
		}
		at[i] = e.time(ev.At)
		if e.err != nil {
			return fmt.Errorf("append event %s: %w", ev.Action, e.err)
		}
		actor[i], action[i], objectType[i], objectID[i], reason[i] = ev.Actor, string(ev.Action), ev.ObjectType, ev.ObjectID, ev.Reason
		token[i], issuer[i] = ev.Token, ev.Issuer
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO events (at, actor, action, object_type, object_id, reason, data, token, issuer)
		SELECT at, actor, action, object_type, object_id, reason, data::jsonb, token, issuer
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			WITH ORDINALITY AS e (at, actor, action, object_type, object_id, reason, data, token, issuer, n)
		ORDER BY n
		RETURNING id`,
		at, actor, action, objectType, objectID, reason, data, token, issuer)
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
