package roster_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/rosterhq/roster"
)

// TestReferenceChainExample checks docs/reference.md's worked example of the
// audit chain against the code: the event, its canonical JSON, and its hash
// recomputed with nothing but SHA-256.
func TestReferenceChainExample(t *testing.T) {
	b, err := os.ReadFile("docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## The audit chain")
	if !ok {
		t.Fatal("docs/reference.md has no section The audit chain")
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllStringSubmatch(section, 2)
	hash := regexp.MustCompile("the hash `sha256[^`]*` =\\s+`([0-9a-f]{64})`").FindStringSubmatch(section)
	if len(blocks) != 2 || hash == nil {
		t.Fatalf("the example is not two JSON blocks and a hash: %d blocks, hash %v", len(blocks), hash)
	}
	var ev roster.Event
	if err := json.Unmarshal([]byte(blocks[0][1]), &ev); err != nil {
		t.Fatal(err)
	}
	c, err := ev.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(c) != blocks[1][1] {
		t.Errorf("canonical JSON\n%s\nthe reference says\n%s", c, blocks[1][1])
	}
	sum := sha256.Sum256([]byte(roster.GenesisHash + blocks[1][1]))
	if got := hex.EncodeToString(sum[:]); got != hash[1] {
		t.Errorf("sha256 of the documented bytes is %s, the reference says %s", got, hash[1])
	}
	if got, err := roster.ChainHash(roster.GenesisHash, &ev); err != nil || got != hash[1] {
		t.Errorf("ChainHash = %s, %v; the reference says %s", got, err, hash[1])
	}
}

// The canonical JSON covers every field but hash, sorts keys at every level
// and gives data one form whatever its spelling.
func TestCanonicalJSON(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 100000000, time.UTC)
	a := roster.Event{ID: 7, At: at, Actor: "alice", Action: "x.y", ObjectType: "task", ObjectID: "1",
		Data: json.RawMessage(`{ "b": [1.0, 1e2, "\u00e9<"], "a": {"d": null, "c": true} }`), Hash: "ignored"}
	b := a
	b.Data, b.Hash = json.RawMessage(`{"a":{"c":true,"d":null},"b":[1,100,"é<"]}`), ""
	ca, err := a.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.CanonicalJSON()
	want := `{"action":"x.y","actor":"alice","at":"2026-01-05T09:00:00.1Z","data":{"a":{"c":true,"d":null},"b":[1,100,"é<"]},"id":7,"object_id":"1","object_type":"task"}`
	if string(ca) != want || string(cb) != want {
		t.Errorf("canonical JSON\n%s\n%s\nwant\n%s", ca, cb, want)
	}
	for _, change := range []func(*roster.Event){
		func(e *roster.Event) { e.ID++ },
		func(e *roster.Event) { e.At = e.At.Add(time.Microsecond) },
		func(e *roster.Event) { e.Reason = "r" },
		func(e *roster.Event) { e.Data = json.RawMessage(`{}`) },
	} {
		c := a
		change(&c)
		if cc, _ := c.CanonicalJSON(); string(cc) == want {
			t.Errorf("a change left the canonical JSON alike: %s", cc)
		}
	}
}

// BenchmarkChainHash is the cost hashing adds to each event appended: a
// grant's, the most numerous.
func BenchmarkChainHash(b *testing.B) {
	ev := roster.Event{ID: 123456, At: time.Date(2026, 1, 5, 9, 0, 0, 123456000, time.UTC), Actor: "admin",
		Action: roster.ActionGrantAdded, ObjectType: "grant", ObjectID: "user-01234 okta/engineering", Reason: "roster apply",
		Data: json.RawMessage(`{"sources":["direct"]}`)}
	prev := roster.GenesisHash
	b.ReportAllocs()
	for b.Loop() {
		h, err := roster.ChainHash(prev, &ev)
		if err != nil {
			b.Fatal(err)
		}
		prev = h
	}
}

// The encoder's direct writing of the top-level fields gives the bytes the
// general way (json.Marshal, then RFC 8785) gives, whatever the fields hold;
// its memo of the last data never leaks into an event with other data.
func TestCanonicalEncoderMatchesTheGeneralWay(t *testing.T) {
	general := func(e roster.Event) string {
		e.Hash = ""
		b, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		v := jsontext.Value(b)
		if err := v.Canonicalize(); err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	at := time.Date(2026, 1, 5, 9, 0, 0, 123456000, time.UTC)
	strs := []string{"", "alice", "user-01234 okta/engineering", "a<b>&c", "quote \" and \\ backslash", "é", "tab\there", "\x7f", "line\u2028sep", "bad \xff utf8"}
	datas := []string{"", `{"sources":["direct"]}`, `{"sources":["direct"]}`, `{ "b": [1.0, 1e2, "\u00e9<"], "a": {"d": null, "c": true} }`, `null`, `{"kind":"grant","state":"done"}`, `[3,2,1]`}
	var enc roster.CanonicalEncoder
	n := 0
	for i, s := range strs {
		for j, d := range datas {
			e := roster.Event{ID: int64(i*100 + j), At: at.Add(time.Duration(j) * time.Second), Actor: s, Action: "task.created",
				ObjectType: "task", ObjectID: strs[(i+j)%len(strs)], Reason: strs[(i+2*j)%len(strs)], Token: strs[j%len(strs)],
				Issuer: strs[(i+3)%len(strs)], Data: json.RawMessage(d), Hash: "ignored"}
			for _, id := range []int64{e.ID, 1 << 53, 1<<53 + 1, -1} {
				e.ID = id
				got, err := enc.Encode(&e)
				if err != nil {
					t.Fatal(err)
				}
				if want := general(e); string(got) != want {
					t.Fatalf("event %+v:\nencoder %s\ngeneral %s", e, got, want)
				}
				n++
			}
		}
	}
	t.Logf("%d events compared", n)
}

// BenchmarkCanonicalEncoder is BenchmarkChainHash's event through the
// encoder a sync's appends use.
func BenchmarkCanonicalEncoder(b *testing.B) {
	ev := roster.Event{ID: 123456, At: time.Date(2026, 1, 5, 9, 0, 0, 123456000, time.UTC), Actor: "admin",
		Action: roster.ActionGrantAdded, ObjectType: "grant", ObjectID: "user-01234 okta/engineering", Reason: "roster apply",
		Data: json.RawMessage(`{"sources":["direct"]}`)}
	var enc roster.CanonicalEncoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(&ev); err != nil {
			b.Fatal(err)
		}
	}
}

