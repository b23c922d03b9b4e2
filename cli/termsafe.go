package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// termSafe is a writer that shows control characters as escapes (ESC as
// \x1b) instead of passing them to the terminal, so that a name, a comment or
// an error message stored in Roster cannot move the cursor, rewrite earlier
// lines or set the window title of whoever reads it. Tabs and newlines pass,
// and so does JSON, which escapes control characters itself.
type termSafe struct {
	w io.Writer
	// partial holds the start of a UTF-8 sequence cut by the end of a write.
	partial []byte
}

// newTermSafe returns w wrapped in a termSafe writer.
func newTermSafe(w io.Writer) io.Writer { return &termSafe{w: w} }

// Write implements io.Writer.
func (t *termSafe) Write(p []byte) (int, error) {
	n := len(p)
	b := p
	if len(t.partial) > 0 {
		b = append(t.partial, p...)
		t.partial = nil
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1 && !utf8.FullRune(b):
			t.partial = append([]byte(nil), b...)
			b = nil
			continue
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, b[0])
		case r == '\t' || r == '\n':
			out = append(out, b[0])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			out = fmt.Appendf(out, `\x%02x`, r)
		case r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			// Line separators and bidirectional overrides reorder what is shown.
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
