package roster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
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
	var c CanonicalEncoder
	return c.Encode(e)
}

// CanonicalEncoder computes events' canonical JSON (see Event.CanonicalJSON)
// for many events, a million in a large sync: it writes the top-level
// fields itself when they need no escaping, canonicalizing only the data,
// and remembers the canonical form of the last data it met, which the
// events appended together often share. The zero value is ready; it is not
// safe for concurrent use.
type CanonicalEncoder struct {
	data, canon []byte
}

// maxExactInt is the largest integer every JSON number form holds exactly
// (2^53): an id up to it is written as its digits in canonical JSON.
const maxExactInt = 1 << 53

// Encode returns e's canonical JSON, the same bytes as e.CanonicalJSON.
func (c *CanonicalEncoder) Encode(e *Event) ([]byte, error) {
	if e.ID < 0 || e.ID > maxExactInt || e.At.Year() < 0 || e.At.Year() > 9999 ||
		!plain(e.Actor) || !plain(string(e.Action)) || !plain(e.ObjectType) || !plain(e.ObjectID) ||
		!plain(e.Reason) || !plain(e.Token) || !plain(e.Issuer) {
		return e.canonicalJSON()
	}
	var data []byte
	if CanonicalData(e.Data) {
		data = e.Data
	} else if len(e.Data) > 0 {
		if !bytes.Equal(e.Data, c.data) || c.canon == nil {
			v := jsontext.Value(bytes.Clone(e.Data))
			if err := v.Canonicalize(); err != nil {
				return nil, fmt.Errorf("event %d: canonical JSON: %w", e.ID, err)
			}
			c.data, c.canon = append(c.data[:0], e.Data...), v
		}
		data = c.canon
	}
	b := make([]byte, 0, 128+len(e.Actor)+len(e.ObjectID)+len(e.Reason)+len(data))
	// The members in the order of their names, as RFC 8785 sorts them.
	field := func(name, v string) {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':', '"')
		b = append(b, v...)
		b = append(b, '"')
	}
	b = append(b, `{"action":"`...)
	b = append(b, e.Action...)
	b = append(b, '"')
	field("actor", e.Actor)
	b = append(b, `,"at":"`...)
	b = e.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if data != nil {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	if e.Issuer != "" {
		field("issuer", e.Issuer)
	}
	field("object_id", e.ObjectID)
	field("object_type", e.ObjectType)
	if e.Reason != "" {
		field("reason", e.Reason)
	}
	if e.Token != "" {
		field("token", e.Token)
	}
	return append(b, '}'), nil
}

// CanonicalData reports whether data is valid JSON already in its canonical
// form (see Event.CanonicalJSON) of a kind it can tell by one scan: no
// whitespace, object members in increasing order of their names, strings of
// printable ASCII without a quote or a backslash, and numbers that are
// integers of at most 15 digits. The data of the events a sync appends by
// the million (a task's, a grant's sources) are so, and are hashed as they
// are; for any other data it returns false, and the data is canonicalized.
func CanonicalData(data []byte) bool {
	rest, ok := canonicalValue(data, 0)
	return ok && len(rest) == 0
}

// maxCanonicalDepth bounds the nesting CanonicalData follows.
const maxCanonicalDepth = 32

// canonicalValue scans one value at the start of b as CanonicalData takes
// it, and returns what follows it.
func canonicalValue(b []byte, depth int) ([]byte, bool) {
	if len(b) == 0 || depth > maxCanonicalDepth {
		return nil, false
	}
	switch c := b[0]; {
	case c == '"':
		_, rest, ok := canonicalString(b)
		return rest, ok
	case c == '{':
		b = b[1:]
		if len(b) > 0 && b[0] == '}' {
			return b[1:], true
		}
		var last []byte
		for i := 0; ; i++ {
			name, rest, ok := canonicalString(b)
			if !ok || (i > 0 && string(name) <= string(last)) || len(rest) == 0 || rest[0] != ':' {
				return nil, false
			}
			last = name
			if b, ok = canonicalValue(rest[1:], depth+1); !ok {
				return nil, false
			}
			var closed bool
			if b, closed, ok = canonicalNext(b, '}'); !ok || closed {
				return b, ok
			}
		}
	case c == '[':
		b = b[1:]
		if len(b) > 0 && b[0] == ']' {
			return b[1:], true
		}
		for {
			var ok, closed bool
			if b, ok = canonicalValue(b, depth+1); !ok {
				return nil, false
			}
			if b, closed, ok = canonicalNext(b, ']'); !ok || closed {
				return b, ok
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		i := 0
		if c == '-' {
			i = 1
		}
		if i == len(b) || b[i] < '1' && !(b[i] == '0' && i == 0) || b[i] > '9' {
			return nil, false // no digit, or -0
		}
		j := i + 1
		if b[i] != '0' {
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
		}
		if j-i > 15 || j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] >= '0' && b[j] <= '9') {
			return nil, false
		}
		return b[j:], true
	}
	for _, lit := range []string{"true", "false", "null"} {
		if len(b) >= len(lit) && string(b[:len(lit)]) == lit {
			return b[len(lit):], true
		}
	}
	return nil, false
}

// canonicalNext reads what follows a member or an element: a comma, or the
// byte that closes the object or array.
func canonicalNext(b []byte, close byte) (rest []byte, closed, ok bool) {
	if len(b) == 0 || b[0] != ',' && b[0] != close {
		return nil, false, false
	}
	return b[1:], b[0] == close, true
}

// canonicalString scans a string at the start of b whose characters are
// printable ASCII but a quote or a backslash, and returns its contents and
// what follows it.
func canonicalString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// plain reports whether s is written as it is in canonical JSON and in
// json.Marshal's: printable ASCII without a quote or a backslash.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// canonicalJSON is CanonicalJSON the general way: the event as json.Marshal
// writes it, canonicalized.
func (e *Event) canonicalJSON() ([]byte, error) {
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
	// A digest and buffers of their own, not sha256.New and
	// hex.EncodeToString: a sync hashes millions of events, and this way
	// the hex string is its one allocation.
	var b [512]byte
	in := append(append(b[:0], prev...), canonical...)
	sum := sha256.Sum256(in)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
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
