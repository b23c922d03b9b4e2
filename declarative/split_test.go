package declarative

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/heap"
)

// smallChunks makes files of a few hundred kilobytes be read in chunks of
// 256 lines, so that the tests stay quick under the race detector.
func smallChunks(t *testing.T) {
	t.Helper()
	min, lines := splitMin, chunkLines
	splitMin, chunkLines = 64<<10, 256
	t.Cleanup(func() { splitMin, chunkLines = min, lines })
}

// bigFile returns a declarative file of over 64 KiB: 2,000 users and 5,000
// grants, laid out with the given item indentation, some users
// written as multi-line block mappings with comments and blank lines
// between items. edit may change any line of the users and grants sections
// (kind "user" or "grant", i its index).
func bigFile(indent string, edit func(kind string, i int, line string) string) string {
	if edit == nil {
		edit = func(_ string, _ int, l string) string { return l }
	}
	var b strings.Builder
	b.WriteString("settings: {default_request_policy: auto}\npolicies:\n  - {id: auto, steps: []}\napps:\n")
	for a := range 5 {
		fmt.Fprintf(&b, "  - id: app%d\n    entitlements:\n", a)
		for e := range 20 {
			fmt.Fprintf(&b, "      - {id: e%d, request_policy: auto}\n", e)
		}
	}
	b.WriteString("users:  # people\n\n")
	for i := range 2000 {
		if i%97 == 0 {
			b.WriteString(edit("user", i, fmt.Sprintf("%s- id: u%d\n%s  email: u%d@example.com\n# a comment at column 0\n\n%s  name: User %d\n", indent, i, indent, i, indent, i)))
			continue
		}
		b.WriteString(edit("user", i, fmt.Sprintf("%s- {id: u%d, email: u%d@example.com, name: User %d, department: d%d}\n", indent, i, i, i, i%7)))
	}
	b.WriteString("grants:\n")
	for i := range 5000 {
		if i%1000 == 0 {
			b.WriteString(indent + "# every thousand\n")
		}
		b.WriteString(edit("grant", i, fmt.Sprintf("%s- {user: u%d, entitlement: app%d/e%d}\n", indent, i%2000, (i/2000)%5, (i/10000+i)%20)))
	}
	b.WriteString("profiles:\n  - {id: p1, name: P1, entitlements: [app0/e1], automation: {enabled: true, mode: sync_and_act, any_entitlement: [app1/e1]}}\n")
	return b.String()
}

// splitMatchesWhole checks that the chunked read of file was taken (or,
// with wantSplit false, refused) and that Parse gives what the whole read
// gives.
func splitMatchesWhole(t *testing.T, file string, wantSplit bool) (*roster.Document, error) {
	t.Helper()
	if len(file) < splitMin {
		t.Fatalf("the file is %d bytes, under splitMin (%d)", len(file), splitMin)
	}
	wholeDoc, wholeErr := parse("big.yaml", []byte(file), nil)
	_, split, _ := parseSplit("big.yaml", []byte(file), nil)
	if split != wantSplit {
		t.Fatalf("chunked read taken: %t, want %t", split, wantSplit)
	}
	doc, err := Parse("big.yaml", []byte(file), nil)
	if !reflect.DeepEqual(err, wholeErr) {
		t.Fatalf("Parse error:\n%v\nwhole read error:\n%v", err, wholeErr)
	}
	if !reflect.DeepEqual(doc, wholeDoc) {
		t.Fatalf("Parse and the whole read give different documents")
	}
	return doc, err
}

func TestSplitReadsLikeWhole(t *testing.T) {
	smallChunks(t)
	for _, indent := range []string{"  ", ""} {
		doc, err := splitMatchesWhole(t, bigFile(indent, nil), true)
		if err != nil {
			t.Fatalf("indent %q: %v", indent, err)
		}
		if len(doc.Users) != 2000 || len(doc.Grants) != 5000 || len(doc.Profiles) != 1 {
			t.Fatalf("indent %q: %d users, %d grants, %d profiles", indent, len(doc.Users), len(doc.Grants), len(doc.Profiles))
		}
		if doc.Users[97].Name != "User 97" || doc.Users[97].Email != "u97@example.com" {
			t.Fatalf("indent %q: multi-line user read as %+v", indent, doc.Users[97])
		}
	}
}

