package postgres

import (
	"context"
	"errors"
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
// sqlstore.Tx.Chain) until it ends, so that transactions appending at once
// append one after the other; the engine queues its events instead
// (QueueEvents). The ids come from the head, not from the column's
// sequence: they follow the chain, and a transaction that commits later
// never holds a smaller id.
func (t *tx) AppendEvents(ctx context.Context, evs []*roster.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := t.Chain(ctx, evs, true, func() error { return t.insertEvents(ctx, evs) })
	if err != nil {
		return fmt.Errorf("append %d events from %s: %w", len(evs), evs[0].Action, t.note(err))
	}
	return nil
}

// eventArrays holds the columns of events as arrays, for one statement.
type eventArrays struct {
	id                                          []int64
	at                                          []time.Time
	actor, action, objectType, objectID, reason []string
	data                                        []*string
	hash                                        [][]byte
	token, issuer                               []string
}

// newEventArrays returns the columns of evs; with hashed, their ids and
// hashes too.
func newEventArrays(evs []*roster.Event, hashed bool) (*eventArrays, error) {
	n := len(evs)
	a := &eventArrays{at: make([]time.Time, n), actor: make([]string, n), action: make([]string, n), objectType: make([]string, n),
		objectID: make([]string, n), reason: make([]string, n), data: make([]*string, n), token: make([]string, n), issuer: make([]string, n)}
	if hashed {
		a.id, a.hash = make([]int64, n), make([][]byte, n)
	}
	var e encoder
	for i, ev := range evs {
		if len(ev.Data) > 0 {
			s := string(ev.Data)
			a.data[i] = &s
		}
		a.at[i] = e.time(ev.At)
		if e.err != nil {
			return nil, fmt.Errorf("append event %s: %w", ev.Action, e.err)
		}
		if hashed {
			b, err := sqlstore.HashBytes(ev.Hash)
			if err != nil {
				return nil, err
			}
			a.id[i], a.hash[i] = ev.ID, b
		}
		a.actor[i], a.action[i], a.objectType[i], a.objectID[i], a.reason[i] = ev.Actor, string(ev.Action), ev.ObjectType, ev.ObjectID, ev.Reason
		a.token[i], a.issuer[i] = ev.Token, ev.Issuer
	}
	return a, nil
}

// insertEvents writes chained events (with their ids and hashes) into events.
func (t *tx) insertEvents(ctx context.Context, evs []*roster.Event) error {
	a, err := newEventArrays(evs, true)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `
		INSERT INTO events (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer)
		OVERRIDING SYSTEM VALUE
		SELECT id, at, actor, action, object_type, object_id, reason, data::jsonb, hash, token, issuer
		FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::text[], $11::text[])
			AS e (id, at, actor, action, object_type, object_id, reason, data, hash, token, issuer)`,
		a.id, a.at, a.actor, a.action, a.objectType, a.objectID, a.reason, a.data, a.hash, a.token, a.issuer)
	return err
}

// QueueEvents writes events into the queue of those to seal, in one
// statement, without touching the chain's head: the transaction waits for
// no other that appends. Their ids and hashes stay unset until SealEvents
// chains them.
func (t *tx) QueueEvents(ctx context.Context, evs []*roster.Event) (bool, error) {
	if len(evs) == 0 {
		return true, nil
	}
	for _, ev := range evs {
		if err := sqlstore.CheckEvent(ev); err != nil {
			return false, err
		}
	}
	a, err := newEventArrays(evs, false)
	if err != nil {
		return false, err
	}
	// WITH ORDINALITY keeps the events' order in the queue's sequence.
	// In a read-write transaction the statement is held, and goes with the
	// rows written behind before commit, in one round trip: nothing the
	// transaction does after reads the queue (a statement that names
	// event_queue writes it first).
	what := fmt.Sprintf("%d events from %s", len(evs), evs[0].Action)
	queue := t.exec
	if t.locked != nil {
		queue = func(ctx context.Context, sql string, args ...any) (int64, error) {
			return 0, t.holdStatement(ctx, heldQueue, nil, what, sql, args...)
		}
	}
	_, err = queue(ctx, `
		INSERT INTO event_queue (at, actor, action, object_type, object_id, reason, data, token, issuer)
		SELECT at, actor, action, object_type, object_id, reason, data::jsonb, token, issuer
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			WITH ORDINALITY AS e (at, actor, action, object_type, object_id, reason, data, token, issuer, n)
		ORDER BY n`,
		a.at, a.actor, a.action, a.objectType, a.objectID, a.reason, a.data, a.token, a.issuer)
	if err != nil {
		return false, fmt.Errorf("queue %s: %w", what, err)
	}
	return true, nil
}