// canonicalOf is data in the JSON Canonicalization Scheme, the general way.
func canonicalOf(t testing.TB, data string) (string, bool) {
	v := jsontext.Value(data)
	if err := v.Canonicalize(); err != nil {
		return "", false
	}
	return string(v), true
}

// Data already in canonical form is taken as it is (CanonicalData says so
// only of valid JSON the general way would leave alike); every other data is
// left to the general way, and the encoder's output is the same either way.
func TestCanonicalData(t *testing.T) {
	canonical := []string{
		`{}`, `[]`, `null`, `true`, `0`, `-1`, `123456789012345`, `"a b/c:d"`, `""`,
		`{"sources":["direct"]}`, `{"sources":["profile:a","profile:b"]}`,
		`{"bypass":"","entitlement":"app/e1","kind":"grant","origin":"profile","policy":"","profile":"p","state":"done","user":"u00001"}`,
		`{"a":{"b":[1,2,{"c":null}],"d":true},"e":false}`, `[[],{},[{}]]`, `{"A":1,"B":2,"a":3,"b":4}`,
	}
	notCanonical := []string{
		``, ` {}`, `{} `, `{"a": 1}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `[1 ,2]`, `1.0`, `1e2`, `-0`, `01`, `+1`,
		`12345678901234567890`, `9007199254740993`, `"\u0041"`, `"a\"b"`, `"é"`, "\"tab\there\"", `"<&>"` + "\x7f", `{"a":1,}`, `[1,]`,
		`{"a"}`, `{"a":}`, `[`, `{`, `"`, `nul`, `truex`, `{"a":1}x`, `{"a":[1,2}`, `[1,2]]`, `{1:2}`, `{"sources":["direct"]`,
		`{"b":{"y":1,"x":2},"a":3}`, `{"a":{"y":1,"x":2}}`, "\"\xff\"",
	}
	for _, d := range canonical {
		if !roster.CanonicalData([]byte(d)) {
			t.Errorf("CanonicalData(%s) = false, want true", d)
		}
		if c, ok := canonicalOf(t, d); !ok || c != d {
			t.Errorf("the test's canonical %s is %q (valid %v) the general way", d, c, ok)
		}
	}
	for _, d := range notCanonical {
		if roster.CanonicalData([]byte(d)) {
			c, ok := canonicalOf(t, d)
			t.Errorf("CanonicalData(%q) = true; the general way gives %q (valid %v)", d, c, ok)
		}
	}
}

// FuzzCanonicalData: whatever data CanonicalData takes as it is, the
// general way leaves alike.
func FuzzCanonicalData(f *testing.F) {
	for _, s := range []string{`{"sources":["direct"]}`, `{"a":{"b":[1,-2,{"c":null}],"d":true},"e":false}`, `[0,"x",{}]`, `{"b":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if !roster.CanonicalData([]byte(d)) {
			return
		}
		if c, ok := canonicalOf(t, d); !ok || c != d {
			t.Fatalf("CanonicalData(%q) = true; the general way gives %q (valid %v)", d, c, ok)
		}
	})
}

// BenchmarkChainTaskCreated is the canonical JSON and the hash of a sync's
// task.created events, each with data of its own (the encoder's memo of the
// last data never hits).
func BenchmarkChainTaskCreated(b *testing.B) {
	evs := make([]roster.Event, 1024)
	for i := range evs {
		evs[i] = roster.Event{ID: int64(123456 + i), At: time.Date(2026, 1, 5, 9, 0, 0, 123456000, time.UTC), Actor: "automation",
			Action: roster.ActionTaskCreated, ObjectType: "task", ObjectID: strconv.Itoa(123456 + i), Reason: "access of profile p",
			Data: json.RawMessage(`{"bypass":"","entitlement":"app/e` + strconv.Itoa(i%1000) + `","kind":"grant","origin":"profile","policy":"auto","profile":"p","state":"done","user":"u` + strconv.Itoa(i) + `"}`)}
	}
	var enc roster.CanonicalEncoder
	prev := roster.GenesisHash
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c, err := enc.Encode(&evs[i%len(evs)])
		if err != nil {
			b.Fatal(err)
		}
		prev = roster.ChainHashOf(prev, c)
	}
}