func TestSplitReportsLikeWhole(t *testing.T) {
	smallChunks(t)
	file := bigFile("  ", func(kind string, i int, l string) string {
		switch {
		case kind == "grant" && i == 3234:
			return "  - {user: u1, entitlement: app9/e1}\n"
		case kind == "grant" && i == 4999:
			return "  - {user: nobody, entitlement: app1/e1, extra: 1}\n"
		case kind == "grant" && i == 2500:
			return "  - {user: u0, entitlement: app0/e0}\n" // given twice
		case kind == "user" && i == 1500:
			return "  - {id: Bad Id}\n"
		}
		return l
	})
	_, err := splitMatchesWhole(t, file, true)
	e, ok := err.(*roster.Error)
	if !ok {
		t.Fatalf("error %v, want a *roster.Error", err)
	}
	for _, want := range []string{"grants[3234].entitlement", "grants[4999]", "grants[2500]", "users[1500].id"} {
		if !strings.Contains(strings.Join(e.Details, "\n"), want) {
			t.Errorf("no problem names %s:\n%s", want, strings.Join(e.Details, "\n"))
		}
	}
}

func TestSplitFallsBackToWhole(t *testing.T) {
	smallChunks(t)
	for name, edit := range map[string]func(kind string, i int, l string) string{
		"alias to another chunk": func(kind string, i int, l string) string {
			if kind == "grant" && i == 0 {
				return "  - {user: &first u0, entitlement: app0/e0}\n"
			}
			if kind == "grant" && i == 4500 {
				return "  - {user: *first, entitlement: app4/e19}\n"
			}
			return l
		},
		"tab": func(kind string, i int, l string) string {
			if kind == "grant" && i == 100 {
				return "\t- {user: u1, entitlement: app0/e0}\n"
			}
			return l
		},
		"syntax error": func(kind string, i int, l string) string {
			if kind == "grant" && i == 4000 {
				return "  - {user: u1, entitlement: [app0/e0}\n"
			}
			return l
		},
		"key under the list": func(kind string, i int, l string) string {
			if kind == "grant" && i == 5 {
				return "  stray: 1\n"
			}
			return l
		},
	} {
		t.Run(name, func(t *testing.T) { splitMatchesWhole(t, bigFile("  ", edit), false) })
	}
}

// BenchmarkParseChunked compares, in one process, the whole read of a 20
// MiB file (450,000 grants) with Parse's chunked read of it: time per parse
// and the heap each peaks at. The ratio is the figure to quote.
func BenchmarkParseChunked(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("apps:\n  - id: app0\n    entitlements:\n")
	for e := range 100 {
		fmt.Fprintf(&sb, "      - {id: e%d}\n", e)
	}
	sb.WriteString("users:\n")
	for i := range 20000 {
		fmt.Fprintf(&sb, "  - {id: u%d, email: u%d@example.com, name: User %d}\n", i, i, i)
	}
	sb.WriteString("grants:\n")
	for i := range 450000 {
		fmt.Fprintf(&sb, "  - {user: u%d, entitlement: app0/e%d}\n", i%20000, (i/20000*7+i)%100)
	}
	data := []byte(sb.String())
	for _, r := range []struct {
		name  string
		parse func() (*roster.Document, error)
	}{
		{"whole", func() (*roster.Document, error) { return parse("big.yaml", data, nil) }},
		{"chunked", func() (*roster.Document, error) { return Parse("big.yaml", data, nil) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			runtime.GC()
			stop := heap.Peak()
			for b.Loop() {
				doc, err := r.parse()
				if err != nil {
					b.Fatal(err)
				}
				if len(doc.Grants) != 450000 {
					b.Fatalf("%d grants", len(doc.Grants))
				}
			}
			b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
			b.ReportMetric(stop(), "peak-heap-MiB")
		})
	}
}