// The queue's statements read it by its primary key, oldest first, never
// whole: its rows are deleted as soon as they are sealed, and until a
// vacuum comes by (autovacuum: a minute at best) the table holds every row
// sealed since, dead, ahead of the few live ones. A scan of the table
// reads them all — at 600 approvals a second, a thousand pages and 2 ms a
// look; the index skips them once a scan has marked them dead. So the
// probe asks for the first row in seq order (not EXISTS: PostgreSQL drops
// an EXISTS subquery's ORDER BY and LIMIT, and plans a scan of the table),
// and the seal deletes the rows whose seq is in an array (seq IN (subquery
// LIMIT max) was planned, with the queue's statistics those of a
// near-empty table, as a hash join over a scan of the table).
const (
	queuedEvents = `SELECT seq FROM event_queue ORDER BY seq LIMIT 1`
	sealQueued   = `
		WITH sealed AS (
			DELETE FROM event_queue WHERE seq = ANY (ARRAY (SELECT seq FROM event_queue ORDER BY seq LIMIT $1))
			RETURNING seq, at, actor, action, object_type, object_id, reason, data, token, issuer)
		SELECT at, actor, action, object_type, object_id, reason, data, token, issuer FROM sealed ORDER BY seq`
)

// SealEvents chains up to max queued events that have committed, oldest
// first. It locks the chain's head before it reads the queue, so a sealer
// on another replica waits and then finds the events gone; events whose
// transaction has not committed yet are left for the next seal, which
// chains them after those sealed now: the chain follows the order in which
// events became visible.
func (t *tx) SealEvents(ctx context.Context, max int) ([]*roster.Event, error) {
	t.sealing = true
	// Nothing queued, nothing locked: the common case of a reader's seal
	// costs one lookup.
	var first int64
	if err := t.tx.QueryRow(ctx, queuedEvents).Scan(&first); errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, t.note(fmt.Errorf("seal events: %w", err))
	}
	if _, err := t.exec(ctx, `SELECT 1 FROM event_chain WHERE id = 1 FOR UPDATE`); err != nil {
		return nil, fmt.Errorf("seal events: lock the chain's head: %w", err)
	}
	rows, err := t.tx.Query(ctx, sealQueued, max)
	if err != nil {
		return nil, t.note(fmt.Errorf("seal events: %w", err))
	}
	var evs []*roster.Event
	for rows.Next() {
		ev := &roster.Event{}
		var data []byte
		if err := rows.Scan(&ev.At, &ev.Actor, &ev.Action, &ev.ObjectType, &ev.ObjectID, &ev.Reason, &data, &ev.Token, &ev.Issuer); err != nil {
			rows.Close()
			return nil, t.note(fmt.Errorf("seal events: %w", err))
		}
		ev.At = ev.At.UTC()
		if data != nil {
			ev.Data = data
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, t.note(fmt.Errorf("seal events: %w", err))
	}
	if len(evs) == 0 {
		return nil, nil
	}
	if err := t.AppendEvents(ctx, evs); err != nil {
		return nil, fmt.Errorf("seal events: %w", err)
	}
	return evs, nil
}

// hashEvents chains the events written before migration 9, after the
// migrations, holding the chain's head.
func hashEvents(ctx context.Context, ptx pgx.Tx) error {
	t := newTx(ptx, false)
	return t.HashEvents(ctx, true, func(ids []int64, hashes [][]byte) error {
		_, err := t.exec(ctx, `
			UPDATE events SET hash = h.hash
			FROM unnest($1::bigint[], $2::bytea[]) AS h (id, hash)
			WHERE events.id = h.id`, ids, hashes)
		return err
	})
}
