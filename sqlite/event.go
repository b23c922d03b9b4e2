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
var eventInsert = newInsert(`INSERT OR FAIL INTO events (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer) VALUES `, 11)

// AppendEvents appends events in order at the end of the audit chain (see
// sqlstore.Tx.Chain) and sets their IDs and hashes, with multi-row INSERTs.
// Events are never read inside a read-write transaction, so they need not
// wait for the rows written behind.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := t.Chain(ctx, evs, false, func() error {
		args := make([]any, 0, 11*len(evs))
		var e encoder
		for _, ev := range evs {
			var data sql.NullString
			if len(ev.Data) > 0 {
				data = sql.NullString{String: string(ev.Data), Valid: true}
			}
			hash, err := sqlstore.HashBytes(ev.Hash)
			if err != nil {
				return err
			}
			args = append(args, ev.ID, e.time(ev.At), ev.Actor, ev.Action, ev.ObjectType, ev.ObjectID, ev.Reason, data, hash, ev.Token, ev.Issuer)
			if e.err != nil {
				return fmt.Errorf("append event %s: %w", ev.Action, e.err)
			}
		}
		return eventInsert.exec(ctx, t.tx, args, func(int, int64) error { return nil })
	})
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, err)
	}
	return nil
}

// hashEvents chains the events written before migration 9, after the
// migrations.
func (db *DB) hashEvents(ctx context.Context, stx *sql.Tx) error {
	t := newTx(newCachedTx(stx, db.writes))
	return t.HashEvents(ctx, false, func(ids []int64, hashes [][]byte) error {
		for i, id := range ids {
			if _, err := stx.ExecContext(ctx, `UPDATE events SET hash = ? WHERE id = ?`, hashes[i], id); err != nil {
				return err
			}
		}
		return nil
	})
}

// QueueEvents appends events at once, as AppendEvents: on SQLite, one
// writer at a time, appending waits for no other writer.
func (t *tx) QueueEvents(ctx context.Context, evs []*roster.Event) (bool, error) {
	return false, t.AppendEvents(ctx, evs)
}

// SealEvents returns none: SQLite queues no events.
func (t *tx) SealEvents(ctx context.Context, max int) ([]*roster.Event, error) {
	return nil, nil
}

// Lock does nothing: SQLite runs one writer at a time.
func (t *tx) Lock(ctx context.Context, keys ...roster.LockKey) error { return nil }

// SkipFlush implements roster.FlushStore: in WAL mode with synchronous
// NORMAL, no commit waits for a flush.
func (t *tx) SkipFlush(ctx context.Context) error { return nil }
