package engine

import (
	"encoding/json"
	"testing"
)

// TestGrantDataMemo checks the audit data of grants' sources, whose last
// encoding an op keeps: each value gets the encoding json.Marshal gives it,
// however the calls follow one another.
func TestGrantDataMemo(t *testing.T) {
	var m grantDataMemo
	for _, sources := range [][]string{
		{"direct"}, {"direct", "profile:eng"}, {"profile:eng"}, {"direct"}, {},
		{"direct", "profile:eng"}, nil, {"profile:eng", "direct"}, {"profile:eng"},
	} {
		want, err := json.Marshal(map[string]any{"sources": sources})
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(m.of(sources))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("of(%q) = %s, want %s", sources, got, want)
		}
	}
}
