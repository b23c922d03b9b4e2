package declarative_test

import (
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
)

// FuzzParse checks that no input makes Parse panic and that every failure
// is an EINVALID *roster.Error with details.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte(specJSON))
	f.Add([]byte("users:\n  - id: a\n    name: [x\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("{\"users\": [{\"id\": 1}],}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := declarative.Parse("f.yaml", data, specKnown())
		if err == nil {
			if doc == nil {
				t.Fatal("no document and no error")
			}
			return
		}
		if roster.ErrorCode(err) != roster.EINVALID || len(roster.ErrorDetails(err)) == 0 {
			t.Fatalf("error %v is not EINVALID with details", err)
		}
	})
}
