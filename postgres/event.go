package postgres

import (
	"context"
	"fmt"
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

// AppendEvents appends events in order at the end of the audit chain, in
// one statement whatever their number (the columns travel as arrays), and
// sets their IDs and hashes. The transaction locks the chain's head (see
// sqlstore.Tx.Chain) until it ends; the engine appends its events last, so
// the lock is held for a moment. The ids come from the head, not from the
// column's sequence: they follow the chain, and a transaction that commits
// later never holds a smaller id.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := t.Chain(ctx, evs, true, func() error {
		var (
			e                                           encoder
			id                                          = make([]int64, len(evs))
			at                                          = make([]time.Time, len(evs))
			actor, action, objectType, objectID, reason = make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
			data                                        = make([]*string, len(evs))
			hash                                        = make([][]byte, len(evs))
			token, issuer                               = make([]string, len(evs)), make([]string, len(evs))
		)
		for i, ev := range evs {
			if len(ev.Data) > 0 {
				s := string(ev.Data)
				data[i] = &s
			}
			at[i] = e.time(ev.At)
			if e.err != nil {
				return fmt.Errorf("append event %s: %w", ev.Action, e.err)
			}
			b, err := sqlstore.HashBytes(ev.Hash)
			if err != nil {
				return err
			}
			id[i], hash[i] = ev.ID, b
			actor[i], action[i], objectType[i], objectID[i], reason[i] = ev.Actor, string(ev.Action), ev.ObjectType, ev.ObjectID, ev.Reason
			token[i], issuer[i] = ev.Token, ev.Issuer
		}
		_, err := t.exec(ctx, `
			INSERT INTO events (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer)
			OVERRIDING SYSTEM VALUE
			SELECT id, at, actor, action, object_type, object_id, reason, data::jsonb, hash, token, issuer
			FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::text[], $11::text[])
				AS e (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer)`,
			id, at, actor, action, objectType, objectID, reason, data, hash, token, issuer)
		return err
	})
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, t.note(err))
	}
	return nil
}

// hashEvents chains the events written before migration 9, after the
// migrations, holding the chain's head.
func hashEvents(ctx context.Context, ptx pgx.Tx) error {
	t := newTx(ptx)
	return t.HashEvents(ctx, true, func(ids []int64, hashes [][]byte) error {
		_, err := t.exec(ctx, `
			UPDATE events SET hash = h.hash
			FROM unnest($1::bigint[], $2::bytea[]) AS h (id, hash)
			WHERE events.id = h.id`, ids, hashes)
		return err
	})
}
