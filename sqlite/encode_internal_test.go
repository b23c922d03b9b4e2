package sqlite

import (
	"encoding/json"
	"testing"
)

// TestPlainStrings checks the encoder's shortcut for lists of strings
// against json.Marshal, on strings it takes and strings it leaves to it.
func TestPlainStrings(t *testing.T) {
	for _, ss := range [][]string{
		nil, {}, {""}, {"direct"}, {"direct", "profile:eng", "a b/c.d-e_f@g"},
		{"tab\t"}, {"quote\""}, {"back\\slash"}, {"<b>"}, {"a&b"}, {"émile"}, {"\u2028"}, {"del\x7f"}, {"ok", "nul\x00"},
	} {
		want, err := json.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		var e encoder
		if got := e.json(ss); got != string(want) || e.err != nil {
			t.Errorf("json(%q) = %s, %v; want %s", ss, got, e.err, want)
		}
	}
	if _, ok := plainStrings([]string{"a", "b\"c"}); ok {
		t.Error("plainStrings took a string with a quote")
	}
	if s, ok := plainStrings([]string{"a", "b"}); !ok || s != `["a","b"]` {
		t.Errorf(`plainStrings(a, b) = %s, %t`, s, ok)
	}
}

// FuzzPlainStrings checks that whatever the shortcut takes it encodes as
// json.Marshal does.
func FuzzPlainStrings(f *testing.F) {
	f.Add("direct", "profile:eng")
	f.Add("a\"b", "<")
	f.Fuzz(func(t *testing.T, a, b string) {
		ss := []string{a, b}
		want, _ := json.Marshal(ss)
		if got, ok := plainStrings(ss); ok && got != string(want) {
			t.Fatalf("plainStrings(%q) = %s, want %s", ss, got, want)
		}
	})
}
