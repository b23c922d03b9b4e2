package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// AppendEvent appends an audit event and sets its ID. Data, when set, must be
// valid JSON.
func (t *tx) AppendEvent(ctx context.Context, ev *roster.Event) error {
	return t.AppendEvents(ctx, []*roster.Event{ev})
}

// eventInsert appends events with their ids; eventAppend appends them
// without, so that they take the rowids after the last event's, which are
// their ids when the audit chain's head is the last event (see
// tx.AppendEvents). An INSERT that names the rowid keeps a statement
// journal, a copy of each page it changes written to a temporary file: an
// eighth of the event inserts of a sync that creates two million tasks.
var (
	eventInsert = newInsert(`INSERT OR FAIL INTO events (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer) VALUES `, 11)
	eventAppend = newInsert(`INSERT OR FAIL INTO events (at, actor, action, object_type, object_id, reason, data, hash, token, issuer) VALUES `, 10)
)

// AppendEvents appends events in order at the end of the audit chain (see
// sqlstore.Tx.Chain) and sets their IDs and hashes, with multi-row INSERTs.
// Events are never read inside a read-write transaction, so they need not
// wait for the rows written behind.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := t.Chain(ctx, evs, false, func() error {
		held := t.tx.held
		if held.eventsFollow == 0 {
			// Once a transaction: the ids the chain gives follow the last
			// event's unless events were written outside it.
			var last int64
			if err := t.tx.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM events`).Scan(&last); err != nil {
				return fmt.Errorf("last event: %w", err)
			}
			held.eventsFollow = -1
			if last == evs[0].ID-1 {
				held.eventsFollow = 1
			}
		}
		in, cols := eventInsert, 11
		if held.eventsFollow > 0 {
			in, cols = eventAppend, 10
		}
		args := make([]any, 0, cols*len(evs))
		var e encoder
		for _, ev := range evs {
			// A plain string or nil, and the action as a string: database/sql
			// converts a Valuer or a named string type with an allocation.
			var data any
			if len(ev.Data) > 0 {
				data = string(ev.Data)
			}
			hash, err := sqlstore.HashBytes(ev.Hash)
			if err != nil {
				return err
			}
			if in == eventInsert {
				args = append(args, ev.ID)
			}
			args = append(args, e.time(ev.At), ev.Actor, string(ev.Action), ev.ObjectType, ev.ObjectID, ev.Reason, data, hash, ev.Token, ev.Issuer)
			if e.err != nil {
				return fmt.Errorf("append event %s: %w", ev.Action, e.err)
			}
		}
		var done func(rows int, last int64) error
		if in == eventAppend {
			next := evs[0].ID
			done = func(rows int, last int64) error {
				if want := next + int64(rows) - 1; last != want {
					return fmt.Errorf("events %d–%d took ids up to %d", next, want, last)
				}
				next += int64(rows)
				return nil
			}
		}
		// Written by the transaction's writer goroutine once a full chunk
		// of held rows has started it (see writeBehind): the caller goes on
		// meanwhile.
		n, action := len(evs), evs[0].Action
		return t.tx.behind(func() error {
			if err := in.exec(ctx, t.tx, args, done); err != nil {
				return fmt.Errorf("write %d events from %s: %w", n, action, err)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, err)
	}
	return nil
}

// hashEvents chains the events written before migration 9, after the
// migrations.
func (db *DB) hashEvents(ctx context.Context, stx *sql.Tx) error {
	ct := newCachedTx(stx, db.writes)
	err := newTx(ct).HashEvents(ctx, false, func(ids []int64, hashes [][]byte) error {
		for i, id := range ids {
			if _, err := stx.ExecContext(ctx, `UPDATE events SET hash = ? WHERE id = ?`, hashes[i], id); err != nil {
				return err
			}
		}
		return nil
	})
	// Should the writer goroutine have moved the head, it is done before
	// stx commits.
	return errors.Join(err, ct.stop())
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
