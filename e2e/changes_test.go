package e2e

import (
	"context"
	"testing"
)

// A change in who holds what reaches exactly the profiles whose rule it can
// affect, without anyone asking for a sync.
func TestChangesSyncTheProfilesTheyAffect(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile + `
  - id: sales
    name: Sales
    entitlements: [slack/general]
    enrollment: {policy: auto}
    unenrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [okta/sales]}
  - id: leads
    name: Leads
    enrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [access-profiles/sales]}
`)
	ctx := context.Background()
	run := func(want int) {
		t.Helper()
		if n, err := e.srv.Changes.RunOnce(ctx); n != want || err != nil {
			t.Fatalf("change-driven sync synced %d profiles (err %v), want %d", n, err, want)
		}
	}
	// The apply synced the saved profiles itself: nothing is left marked.
	run(0)
	before := len(e.events("--action", "profile.synced", "--object-id", "eng"))

	// A grant of a rule entitlement: only eng is synced, and dave is pending.
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	run(1)
	e.task("--user", "dave", "--entitlement", "access-profiles/eng")
	equal(t, "eng syncs", len(e.events("--action", "profile.synced", "--object-id", "eng")), before+1)
	// sales' only sync, at apply time, found nothing to do: no event.
	equal(t, "sales sync events", len(e.events("--action", "profile.synced", "--object-id", "sales")), 0)
	// A grant nobody's rule names syncs nothing.
	e.ok(adminUser, "grant", "add", "dave", "slack/eng")
	run(0)

	// Joining sales enrolls erin at once, which grants access-profiles/sales,
	// which leads' rule names: leads follows in the same pass.
	e.ok(adminUser, "grant", "add", "erin", "okta/sales")
	run(2)
	equal(t, "sales members", e.members("sales"), []string{"erin:automation"})
	equal(t, "leads members", e.members("leads"), []string{"erin:automation"})

	// A leaver: disabling erin syncs the profiles she is in; her unenrollment
	// from sales removes access-profiles/sales, which marks leads once more
	// (a sync with nothing left to do) before the cascade settles.
	e.apply("users:\n  - {id: erin, email: erin@example.com, name: Erin, department: Sales, status: disabled}\n")
	run(3)
	run(0)
	equal(t, "sales members after erin left", e.members("sales"), []string{})
	equal(t, "leads members after erin left", e.members("leads"), []string{})

	// A manual sync answers the mark too: nothing is synced twice.
	e.ok(adminUser, "grant", "remove", "bob", "okta/engineering")
	e.sync("eng")
	run(0)
}

// With the kill switch on, or the profile's automation off, marks are dropped
// and nothing runs.
func TestChangesRespectTheKillSwitch(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.apply("settings: {automations_enabled: false}\n")
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	if n, err := e.srv.Changes.RunOnce(context.Background()); n != 0 || err != nil {
		t.Fatalf("synced %d (err %v) with the kill switch on", n, err)
	}
	equal(t, "dave's tasks", len(e.tasks("--user", "dave")), 0)
}
