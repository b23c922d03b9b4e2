package e2e

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

const whyOrg = org + `
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/org-member]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified, bypass_entitlement_policies: true}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
  - id: base
    name: Baseline
    entitlements: [github/org-member]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
`

// `roster why` names the profiles and the part of their rule behind a
// grant, the tasks that granted it, and says what would happen if each
// rule stopped matching; then the rule stops matching and that happens.
func TestWhyExplainsAccessAndPredictsTheRuleStopping(t *testing.T) {
	e := start(t)
	e.apply(whyOrg)
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	e.sync("eng")
	e.ok(adminUser, "profile", "enroll", "base", "alice")

	var alice roster.Explanation
	e.json(&alice, adminUser, "why", "alice", "github/org-member")
	equal(t, "alice's sources", alice.Sources, []string{"profile:base", "profile:eng"})
	if !alice.Held || alice.Direct || len(alice.Profiles) != 2 {
		t.Fatalf("alice's explanation = %+v, want held, not direct, two profiles", alice)
	}
	reasons := map[string]roster.ProfileReason{}
	for _, p := range alice.Profiles {
		reasons[p.Profile] = p
	}
	eng, base := reasons["eng"], reasons["base"]
	if eng.Member != roster.MemberAutomation || !eng.Justifies || eng.Rule == nil || !eng.Rule.Matches {
		t.Fatalf("eng's part = %+v, want an automation member whose rule matches", eng)
	}
	equal(t, "the rule entitlement alice holds", eng.Rule.Holds, []string{"okta/engineering"})
	if !strings.Contains(eng.IfRuleStops, "still justified by base") {
		t.Fatalf("eng if the rule stops = %q, want the access kept by base", eng.IfRuleStops)
	}
	if base.Member != roster.MemberManual || base.Rule != nil || !strings.Contains(base.IfRuleStops, "enrolled by hand") {
		t.Fatalf("base's part = %+v, want a manual member with automation off", base)
	}
	enrollments := 0
	for _, task := range alice.Tasks {
		if task.Entitlement == "access-profiles/eng" && task.Origin == roster.OriginAutomation && task.State == roster.StateDone {
			enrollments++
		}
	}
	if enrollments != 1 {
		t.Fatalf("alice's tasks %+v, want her done automation enrollment in eng", alice.Tasks)
	}

	var dave roster.Explanation
	e.json(&dave, adminUser, "why", "dave", "github/org-member")
	if len(dave.Profiles) != 1 || !strings.Contains(dave.Profiles[0].IfRuleStops, "a revoke task takes the access back") {
		t.Fatalf("dave's explanation = %+v, want eng alone, revoking", dave)
	}
	text := e.ok(adminUser, "why", "dave", "github/org-member")
	for _, want := range []string{"dave holds github/org-member", "Profile eng (Engineering onboarding)", "matches: holds okta/engineering", "a revoke task takes the access back"} {
		if !strings.Contains(text, want) {
			t.Fatalf("roster why prints:\n%s\nwant %q in it", text, want)
		}
	}

	// The rule stops matching both: what was said happens.
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	e.ok(adminUser, "grant", "remove", "dave", "okta/engineering")
	e.sync("eng")
	grants := e.grants("--entitlement", "github/org-member")
	equal(t, "alice keeps it through base", grants["alice github/org-member"], []string{"profile:base"})
	if _, ok := grants["dave github/org-member"]; ok {
		t.Fatal("dave kept github/org-member after eng's rule stopped matching")
	}
	e.json(&dave, adminUser, "why", "dave", "github/org-member")
	if dave.Held || len(dave.Profiles) != 0 {
		t.Fatalf("dave's explanation after = %+v, want not held and no profile", dave)
	}
}

// A user asks why about their own access and their reports'; auditors about
// anyone's.
func TestWhyIsReadLikeGrants(t *testing.T) {
	e := start(t)
	e.apply(whyOrg)
	e.sync("eng")
	e.ok("alice", "why", "alice", "github/org-member")
	e.ok("audrey", "why", "alice", "github/org-member")
	e.fails("your own access", "bob", "why", "alice", "github/org-member")
	e.ok("carol", "why", "alice", "github/org-member") // alice's manager
	e.fails("not found", adminUser, "why", "alice", "github/nope")
	e.fails("must be written APP/ENT", adminUser, "why", "alice", "org-member")
}
