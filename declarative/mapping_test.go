package declarative

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestMappingManyKeys checks a mapping past the keys a mapping scans
// (manyFields): its values, and keys given twice before and after.
func TestMappingManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n  - id: alice\n    attributes:\n")
	want := map[string]string{}
	for i := range 2 * manyFields {
		fmt.Fprintf(&b, "      k%d: v%d\n", i, i)
		want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
	}
	doc, err := Parse("roster.yaml", []byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Users[0].Attributes; !reflect.DeepEqual(got, want) {
		t.Errorf("attributes = %v, want %v", got, want)
	}

	// Lines 4 to 35 hold k0 to k31.
	b.WriteString("      k2: again\n      k20: again\n      k31: [x]\n    shoe: 1\n    shoe: 2\n")
	_, err = Parse("roster.yaml", []byte(b.String()), nil)
	var e *roster.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *roster.Error", err)
	}
	wantDetails := []string{
		`roster.yaml:36: users[0].attributes: key "k2" given twice (first at line 6)`,
		`roster.yaml:37: users[0].attributes: key "k20" given twice (first at line 24)`,
		`roster.yaml:38: users[0].attributes: key "k31" given twice (first at line 35)`,
		`roster.yaml:39: users[0]: unknown key "shoe" (known keys: id, email, name, manager, department, title, location, employment_type, start_date, end_date, status, role, kind, notify, attributes)`,
		`roster.yaml:40: users[0]: key "shoe" given twice (first at line 39)`,
	}
	if !reflect.DeepEqual(e.Details, wantDetails) {
		t.Errorf("details:\n%s\nwant:\n%s", strings.Join(e.Details, "\n"), strings.Join(wantDetails, "\n"))
	}
}
