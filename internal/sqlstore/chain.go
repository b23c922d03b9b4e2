package sqlstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"

	"github.com/rosterhq/roster"
)

// --- the audit chain ---
//
// Every event carries hash, roster.ChainHash of the previous event's hash
// and its own canonical JSON. The one row of event_chain is the head: the
// last event's id and hash. A transaction that appends events reads the head
// (on PostgreSQL it locks it, so that replicas writing at once append one
// after the other), gives its events the ids after it, hashes them in order
// and moves the head; ids are therefore the chain's order.

// chainPage is how many events HashEvents reads at a time.
const chainPage = 1000

// ChainHead is the last event of the audit chain and its hash: 0 and
// roster.GenesisHash when there is none.
type ChainHead struct {
	ID   int64
	Hash string
}

// scanChainHead scans last_id and last_hash.
func scanChainHead(r Row) (ChainHead, error) {
	var h ChainHead
	var b []byte
	if err := r.Scan(&h.ID, &b); err != nil {
		return h, fmt.Errorf("read the audit chain's head: %w", err)
	}
	h.Hash = hex.EncodeToString(b)
	return h, nil
}

// EventChainHead returns the audit chain's head.
func (t *Tx) EventChainHead(ctx context.Context) (int64, string, error) {
	h, err := scanChainHead(t.Q.QueryRow(ctx, `SELECT last_id, last_hash FROM event_chain WHERE id = 1`))
	return h.ID, h.Hash, err
}

// Chain appends evs to the audit chain: it reads the head once per
// transaction (with FOR UPDATE when lock is set, which SQLite, one writer at
// a time, does without), sets each event's id, time (in UTC at the
// microsecond, as stored) and hash, calls insert to write them, and moves
// the head.
func (t *Tx) Chain(ctx context.Context, evs []*roster.Event, lock bool, insert func() error) error {
	if t.head == nil {
		q := `SELECT last_id, last_hash FROM event_chain WHERE id = 1`
		if lock {
			q += ` FOR UPDATE`
		}
		h, err := scanChainHead(t.Q.QueryRow(ctx, q))
		if err != nil {
			return err
		}
		t.head = &h
	}
	h := *t.head
	for i, ev := range evs {
		if err := CheckEvent(ev); err != nil {
			return err
		}
		ev.ID, ev.At = h.ID+1+int64(i), UTC(ev.At)
	}
	canonical, err := canonicalJSON(evs)
	if err != nil {
		return err
	}
	for i, ev := range evs {
		h.ID, h.Hash = ev.ID, roster.ChainHashOf(h.Hash, canonical[i])
		ev.Hash = h.Hash
	}
	if err := insert(); err != nil {
		return err
	}
	if err := t.setHead(ctx, h); err != nil {
		return err
	}
	*t.head = h
	return nil
}

// parallelMin is the least number of events whose canonical JSON
// canonicalJSON computes on every core: a large apply appends a thousand
// events at a time, and their encoding, unlike the hashing, is independent.
const parallelMin = 256

// canonicalJSON returns each event's canonical JSON.
func canonicalJSON(evs []*roster.Event) ([][]byte, error) {
	out := make([][]byte, len(evs))
	errs := make([]error, len(evs))
	encode := func(lo, hi int) {
		var enc roster.CanonicalEncoder
		for i := lo; i < hi; i++ {
			out[i], errs[i] = enc.Encode(evs[i])
		}
	}
	if workers := runtime.GOMAXPROCS(0); len(evs) < parallelMin || workers == 1 {
		encode(0, len(evs))
	} else {
		var wg sync.WaitGroup
		per := (len(evs) + workers - 1) / workers
		for lo := 0; lo < len(evs); lo += per {
			wg.Go(func() { encode(lo, min(lo+per, len(evs))) })
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			return nil, roster.Errorf(roster.EINVALID, "append event %s: %v", evs[i].Action, err)
		}
	}
	return out, nil
}

// BehindExecer is a Querier that can run a statement later, in order with
// the transaction's other writes, without the caller waiting for it (SQLite's
// writer goroutine): moving the chain's head needs nothing the transaction
// reads.
type BehindExecer interface {
	ExecBehind(ctx context.Context, query string, args ...any) error
}

// setHead moves the chain's head.
func (t *Tx) setHead(ctx context.Context, h ChainHead) error {
	b, err := HashBytes(h.Hash)
	if err != nil {
		return err
	}
	const q = `UPDATE event_chain SET last_id = ?, last_hash = ? WHERE id = 1`
	if be, ok := t.Q.(BehindExecer); ok {
		err = be.ExecBehind(ctx, q, h.ID, b)
	} else {
		_, err = t.Q.Exec(ctx, q, h.ID, b)
	}
	if err != nil {
		return fmt.Errorf("move the audit chain's head: %w", err)
	}
	return nil
}

// HashBytes returns the stored form of an event's hash: its 32 bytes.
func HashBytes(hash string) ([]byte, error) {
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("event hash %q is not 64 hex digits", hash)
	}
	return b, nil
}

// HashEvents chains the events that the chain does not hold yet, those
// after its head, in id order, reading them a page at a time; set writes one
// page's hashes. The stores run it after their migrations: the events
// written before migration 9 had no hash. Once they are chained, it costs
// two lookups by key. lock reads the head FOR UPDATE, so that a replica
// appending at the same moment is waited for, not overwritten.
func (t *Tx) HashEvents(ctx context.Context, lock bool, set func(ids []int64, hashes [][]byte) error) error {
	q := `SELECT last_id, last_hash FROM event_chain WHERE id = 1`
	if lock {
		q += ` FOR UPDATE`
	}
	h, err := scanChainHead(t.Q.QueryRow(ctx, q))
	if err != nil {
		return err
	}
	var last int64
	if err := t.Q.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&last); err != nil {
		return fmt.Errorf("the last event: %w", err)
	}
	if last <= h.ID {
		return nil
	}
	for {
		evs, err := List(ctx, t.Q, scanEvent, `SELECT `+eventColumns+` FROM events WHERE id > ? ORDER BY id LIMIT ?`, h.ID, chainPage)
		if err != nil {
			return fmt.Errorf("hash events after %d: %w", h.ID, err)
		}
		if len(evs) == 0 {
			break
		}
		ids, hashes := make([]int64, len(evs)), make([][]byte, len(evs))
		for i := range evs {
			ev := &evs[i]
			if h.Hash, err = roster.ChainHash(h.Hash, ev); err != nil {
				return err
			}
			h.ID = ev.ID
			ids[i] = ev.ID
			if hashes[i], err = HashBytes(h.Hash); err != nil {
				return err
			}
		}
		if err := set(ids, hashes); err != nil {
			return fmt.Errorf("hash events up to %d: %w", h.ID, err)
		}
	}
	return t.setHead(ctx, h)
}
