package rule

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

func alice() *User {
	u := NewUser(&roster.User{ID: "alice", Email: "alice@example.org", Department: "Engineering", Title: "SRE",
		Location: "Berlin", EmploymentType: "employee", Status: roster.UserActive, StartDate: "2024-02-01",
		Attributes: map[string]string{"cost_center": "CC-12"}},
		func(e string) bool { return e == "okta/engineering" },
		func(p string) bool { return p == "eng" })
	return u
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{`user.department == "Engineering" && user.employment_type != "contractor"`, true},
		{`user.department == "Sales"`, false},
		{`user.location in ["Berlin", "Lisbon"]`, true},
		{`user.start_date >= "2024-01-01" && user.end_date == ""`, true},
		{`user.start_date > "2024-06-30"`, false},
		{`user.has("okta/engineering")`, true},
		{`user.has("okta/sales")`, false},
		{`user.member_of("eng") && !user.member_of("ops")`, true},
		{`user.attributes["cost_center"].startsWith("CC-")`, true},
		{`"cost_center" in user.attributes`, true},
		{`has(user.attributes.region)`, false},
		{`user.title.matches("^S.E$")`, true},
	}
	for _, tc := range tests {
		r, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("Compile(%s): %v", tc.expr, err)
			continue
		}
		got, err := r.Eval(alice())
		if err != nil || got != tc.want {
			t.Errorf("Eval(%s) = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
}

// TestEvalError: a missing attribute is an evaluation error for that user,
// which the caller counts as "does not match"; nil has / member_of hold
// nothing.
func TestEvalError(t *testing.T) {
	r, err := Compile(`user.attributes["region"] == "emea"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Eval(alice()); err == nil || got {
		t.Errorf("Eval = %v, %v; want an error", got, err)
	}
	r, _ = Compile(`user.has("okta/engineering") || user.member_of("eng")`)
	if got, err := r.Eval(&User{ID: "bob"}); err != nil || got {
		t.Errorf("Eval with nil has/member_of = %v, %v; want false", got, err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr, want string
		line, col  int
	}{
		{"user.departmnet == \"Eng\"", `user has no field "departmnet"`, 1, 5},
		{"user.department == \"Eng\" &&\n  user.titel == \"x\"", `user has no field "titel"`, 2, 7},
		{`user.department == 3`, "no matching overload", 1, 17},
		{`user.department`, "gives a string, not true or false", 0, 0},
		{`user.department == "Eng" &&`, "Syntax error", 1, 28},
		{`user.has(3)`, "no matching overload", 1, 9},
		{`nobody.department == "x"`, "undeclared reference to 'nobody'", 1, 1},
		{"   ", "the expression is empty", 0, 0},
		{strings.Repeat("true && ", 600) + "true", "limit is 4096", 0, 0},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Errorf("Compile(%q) = %v, want Errors", tc.expr, err)
			continue
		}
		if !strings.Contains(es[0].Message, tc.want) || es[0].Line != tc.line || es[0].Column != tc.col {
			t.Errorf("Compile(%q): first error %d:%d %q, want %d:%d containing %q", tc.expr, es[0].Line, es[0].Column, es[0].Message, tc.line, tc.col, tc.want)
		}
	}
}

func TestReads(t *testing.T) {
	tests := []struct {
		expr string
		want Reads
	}{
		{`user.department == "Eng" && user.location != "Berlin"`, Reads{Fields: []string{"department", "location"}, Entitlements: []string{}, Profiles: []string{}}},
		{`user.has("okta/eng") || user.member_of("ops") && user.status == "active"`,
			Reads{Fields: []string{"status"}, Entitlements: []string{"okta/eng"}, Profiles: []string{"ops"}}},
		{`user.has(user.department)`, Reads{Fields: []string{"department"}, Entitlements: []string{}, AnyEntitlement: true, Profiles: []string{}}},
		{`has(user.attributes.region)`, Reads{Fields: []string{"attributes"}, Entitlements: []string{}, Profiles: []string{}}},
		{`[user].exists(u, u.title == "SRE")`, Reads{Fields: Fields, Entitlements: []string{}, Profiles: []string{}}},
	}
	for _, tc := range tests {
		r, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.expr, err)
		}
		got := r.Reads()
		want := tc.want
		want.Fields = sortedCopy(want.Fields)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Reads(%s) = %+v, want %+v", tc.expr, got, want)
		}
	}
}

func sortedCopy(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return sortedKeys(m)
}

// TestCostLimit: an expression that loops too long fails for that user
// instead of holding the sync.
func TestCostLimit(t *testing.T) {
	r, err := Compile(`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, user.title.size() > 0)))))`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Eval(alice()); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Errorf("Eval = %v, want a cost limit error", err)
	}
}

func BenchmarkEval(b *testing.B) {
	r, err := Compile(`user.department == "Engineering" && user.employment_type != "contractor" && user.has("okta/engineering")`)
	if err != nil {
		b.Fatal(err)
	}
	u := alice()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := r.Eval(u); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
