package csv_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/connector"
	_ "github.com/rosterhq/roster/connector/csv"
)

// today is the injected clock: 15 June 2024, noon UTC.
var today = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

// writeFile writes content to a fresh people.csv and returns its path.
func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// open opens a csv connector on path with extra settings and the clock now.
// The data directory is path's grandparent (the test's temporary directory).
func open(t testing.TB, path string, settings connector.Settings, now time.Time) connector.Connector {
	t.Helper()
	s := connector.Settings{"path": path}
	for k, v := range settings {
		s[k] = v
	}
	c, err := connector.Open("csv", connector.Config{ID: "hr", App: "hr", Settings: s, Now: func() time.Time { return now },
		Access: connector.Access{DataDir: filepath.Dir(filepath.Dir(path))}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// syncFile reads content with settings at today and returns the accounts.
func syncFile(t *testing.T, content string, settings connector.Settings) []connector.Account {
	t.Helper()
	snap, err := open(t, writeFile(t, content), settings, today).Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(snap.Entitlements) != 0 || len(snap.Grants) != 0 {
		t.Errorf("Sync returned entitlements %v and grants %v, want none", snap.Entitlements, snap.Grants)
	}
	return snap.Accounts
}

func TestSync(t *testing.T) {
	const file = `id,email,name,manager,department,title,status,start_date,end_date,cost_center
carol,carol@example.com,Carol King,,Engineering,VP,active,2019-01-07,,CC-1
alice,alice@example.com,Alice Liddell,carol,Engineering,Engineer,active,2020-03-02,,CC-2
bob,bob@example.com,Bob Stone,carol,Sales,Rep,Terminated,2021-01-04,,CC-3
`
	got := syncFile(t, file, connector.Settings{"attributes": []any{"cost_center"}})
	want := []connector.Account{
		{ID: "carol", Email: "carol@example.com", Name: "Carol King", Department: "Engineering", Title: "VP",
			StartDate: "2019-01-07", Attributes: map[string]string{"cost_center": "CC-1"}},
		{ID: "alice", Email: "alice@example.com", Name: "Alice Liddell", Manager: "carol", Department: "Engineering", Title: "Engineer",
			StartDate: "2020-03-02", Attributes: map[string]string{"cost_center": "CC-2"}},
		{ID: "bob", Email: "bob@example.com", Name: "Bob Stone", Manager: "carol", Department: "Sales", Title: "Rep", Disabled: true,
			StartDate: "2021-01-04", Attributes: map[string]string{"cost_center": "CC-3"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts:\n got %+v\nwant %+v", got, want)
	}
}

// TestDisabled checks the disabled rules against the injected clock.
func TestDisabled(t *testing.T) {
	tests := []struct {
		name               string
		status, start, end string
		settings           connector.Settings
		now                time.Time
		want               bool
	}{
		{name: "active", status: "active", want: false},
		{name: "no status or dates", want: false},
		{name: "terminated status", status: "terminated", want: true},
		{name: "status case-insensitive", status: " LeAvEr ", want: true},
		{name: "inactive", status: "inactive", want: true},
		{name: "disabled", status: "disabled", want: true},
		{name: "custom statuses replace the defaults", status: "terminated",
			settings: connector.Settings{"terminated_statuses": []any{"Gone"}}, want: false},
		{name: "custom status matches", status: "GONE",
			settings: connector.Settings{"terminated_statuses": []any{"gone"}}, want: true},
		{name: "empty list: no status disables", status: "terminated",
			settings: connector.Settings{"terminated_statuses": []any{}}, want: false},
		{name: "joiner before start date", start: "2024-06-16", want: true},
		{name: "joiner on first day", start: "2024-06-15", want: false},
		{name: "started", start: "2024-01-01", want: false},
		{name: "leaver after end date", end: "2024-06-14", want: true},
		{name: "end date today still active", end: "2024-06-15", want: false},
		{name: "end date ahead", end: "2025-01-01", want: false},
		{name: "terminated despite future end", status: "terminated", end: "2025-01-01", want: true},
		{name: "date format", end: "14/06/2024",
			settings: connector.Settings{"date_format": "02/01/2006"}, want: true},
		{name: "date format, end today", end: "15/06/2024",
			settings: connector.Settings{"date_format": "02/01/2006"}, want: false},
		// At 23:30 UTC on 14 June it is already 15 June in Paris.
		{name: "UTC: end date is today", end: "2024-06-14",
			now: time.Date(2024, 6, 14, 23, 30, 0, 0, time.UTC), want: false},
		{name: "Paris: end date was yesterday", end: "2024-06-14",
			settings: connector.Settings{"timezone": "Europe/Paris"},
			now:      time.Date(2024, 6, 14, 23, 30, 0, 0, time.UTC), want: true},
		{name: "Paris: joiner's first day has come", start: "2024-06-15",
			settings: connector.Settings{"timezone": "Europe/Paris"},
			now:      time.Date(2024, 6, 14, 23, 30, 0, 0, time.UTC), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = today
			}
			file := fmt.Sprintf("id,status,start_date,end_date\nalice,%s,%s,%s\n", tt.status, tt.start, tt.end)
			snap, err := open(t, writeFile(t, file), tt.settings, now).Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := snap.Accounts[0].Disabled; got != tt.want {
				t.Errorf("Disabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestColumnMapping(t *testing.T) {
	// Header names match case-insensitively; department and title are in
	// neither the map nor the header, so they are empty; the Location
	// column feeds location by its default name and is an attribute too.
	const file = `Employee_ID,Work_Email,Full Name,Manager_ID,Employment Status,Leave Date,Location,Badge
E1,alice@example.com,Alice,E2,Active,,Paris,7
E2,carol@example.com,Carol,,Terminated,,Lyon,8
E3,dan@example.com,Dan,E2,Active,2024-06-01,Paris,9
`
	got := syncFile(t, file, connector.Settings{
		"columns": map[string]any{
			"id": "employee_id", "email": "work_email", "name": "full name",
			"manager": "manager_id", "status": "Employment Status", "end_date": "leave date",
		},
		"attributes": []any{"location", "Badge"},
	})
	want := []connector.Account{
		{ID: "E1", Email: "alice@example.com", Name: "Alice", Manager: "E2", Location: "Paris",
			Attributes: map[string]string{"location": "Paris", "Badge": "7"}},
		{ID: "E2", Email: "carol@example.com", Name: "Carol", Disabled: true, Location: "Lyon",
			Attributes: map[string]string{"location": "Lyon", "Badge": "8"}},
		{ID: "E3", Email: "dan@example.com", Name: "Dan", Manager: "E2", Disabled: true, Location: "Paris", EndDate: "2024-06-01",
			Attributes: map[string]string{"location": "Paris", "Badge": "9"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts:\n got %+v\nwant %+v", got, want)
	}
}

// TestFormat covers delimiters, quoting, spaces and the byte order mark.
func TestFormat(t *testing.T) {
	want := []connector.Account{
		{ID: "alice", Name: "Liddell, Alice"},
		{ID: "bob", Name: `Bob "B" Stone`, Title: "Rep"},
	}
	tests := []struct {
		name     string
		file     string
		settings connector.Settings
	}{
		{name: "comma", file: "id,title,name\nalice,,\"Liddell, Alice\"\nbob,Rep,\"Bob \"\"B\"\" Stone\"\n"},
		{name: "semicolon", settings: connector.Settings{"delimiter": ";"},
			file: "id;title;name\nalice;;Liddell, Alice\nbob;Rep;\"Bob \"\"B\"\" Stone\"\n"},
		{name: "tab", settings: connector.Settings{"delimiter": "\t"},
			file: "id\ttitle\tname\nalice\t\tLiddell, Alice\nbob\tRep\t\"Bob \"\"B\"\" Stone\"\n"},
		{name: `tab written \t`, settings: connector.Settings{"delimiter": `\t`},
			file: "id\ttitle\tname\nalice\t \t Liddell, Alice \nbob\tRep\t\"Bob \"\"B\"\" Stone\"\n"},
		{name: "BOM, CRLF and spaces", file: "\ufeff id , title ,name \r\n  alice ,, \"Liddell, Alice\"\r\n\r\nbob,  Rep , \"Bob \"\"B\"\" Stone\"\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := syncFile(t, tt.file, tt.settings); !reflect.DeepEqual(got, want) {
				t.Errorf("accounts:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestSyncErrors checks that a bad file fails the whole sync with an error
// naming the file, the line and the column.
func TestSyncErrors(t *testing.T) {
	const header = "id,email,start_date,end_date\n"
	tests := []struct {
		name     string
		file     string
		settings connector.Settings
		want     []string // substrings after the file's path
		never    []string // what the file holds, which the error must not
	}{
		{name: "empty file", file: "", want: []string{": empty file", `naming the id column "id"`}},
		{name: "only a BOM", file: "\ufeff\n", want: []string{": empty file"}},
		{name: "header only", file: header, want: []string{": no people"}},
		{name: "no id column", file: "email,name\na@example.com,A\n", want: []string{`:1: the header has no id column "id"`}, never: []string{"a@example.com", "email, name"}},
		{name: "no mapped id column", file: header + "alice,,,\n",
			settings: connector.Settings{"columns": map[string]any{"id": "employee_id"}},
			want:     []string{`:1: the header has no id column "employee_id"`}},
		{name: "explicit column missing", file: header + "alice,,,\n",
			settings: connector.Settings{"columns": map[string]any{"department": "dept"}},
			want:     []string{`:1: the header has no "dept" column (settings.columns.department)`}},
		{name: "explicit default name missing", file: header + "alice,,,\n",
			settings: connector.Settings{"columns": map[string]any{"title": "title"}},
			want:     []string{`:1: the header has no "title" column (settings.columns.title)`}},
		{name: "attribute missing", file: header + "alice,,,\n",
			settings: connector.Settings{"attributes": []any{"location"}},
			want:     []string{`:1: the header has no "location" column (settings.attributes)`}},
		{name: "header after blank lines", file: "\n\nemail\na\n", want: []string{`:3: the header has no id column "id"`}},
		{name: "ambiguous header", file: "id,email,Email\nalice,a,b\n", want: []string{`:1: the header has two "email" columns`}},
		{name: "missing id", file: header + "alice,,,\n ,bob@example.com,,\n", want: []string{`:3: column id: no id`}},
		{name: "missing mapped id", file: "emp,email\nE1,a\n,b\n",
			settings: connector.Settings{"columns": map[string]any{"id": "emp"}},
			want:     []string{`:3: column "emp" (id): no id`}},
		{name: "duplicate id", file: header + "alice,,,\nbob,,,\nalice,,,\n", want: []string{`:4: column id: duplicate id (the same person as on line 2)`}, never: []string{"alice"}},
		{name: "duplicate Roster user id", file: header + "alice,,,\nAlice ,,,\n", want: []string{`:3: column id: duplicate id`}, never: []string{"Alice", "alice"}},
		{name: "malformed end date", file: header + "alice,,,\nbob,,,2024-13-01\n", want: []string{`:3: column end_date: not a date in the format 2006-01-02`}, never: []string{"2024-13-01"}},
		{name: "malformed start date", file: header + "alice,,15/06/2024,\n", want: []string{`:2: column start_date: not a date`}, never: []string{"15/06/2024"}},
		{name: "malformed mapped date", file: "id,left\nalice,yesterday\n",
			settings: connector.Settings{"columns": map[string]any{"end_date": "left"}},
			want:     []string{`:2: column "left" (end_date): not a date`}, never: []string{"yesterday"}},
		{name: "too few fields", file: header + "alice,,,\nbob,,\n", want: []string{":3: the header has 4 fields but this row has 3"}},
		{name: "too many fields", file: header + "alice,,,,\n", want: []string{":2: the header has 4 fields but this row has 5"}},
		{name: "line after a multi-line field", file: "id,name\nalice,\"two\nlines\"\nbob\n", want: []string{":4: the header has 2 fields but this row has 1"}},
		{name: "bad quoting", file: header + "alice,\"a\"b,,\n", want: []string{`:2:`, "quote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			snap, err := open(t, path, tt.settings, today).Sync(context.Background())
			if err == nil {
				t.Fatalf("Sync succeeded with %d accounts, want an error", len(snap.Accounts))
			}
			if snap != nil {
				t.Errorf("Sync returned a snapshot with its error: %+v", snap)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, path) {
				t.Errorf("error %q does not start with the file's path %s", msg, path)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, w := range tt.never {
				if strings.Contains(strings.TrimPrefix(msg, path), w) {
					t.Errorf("error %q holds the file's text %q", msg, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere", "people.csv")
	c := open(t, path, nil, today) // Open does not read the file
	_, err := c.Sync(context.Background())
	if err == nil {
		t.Fatal("Sync of a missing file succeeded")
	}
	if !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q does not name %s or is not fs.ErrNotExist", err, path)
	}
}

// TestReread checks that every Sync reads the file again.
func TestReread(t *testing.T) {
	path := writeFile(t, "id,status\nalice,active\n")
	c := open(t, path, nil, today)
	if snap, err := c.Sync(context.Background()); err != nil || snap.Accounts[0].Disabled {
		t.Fatalf("first Sync: %+v, %v", snap, err)
	}
	if err := os.WriteFile(path, []byte("id,status\nalice,leaver\nbob,active\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != 2 || !snap.Accounts[0].Disabled {
		t.Errorf("second Sync did not see the change: %+v", snap.Accounts)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name     string
		settings connector.Settings
		want     string
	}{
		{name: "missing path", settings: connector.Settings{}, want: "settings.path is required"},
		{name: "empty path", settings: connector.Settings{"path": " "}, want: "settings.path:"},
		{name: "unknown key", settings: connector.Settings{"path": "p.csv", "sheet": "1"}, want: "settings.sheet: unknown setting"},
		{name: "columns not a map", settings: connector.Settings{"path": "p.csv", "columns": "id"}, want: "settings.columns: want a map"},
		{name: "unknown column field", settings: connector.Settings{"path": "p.csv", "columns": map[string]any{"mail": "email"}}, want: "settings.columns.mail: unknown field"},
		{name: "column not a string", settings: connector.Settings{"path": "p.csv", "columns": map[string]any{"id": 3}}, want: "settings.columns.id: want a string"},
		{name: "empty column", settings: connector.Settings{"path": "p.csv", "columns": map[string]any{"email": ""}}, want: "settings.columns.email: want a header name"},
		{name: "statuses not a list", settings: connector.Settings{"path": "p.csv", "terminated_statuses": "gone"}, want: "settings.terminated_statuses: want a list"},
		{name: "empty status", settings: connector.Settings{"path": "p.csv", "terminated_statuses": []any{"gone", ""}}, want: "settings.terminated_statuses[1]"},
		{name: "empty date format", settings: connector.Settings{"path": "p.csv", "date_format": ""}, want: "settings.date_format"},
		{name: "unknown timezone", settings: connector.Settings{"path": "p.csv", "timezone": "Mars/Olympus"}, want: `settings.timezone: "Mars/Olympus"`},
		{name: "long delimiter", settings: connector.Settings{"path": "p.csv", "delimiter": ";;"}, want: "settings.delimiter"},
		{name: "quote delimiter", settings: connector.Settings{"path": "p.csv", "delimiter": `"`}, want: "settings.delimiter"},
		{name: "empty delimiter", settings: connector.Settings{"path": "p.csv", "delimiter": ""}, want: "settings.delimiter"},
		{name: "attributes not a list", settings: connector.Settings{"path": "p.csv", "attributes": map[string]any{}}, want: "settings.attributes: want a list"},
		{name: "empty attribute", settings: connector.Settings{"path": "p.csv", "attributes": []any{" "}}, want: "settings.attributes[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := connector.Open("csv", connector.Config{Settings: tt.settings, Access: connector.Access{DataDir: t.TempDir()}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCannotProvision(t *testing.T) {
	c := open(t, writeFile(t, "id\nalice\n"), nil, today)
	who := connector.Subject{ID: "alice", MatchBy: connector.MatchByID}
	for name, err := range map[string]error{
		"Grant":  c.Grant(context.Background(), who, "employee"),
		"Revoke": c.Revoke(context.Background(), who, "employee"),
	} {
		if err == nil || !connector.IsPermanent(err) || !errors.Is(err, errors.ErrUnsupported) ||
			!strings.Contains(err.Error(), "HR feed") || !strings.Contains(err.Error(), "cannot provision") {
			t.Errorf("%s error = %v, want a permanent error saying an HR feed cannot provision", name, err)
		}
	}
}

// BenchmarkSync100k reads a file of 100,000 people; expect well under a
// second per op (go test -bench . ./connector/csv/).
func BenchmarkSync100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id,email,name,manager,department,title,status,start_date,end_date,location\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "e%d,person%d@example.com,Person %d,e%d,Engineering,Engineer,active,2020-01-%02d,%s,Paris\n",
			i, i, i, i/10, i%28+1, []string{"", "2025-12-31"}[i%2])
	}
	c := open(b, writeFile(b, sb.String()), connector.Settings{"attributes": []any{"location"}}, today)
	b.ResetTimer()
	for b.Loop() {
		snap, err := c.Sync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Accounts) != 100_000 {
			b.Fatalf("%d accounts", len(snap.Accounts))
		}
	}
}
