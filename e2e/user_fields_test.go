package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rosterhq/roster"
)

// TestUserFields: the fields of SPEC section 1 that rules on attributes read
// (location, employment type, start and end dates, kind) are set by apply,
// shown by the CLI, and refused with the field named when malformed.
func TestUserFields(t *testing.T) {
	e := start(t)
	e.apply(`
users:
  - {id: alice, email: alice@example.org, name: Alice Chen, department: Engineering, title: SRE,
     location: Berlin, employment_type: employee, start_date: 2024-02-01, end_date: "2027-01-31"}
  - {id: ci-bot, email: ci@example.org, name: CI, kind: service}
  - {id: bob, email: bob@example.org}
`)
	var alice, bot, bob roster.User
	e.json(&alice, roster.AdminUser, "user", "show", "alice")
	e.json(&bot, roster.AdminUser, "user", "show", "ci-bot")
	e.json(&bob, roster.AdminUser, "user", "show", "bob")
	equal(t, "alice", [6]string{alice.Location, alice.EmploymentType, alice.StartDate, alice.EndDate, alice.Kind, alice.Title},
		[6]string{"Berlin", "employee", "2024-02-01", "2027-01-31", roster.UserPerson, "SRE"})
	equal(t, "ci-bot kind", bot.Kind, roster.UserService)
	equal(t, "bob kind (default)", bob.Kind, roster.UserPerson)

	out := e.ok(roster.AdminUser, "user", "show", "alice")
	for _, want := range []string{`Location:\s+Berlin\n`, `Employment type:\s+employee\n`, `Start date:\s+2024-02-01\n`, `End date:\s+2027-01-31\n`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("user show alice: no %q in\n%s", want, out)
		}
	}
	if out := e.ok(roster.AdminUser, "user", "show", "ci-bot"); !regexp.MustCompile(`Kind:\s+service\n`).MatchString(out) {
		t.Errorf("user show ci-bot: no kind in\n%s", out)
	}

	// Malformed fields are apply errors naming the field, and the file
	// changes nothing.
	for _, tc := range []struct{ doc, want string }{
		{"users:\n  - {id: alice, start_date: 01/02/2024}\n", `users[0].start_date: "01/02/2024" is not a date`},
		{"users:\n  - {id: alice, end_date: 2024-13-01}\n", `users[0].end_date: "2024-13-01" is not a date`},
		{"users:\n  - {id: alice, start_date: 2024-02-01, end_date: 2024-01-31}\n", "users[0].end_date: end_date 2024-01-31 is before start_date 2024-02-01"},
		{"users:\n  - {id: alice, kind: robot}\n", `users[0].kind: "robot" is not one of person, service`},
	} {
		e.applyFails(tc.want, roster.AdminUser, tc.doc)
	}
	var again roster.User
	e.json(&again, roster.AdminUser, "user", "show", "alice")
	equal(t, "alice after refused applies", again.StartDate+" "+again.EndDate+" "+again.Kind, "2024-02-01 2027-01-31 person")

	// An apply that leaves the new fields out clears them, as for any
	// other field of a declared user.
	e.apply("users:\n  - {id: alice, email: alice@example.org, name: Alice Chen}\n")
	var cleared roster.User
	e.json(&cleared, roster.AdminUser, "user", "show", "alice")
	equal(t, "alice fields cleared", cleared.Location+cleared.EmploymentType+cleared.StartDate+cleared.EndDate, "")
}

// TestUserFieldsFromHRFeed: the csv feed fills location, employment type and
// the dates (in the feed's date format, stored as YYYY-MM-DD).
func TestUserFieldsFromHRFeed(t *testing.T) {
	e := start(t)
	hr := filepath.Join(e.data, "people.csv")
	rows := "id,email,name,office,type,start_date,end_date\n" +
		"carol,carol@example.org,Carol,Lisbon,contractor,15/03/2021,31/12/2099\n"
	if err := os.WriteFile(hr, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	e.apply(`
connectors:
  - id: hr
    type: csv
    app: hr
    users: true
    settings:
      path: people.csv
      date_format: 02/01/2006
      columns: {location: office, employment_type: type}
`)
	equal(t, "HR sync", counts(e.connectorSync("hr")), "users +1 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	var carol roster.User
	e.json(&carol, roster.AdminUser, "user", "show", "carol")
	equal(t, "carol", [5]string{carol.Location, carol.EmploymentType, carol.StartDate, carol.EndDate, carol.Status},
		[5]string{"Lisbon", "contractor", "2021-03-15", "2099-12-31", roster.UserActive})
}
