package declarative_test

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
	"github.com/rosterhq/roster/internal/testenv"
)

// FuzzParseContract checks declarative.Parse's contract on any input:
//   - it never panics;
//   - it returns a document, or a *roster.Error with code invalid whose
//     details name a line of the file ("f.yaml:N: …", N within the file) —
//     at least one does — and report no problem twice;
//   - it is deterministic: the same input parses to the same document, or
//     fails with the same error.
//
// Its seed corpus is every string literal of this package's tests, so the
// documents the tests pin down are where the fuzzer starts.
func FuzzParseContract(f *testing.F) {
	for _, s := range testenv.StringLiterals(f, ".", 2) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := declarative.Parse("f.yaml", data, specKnown())
		again, errAgain := declarative.Parse("f.yaml", data, specKnown())
		if err == nil {
			if doc == nil {
				t.Fatal("no document and no error")
			}
			if errAgain != nil || !reflect.DeepEqual(doc, again) {
				t.Fatalf("parsing again gave another answer: %+v, %v", again, errAgain)
			}
			return
		}
		var e *roster.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T %v is not a *roster.Error", err, err)
		}
		if e.Code != roster.EINVALID || len(e.Details) == 0 {
			t.Fatalf("error %+v: want code invalid with details", e)
		}
		lines := lineBreaks(data) + 1
		named := false
		for _, d := range e.Details {
			if m := detailLine.FindStringSubmatch(d); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n < 1 || n > lines {
					t.Errorf("detail %q names line %d; the file has %d", d, n, lines)
				}
				named = true
			}
		}
		if !named {
			t.Errorf("no detail names a line: %q", e.Details)
		}
		if d := duplicate(e.Details); d != "" {
			t.Errorf("detail %q is reported twice", d)
		}
		if errAgain == nil || errAgain.Error() != err.Error() || !slices.Equal(roster.ErrorDetails(errAgain), e.Details) {
			t.Fatalf("parsing again gave another answer: %v %q, first %v %q", errAgain, roster.ErrorDetails(errAgain), err, e.Details)
		}
	})
}

// detailLine matches a detail that names a line of f.yaml.
var detailLine = regexp.MustCompile(`^f\.yaml:(\d+): `)

// lineBreaks counts what YAML may take for a line break: line feeds,
// carriage returns and the Unicode breaks (NEL, LS, PS). A CRLF counts
// twice, so the count bounds the file's lines from above.
func lineBreaks(data []byte) int {
	n := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r"))
	for _, b := range []string{"\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(b))
	}
	return n
}

func duplicate(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

// TestProblemsNameALine pins down what FuzzParseContract found: a YAML error
// on the first line, or about a character YAML refuses, names its line, and
// a problem two checks find is reported once.
func TestProblemsNameALine(t *testing.T) {
	for _, tt := range []struct{ input, want string }{
		{"  - *big\n", "f.yaml:1: invalid YAML: unknown anchor 'big' referenced"},
		{"\t- {user: u1}\n", "f.yaml:1: invalid YAML: found character that cannot start any token"},
		{"users: []\n\x00\n", "f.yaml:2: invalid YAML: control characters are not allowed"},
		{"users: 3", "f.yaml:1: users: expected a list, got the number 3"},
	} {
		_, err := declarative.Parse("f.yaml", []byte(tt.input), specKnown())
		if got := roster.ErrorDetails(err); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%q: details %q, want %q", tt.input, got, tt.want)
		}
	}
}
