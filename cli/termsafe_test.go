package cli

import (
	"bytes"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain\ttext\n", "plain\ttext\n"},
		{"é ü 日本", "é ü 日本"},
		{"\x1b[2J\x1b]0;t\a", `\x1b[2J\x1b]0;t\x07`},
		{"cr\rback\bdel\x7f", `cr\x0dback\x08del\x7f`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"bad \xff byte", `bad \xff byte`},
	} {
		var b bytes.Buffer
		w := newTermSafe(&b)
		// Byte by byte: a rune cut between writes is kept whole.
		for i := range len(tt.in) {
			if n, err := w.Write([]byte{tt.in[i]}); n != 1 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if b.String() != tt.want {
			t.Errorf("%q came out as %q, want %q", tt.in, b.String(), tt.want)
		}
	}
}
