package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// exprOrg is org with the fields rules on attributes read.
var exprOrg = strings.NewReplacer(
	"{id: carol, email: carol@example.com, name: Carol, department: Engineering}",
	"{id: carol, email: carol@example.com, name: Carol, department: Engineering, employment_type: employee, location: Berlin}",
	"{id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering}",
	"{id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering, employment_type: employee, location: Berlin, title: Lead}",
	"{id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering}",
	"{id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering, employment_type: contractor, location: Lisbon}",
	"{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering}",
	"{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Sales, employment_type: employee, location: Berlin}",
).Replace(org)

// exprProfiles are profiles whose rules are expressions: eng on department
// and employment type, leads on eng's members and their title.
const exprProfiles = "\nprofiles:\n" + engExpr + leadsExpr

const engExpr = `  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation:
      enabled: true
      expression: 'user.department == "Engineering" && user.employment_type != "contractor"'
`

const leadsExpr = `  - id: leads
    name: Leads
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation:
      enabled: true
      expression: 'user.member_of("eng") && user.title == "Lead"'
`

// TestExpressionRules: a profile's rule may be a CEL expression over the
// user (SPEC section 5): it enrolls the users it is true for, shows in
// profile show, refuses to unenroll by hand a member it still matches, and
// may build on another profile's members.
func TestExpressionRules(t *testing.T) {
	e := start(t)
	e.apply(exprOrg + exprProfiles)
	equal(t, "eng members", e.members("eng"), []string{"alice:automation", "carol:automation"})
	equal(t, "leads members", e.members("leads"), []string{"alice:automation"})
	// Declared the other way round, leads still syncs after eng, whose
	// members its rule reads.
	e2 := start(t)
	e2.apply(exprOrg + "\nprofiles:\n" + leadsExpr + engExpr)
	equal(t, "leads members, declared first", e2.members("leads"), []string{"alice:automation"})

	v := e.profile("eng")
	equal(t, "eng expression", v.Automation.Expression, `user.department == "Engineering" && user.employment_type != "contractor"`)
	out := e.ok(adminUser, "profile", "show", "eng")
	if !strings.Contains(out, `user.department == "Engineering"`) {
		t.Errorf("profile show eng does not show the expression:\n%s", out)
	}

	// roster why shows the expression and that it holds for alice.
	var why roster.Explanation
	e.json(&why, adminUser, "why", "alice", "github/org-member")
	if len(why.Profiles) != 1 || why.Profiles[0].Rule == nil || !why.Profiles[0].Rule.Matches ||
		!why.Profiles[0].Rule.ExpressionTrue || why.Profiles[0].Rule.Expression == "" {
		t.Errorf("why alice github/org-member: %+v", why.Profiles)
	}

	// The expression still matches carol: unenrolling her by hand is refused.
	e.fails("still matches", adminUser, "profile", "unenroll", "eng", "carol")

	// Combined with any_entitlement, both must hold.
	e.apply(exprOrg + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation:
      enabled: true
      any_entitlement: [okta/engineering]
      expression: 'user.location == "Berlin"'
`)
	// alice holds okta/engineering and is in Berlin; carol is in Berlin but
	// holds nothing; bob holds it but is in Lisbon.
	e.sync("eng")
	equal(t, "eng members, combined rule", e.members("eng"), []string{"alice:automation"})
}

// TestExpressionApplyErrors: an expression that does not compile, names a
// field users do not have, or refers to something that does not exist is an
// apply error on the expression's line, and the file changes nothing.
func TestExpressionApplyErrors(t *testing.T) {
	e := start(t)
	e.apply(exprOrg + exprProfiles)
	profile := func(expr string) string {
		return `profiles:
  - id: ops
    name: Ops
    automation:
      enabled: true
      expression: ` + expr + `
`
	}
	for _, tc := range []struct{ doc, want string }{
		// A typo in a field's name is an error, not "matches nobody".
		{profile(`'user.departement == "Ops"'`), `bad.yaml:6: profiles[0].automation.expression: column 24: user has no field "departement"`},
		{profile(`'user.department == '`), `bad.yaml:6: profiles[0].automation.expression: column`},
		{profile(`'user.department'`), `gives a string, not true or false`},
		{profile(`'user.has("okta/nope")'`), `bad.yaml:6: profiles[0].automation.expression: user.has: unknown entitlement "okta/nope"`},
		{profile(`'user.member_of("nope")'`), `bad.yaml:6: profiles[0].automation.expression: user.member_of: unknown profile "nope"`},
		{profile(`'user.has("okta/" + user.department)'`), `user.has takes an entitlement written out`},
		{profile("|\n        user.department == \"Ops\" &&\n          user.titel == \"x\""), `bad.yaml:8: profiles[0].automation.expression: column`},
		{`profiles:
  - id: ops
    name: Ops
    automation: {enabled: true}
`, "names neither any_entitlement nor an expression"},
		// A cycle through member_of, with a profile that exists already.
		{`profiles:
  - id: eng
    name: Engineering
    automation:
      enabled: true
      expression: 'user.member_of("leads")'
`, `bad.yaml:6: profiles[0].automation.expression: the rules of these profiles depend on each other's members in a cycle: eng → leads → eng`},
	} {
		e.applyFails(tc.want, adminUser, tc.doc)
	}
	if got := e.profile("eng").Automation.Expression; !strings.Contains(got, "user.department") {
		t.Errorf("a refused apply changed eng's expression to %q", got)
	}
	e.fails("not found", adminUser, "profile", "show", "ops")
}

