package roster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// GenesisHash is the previous hash of the first event of the audit chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// CanonicalJSON returns the bytes an event's hash covers: the event's JSON as
// the API writes it, every field but hash, in the JSON Canonicalization
// Scheme of RFC 8785 (object members sorted by name at every level, no
// whitespace, strings and numbers in their one shortest form). at is in UTC
// at the microsecond, as the stores keep it; data is canonicalized like the
// rest, so it hashes alike whichever form a store gives it back in (JSONB
// reorders keys). A new field of Event is covered as soon as it is added.
func (e *Event) CanonicalJSON() ([]byte, error) {
	v := *e
	v.Hash = ""
	b, err := json.Marshal(&v)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", e.ID, err)
	}
	c := jsontext.Value(b)
	if err := c.Canonicalize(); err != nil {
		return nil, fmt.Errorf("event %d: canonical JSON: %w", e.ID, err)
	}
	return c, nil
}

// ChainHash returns the hash an event carries when prev is the hash of the
// event before it (GenesisHash for the first): the hex SHA-256 of prev's 64
// hex digits followed by the event's canonical JSON.
func ChainHash(prev string, e *Event) (string, error) {
	c, err := e.CanonicalJSON()
	if err != nil {
		return "", err
	}
	return ChainHashOf(prev, c), nil
}

// ChainHashOf is ChainHash of an event whose canonical JSON is canonical.
func ChainHashOf(prev string, canonical []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditVerification is what recomputing the audit chain found.
type AuditVerification struct {
	// OK is true when every event matches its hash and its link to the one
	// before it, and the last event is the chain's recorded head.
	OK bool `json:"ok"`
	// Events is how many events matched before the first that did not.
	Events int64 `json:"events"`
	// LastID and LastHash are the last event that matched (0 and
	// GenesisHash when none did): an auditor who keeps them can tell later
	// that no event up to it has changed.
	LastID   int64  `json:"last_id"`
	LastHash string `json:"last_hash"`
	// Broken is the first event that does not match, when one does not.
	Broken *AuditBreak `json:"broken,omitempty"`
}

// AuditBreak names the first event of the chain that does not match.
type AuditBreak struct {
	ID     int64       `json:"id"`
	Action AuditAction `json:"action,omitempty"`
	At     time.Time   `json:"at,omitzero"`
	// Problem is AuditBrokenHash, AuditBrokenLink or AuditBrokenEnd.
	Problem string `json:"problem"`
	// Detail says, for people, what is wrong.
	Detail string `json:"detail"`
}

// What AuditBreak.Problem may be.
const (
	// AuditBrokenHash: the event's hash does not match its contents chained
	// to the hash of the event before it: it, or the one before, was changed.
	AuditBrokenHash = "hash"
	// AuditBrokenLink: the event does not follow the one it was chained to:
	// the events between were deleted.
	AuditBrokenLink = "link"
	// AuditBrokenEnd: the chain ends before its recorded head: the last
	// events were deleted, or the head was changed.
	AuditBrokenEnd = "end"
)
