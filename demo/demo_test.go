package demo_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
	"github.com/rosterhq/roster/demo"
)

// nothing is a roster.Known on an empty server.
type nothing struct{}

func (nothing) HasUser(string) bool        { return false }
func (nothing) HasPolicy(string) bool      { return false }
func (nothing) HasApp(string) bool         { return false }
func (nothing) HasEntitlement(string) bool { return false }
func (nothing) HasProfile(string) bool     { return false }

func parse(t *testing.T) *roster.Document {
	t.Helper()
	doc, err := declarative.Parse("demo.yaml", demo.Document(), nothing{})
	if err != nil {
		t.Fatalf("Parse: %v\n%v", err, roster.ErrorDetails(err))
	}
	return doc
}

func TestDocumentParses(t *testing.T) {
	doc := parse(t)
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"users", len(doc.Users), 25},
		{"apps", len(doc.Apps), 5},
		{"entitlements", len(doc.Entitlements), 16},
		{"policies", len(doc.Policies), 4},
		{"grants", len(doc.Grants), 52},
		{"profiles", len(doc.Profiles), 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	s := doc.Settings.Apply(roster.DefaultSettings())
	want := roster.Settings{
		DefaultRequestPolicy: "manager", DefaultRevokePolicy: "auto", SyncInterval: roster.Duration(3600e9),
		AutomationsEnabled: true, Safeguard: roster.Safeguard{MinMembers: 5, MaxRemovalPercent: 20},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("settings = %+v, want %+v", s, want)
	}
}

func TestPeople(t *testing.T) {
	doc := parse(t)
	byID := map[string]roster.User{}
	depts := map[string]int{}
	var top, admins, auditors []string
	for _, u := range doc.Users {
		byID[u.ID] = u
		depts[u.Department]++
		if u.Manager == "" {
			top = append(top, u.ID)
		}
		switch u.Role {
		case roster.RoleAdmin:
			admins = append(admins, u.ID)
		case roster.RoleAuditor:
			auditors = append(auditors, u.ID)
		}
	}
	if _, ok := byID[roster.AdminUser]; ok {
		t.Errorf("the built-in user %q is declared", roster.AdminUser)
	}
	if !slices.Equal(top, []string{"dana"}) {
		t.Errorf("users without a manager = %v, want only the CEO dana", top)
	}
	if !slices.Equal(admins, []string{"sam", "ivy"}) || !slices.Equal(auditors, []string{"grace"}) {
		t.Errorf("admins = %v, auditors = %v", admins, auditors)
	}
	for dept, n := range map[string]int{"Executive": 1, "Engineering": 9, "Sales": 7, "Finance": 4, "IT & Security": 4} {
		if depts[dept] != n {
			t.Errorf("department %q has %d people, want %d", dept, depts[dept], n)
		}
	}
	// Every chain of managers ends at the CEO.
	for _, u := range doc.Users {
		seen := map[string]bool{}
		for id := u.ID; id != "dana"; id = byID[id].Manager {
			if seen[id] || byID[id].ID == "" {
				t.Errorf("manager chain of %s does not reach dana", u.ID)
				break
			}
			seen[id] = true
		}
	}
}

func TestGroupsAndProfiles(t *testing.T) {
	doc := parse(t)
	holders := map[string][]string{}
	for _, g := range doc.Grants {
		holders[g.Entitlement] = append(holders[g.Entitlement], g.User)
	}
	if n := len(holders["okta/employees"]); n != len(doc.Users) {
		t.Errorf("okta/employees has %d holders, want all %d users", n, len(doc.Users))
	}
	profiles := map[string]roster.Profile{}
	for _, p := range doc.Profiles {
		profiles[p.ID] = p
	}

	eng := profiles["eng"]
	if !slices.Equal(eng.Entitlements, []string{"github/org-member", "slack/eng", "aws/dev-readonly"}) ||
		eng.Enrollment != (roster.Enrollment{Policy: "manager", BypassEntitlementPolicies: true}) ||
		eng.Unenrollment != (roster.Unenrollment{Policy: "auto", Access: roster.AccessRevokeUnjustified, BypassEntitlementPolicies: true}) ||
		!eng.Automation.Enabled || eng.Automation.Mode != roster.ModeSyncAndAct || !eng.Automation.Safeguard ||
		!slices.Equal(eng.Automation.AnyEntitlement, []string{"okta/engineering"}) || len(eng.Automation.ExcludedUsers) != 1 {
		t.Errorf("eng = %+v", eng)
	}
	// The walkthrough: removing okta/engineering from 2 of the engineers the
	// rule covers must trip the safeguard, removing 1 must not.
	covered := 0
	for _, u := range holders["okta/engineering"] {
		if !slices.Contains(eng.Automation.ExcludedUsers, u) {
			covered++
		}
	}
	if covered <= 5 || 100*2 <= 20*covered || 100*1 > 20*covered {
		t.Errorf("eng covers %d engineers: the safeguard walkthrough does not work", covered)
	}

	sales := profiles["sales"]
	if !slices.Equal(sales.Entitlements, []string{"salesforce/user", "slack/sales"}) ||
		sales.Enrollment != (roster.Enrollment{Policy: "auto"}) || sales.Unenrollment.Access != roster.AccessRevokeAll ||
		!sales.AllowEnrollmentRequests || !sales.Automation.Enabled || sales.Automation.Mode != roster.ModeSyncAndAct ||
		!slices.Equal(sales.Automation.AnyEntitlement, []string{"okta/sales"}) {
		t.Errorf("sales = %+v", sales)
	}

	all := profiles["all-staff"]
	if !slices.Equal(all.Entitlements, []string{"slack/general"}) || all.Unenrollment.Access != roster.AccessLeave ||
		!all.Automation.Enabled || all.Automation.Mode != roster.ModeSyncMembersOnly ||
		!slices.Equal(all.Automation.AnyEntitlement, []string{"okta/employees"}) {
		t.Errorf("all-staff = %+v", all)
	}
}

func TestDocumentIsACopy(t *testing.T) {
	a := demo.Document()
	a[0] = 'X'
	if b := demo.Document(); b[0] == 'X' {
		t.Error("Document returned its embedded bytes, which the caller changed")
	}
}