// TestExpressionChangesSync: a change to a field an expression reads
// re-syncs that profile at once; a change to a field it does not read
// syncs nothing.
func TestExpressionChangesSync(t *testing.T) {
	e := start(t)
	e.apply(exprOrg + exprProfiles)
	ctx := context.Background()
	run := func(want int) {
		t.Helper()
		if n, err := e.srv.Changes.RunOnce(ctx); n != want || err != nil {
			t.Fatalf("change-driven sync synced %d profiles (err %v), want %d", n, err, want)
		}
	}
	run(0)
	// dave's title: leads' rule reads it, eng's does not.
	e.apply("users:\n  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Sales, employment_type: employee, location: Berlin, title: Rep}\n")
	run(1)
	// His location: no rule reads it.
	e.apply("users:\n  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Sales, employment_type: employee, location: Paris, title: Rep}\n")
	run(0)
	// His department: eng's rule reads it, and now matches him. Joining
	// eng grants access-profiles/eng, which leads' rule reads: leads
	// follows in the same run (and does not match dave).
	e.apply("users:\n  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering, employment_type: employee, location: Paris, title: Rep}\n")
	run(2)
	equal(t, "eng members after dave moved", e.members("eng"), []string{"alice:automation", "carol:automation", "dave:automation"})
	equal(t, "leads members", e.members("leads"), []string{"alice:automation"})

	// Moving out: unenrolled at once, without a manual sync (leads
	// follows again).
	e.apply("users:\n  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Sales, employment_type: employee, location: Paris, title: Rep}\n")
	run(2)
	equal(t, "eng members after dave left", e.members("eng"), []string{"alice:automation", "carol:automation"})
}

// TestExpressionEvaluationErrors: a user the expression cannot be
// evaluated for (a missing attribute) does not match, and is counted in the
// sync's errors, never failing the sync.
func TestExpressionEvaluationErrors(t *testing.T) {
	e := start(t)
	e.apply(strings.Replace(exprOrg, "{id: erin, email: erin@example.com, name: Erin, department: Sales}",
		`{id: erin, email: erin@example.com, name: Erin, department: Sales, attributes: {cost_center: "42"}}`, 1) + `
profiles:
  - id: cc
    name: Cost centre 42
    enrollment: {policy: auto}
    automation:
      enabled: true
      expression: 'user.attributes["cost_center"] == "42"'
`)
	res := e.sync("cc")
	equal(t, "cc members", e.members("cc"), []string{"erin:automation"})
	// Every other active user lacks the attribute: carol, alice, bob, dave,
	// sam, tess, ivan, audrey and the admin.
	if res.Errors == 0 {
		t.Fatalf("sync result counts no evaluation errors: %+v", res)
	}
	out := e.ok(adminUser, "sync", "cc", "-o", "json")
	if !regexp.MustCompile(`"errors":\s*[1-9]`).MatchString(out) {
		t.Errorf("sync -o json shows no errors: %s", out)
	}
	var all []roster.SyncResult
	e.json(&all, adminUser, "sync", "--all")
	for _, r := range all {
		if r.Profile == "cc" && r.Errors != res.Errors {
			t.Errorf("sync --all: cc errors = %d, want %d", r.Errors, res.Errors)
		}
	}
}
