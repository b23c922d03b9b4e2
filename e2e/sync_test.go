package e2e

import (
	"context"
	"testing"
	"time"
)

func TestAutomationDisabledSavesTheRuleAndDoesNothing(t *testing.T) {
	e := start(t)
	res := e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    automation: {enabled: false, any_entitlement: [okta/engineering]}
`)
	if len(res.Synced) != 0 {
		t.Fatalf("a disabled automation was synced: %+v", res.Synced)
	}
	v := e.profile("eng")
	equal(t, "rule saved", v.Automation.AnyEntitlement, []string{"okta/engineering"})
	equal(t, "pending", len(v.PendingEnrollments), 0)
	e.fails("not enabled", adminUser, "sync", "eng")
	if n, err := e.srv.Scheduler.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("scheduler synced %d profiles (err %v), want 0", n, err)
	}

	// Saving it enabled syncs at once.
	res = e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	if len(res.Synced) != 1 || len(res.Synced[0].Enrolled) != 2 {
		t.Fatalf("saving the automation enabled did not sync at once: %+v", res.Synced)
	}
}

// sync_members_only adds and removes members directly: no tasks, no access.
func TestSyncMembersOnly(t *testing.T) {
	e := start(t)
	res := e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    unenrollment: {access: revoke_all}
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [okta/engineering]}
`)
	equal(t, "enrolled", res.Synced[0].Enrolled, []string{"alice", "bob"})
	equal(t, "tasks created", res.Synced[0].TasksCreated, 0)
	equal(t, "members", e.members("eng"), []string{"alice:automation", "bob:automation"})
	equal(t, "tasks", len(e.tasks("--profile", "eng")), 0)
	g := e.grants("--user", "alice")
	if _, ok := g["alice github/org-member"]; ok {
		t.Fatal("sync_members_only granted access")
	}
	equal(t, "enrollment grant", g["alice access-profiles/eng"], []string{"profile:eng"})

	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	r := e.sync("eng")
	equal(t, "unenrolled", r.Unenrolled, []string{"alice"})
	equal(t, "members", e.members("eng"), []string{"bob:automation"})
	equal(t, "tasks", len(e.tasks("--profile", "eng")), 0)
}

// An excluded user is not enrolled, and the exclusion is recorded as a task on
// the profile's excluded-from-rule entitlement under the tenant's default
// request policy; lifting it revokes that and lets the rule enroll them.
func TestExcludedUsers(t *testing.T) {
	e := start(t)
	profile := func(excluded string) string {
		return org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [okta/engineering], excluded_users: [` + excluded + `]}
`
	}
	e.apply(profile("bob"))
	equal(t, "members", e.members("eng"), []string{"alice:automation"})
	exclusion := e.task("--user", "bob", "--entitlement", "access-profiles/eng.excluded")
	// No exclusion_policy: the exclusion is recorded at once (spec §2), not
	// put to the tenant's default request policy.
	equal(t, "exclusion task", []string{string(exclusion.Kind), string(exclusion.Origin), string(exclusion.State)}, []string{"grant", "exclusion", "done"})
	equal(t, "exclusion grant", e.grants("--user", "bob")["bob access-profiles/eng.excluded"], []string{"profile:eng"})

	e.apply(profile(""))
	equal(t, "members once bob is no longer excluded", e.members("eng"), []string{"alice:automation", "bob:automation"})
	lifted := e.task("--user", "bob", "--entitlement", "access-profiles/eng.excluded", "--kind", "revoke")
	equal(t, "revoke of the exclusion (no exclusion_policy: at once)", string(lifted.State), "done")
	if _, ok := e.grants("--user", "bob")["bob access-profiles/eng.excluded"]; ok {
		t.Fatal("bob still holds the exclusion entitlement")
	}
}

// Disabled users match nothing: they are unenrolled from every profile however
// they joined. Otherwise automation never unenrolls manual members.
func TestLeaverIsUnenrolledEverywhereButManualMembersStay(t *testing.T) {
	e := start(t)
	e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_unjustified}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	e.ok(adminUser, "profile", "enroll", "eng", "erin", "dave")
	equal(t, "members", e.members("eng"), []string{"alice:automation", "bob:automation", "dave:manual", "erin:manual"})
	r := e.sync("eng")
	equal(t, "manual members who do not match stay", r.Unenrolled, []string{})

	aliceToken := e.token("alice")
	// dave and alice leave the company.
	e.apply(`
users:
  - {id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering, status: disabled}
  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering, status: disabled}
`)
	r = e.sync("eng")
	equal(t, "unenrolled leavers", r.Unenrolled, []string{"alice", "dave"})
	equal(t, "members", e.members("eng"), []string{"bob:automation", "erin:manual"})
	for _, u := range []string{"alice", "dave"} {
		if _, ok := e.grants("--user", u)[u+" github/org-member"]; ok {
			t.Fatalf("%s kept github/org-member after leaving", u)
		}
	}
	// A disabled user's token no longer works.
	if aliceToken == "" {
		t.Fatal("no token for alice")
	}
	e.fails("disabled", "alice", "whoami")
}

func TestKillSwitchStopsEveryAutomation(t *testing.T) {
	e := start(t)
	e.apply("settings: {automations_enabled: false}\n")
	res := e.apply(org + `
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`)
	if len(res.Synced) != 0 {
		t.Fatalf("kill switch on, but apply synced %+v", res.Synced)
	}
	e.fails("turned off tenant-wide", adminUser, "sync", "eng")
	e.fails("turned off tenant-wide", adminUser, "sync", "--all")
	e.clock.Advance(2 * time.Hour)
	if n, err := e.srv.Scheduler.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("scheduler synced %d profiles with the kill switch on (err %v)", n, err)
	}
	equal(t, "tasks", len(e.tasks("--profile", "eng")), 0)
}

// A sync is idempotent, never duplicates an open task, cancels an open
// enrollment whose user no longer matches and an open unenrollment whose user
// matches again.
func TestSyncIsIdempotentAndCancelsStaleTasks(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	again := e.sync("eng")
	equal(t, "second sync", []any{again.Enrolled, again.Unenrolled, again.TasksCreated}, []any{[]string{}, []string{}, 0})
	equal(t, "open enrollment tasks", len(e.tasks("--entitlement", "access-profiles/eng", "--state", "pending_approval")), 2)

	e.ok(adminUser, "grant", "remove", "bob", "okta/engineering")
	r := e.sync("eng")
	bobs := e.task("--user", "bob", "--entitlement", "access-profiles/eng")
	equal(t, "bob's enrollment", bobs.State, "cancelled")
	equal(t, "cancelled", r.Cancelled, []int64{bobs.ID})

	e.ok("carol", "task", "approve", id(e.task("--user", "alice", "--entitlement", "access-profiles/eng")))
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	equal(t, "unenrolled", e.sync("eng").Unenrolled, []string{"alice"})
	e.ok(adminUser, "grant", "add", "alice", "okta/engineering")
	e.sync("eng")
	unenroll := e.task("--user", "alice", "--entitlement", "access-profiles/eng", "--kind", "revoke")
	equal(t, "alice's unenrollment", unenroll.State, "cancelled")
	equal(t, "members", e.members("eng"), []string{"alice:automation"})
}

// A denied enrollment is not asked again until the user's match flips.
func TestDeniedEnrollmentIsNotAskedAgainUntilTheMatchFlips(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	first := e.task("--user", "alice", "--entitlement", "access-profiles/eng")
	e.ok("carol", "task", "deny", id(first), "--comment", "not yet")
	equal(t, "after denial", e.sync("eng").Enrolled, []string{})
	equal(t, "after denial, again", e.sync("eng").Enrolled, []string{})

	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	e.sync("eng")
	e.ok(adminUser, "grant", "add", "alice", "okta/engineering")
	equal(t, "after the match flipped", e.sync("eng").Enrolled, []string{"alice"})
	equal(t, "enrollment tasks", len(e.tasks("--user", "alice", "--entitlement", "access-profiles/eng")), 2)
}

// Profiles sync every sync_interval; the scheduler runs on the injected clock.
func TestScheduledSyncEveryInterval(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	ctx := context.Background()
	if n, _ := e.srv.Scheduler.RunOnce(ctx); n != 0 {
		t.Fatalf("scheduler synced %d profiles right after a sync", n)
	}
	e.clock.Advance(59 * time.Minute)
	if n, _ := e.srv.Scheduler.RunOnce(ctx); n != 0 {
		t.Fatalf("scheduler synced %d profiles before the interval", n)
	}
	e.clock.Advance(time.Minute)
	if n, err := e.srv.Scheduler.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("scheduler synced %d profiles (err %v), want 1", n, err)
	}
	e.task("--user", "dave", "--entitlement", "access-profiles/eng")
	if n, _ := e.srv.Scheduler.RunOnce(ctx); n != 0 {
		t.Fatalf("scheduler synced %d profiles twice in one interval", n)
	}
}

// A denied unenrollment is not asked again until the member matches again;
// once the match flips back and forth, it is asked again.
func TestDeniedUnenrollmentIsNotAskedAgainUntilTheMatchFlips(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.ok("carol", "task", "approve", id(e.task("--user", "alice", "--entitlement", "access-profiles/eng")))
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	e.sync("eng")
	e.ok("carol", "task", "deny", id(e.task("--user", "alice", "--entitlement", "access-profiles/eng", "--kind", "revoke")), "--comment", "she stays for now")
	equal(t, "after denial", e.sync("eng").Unenrolled, []string{})
	equal(t, "members", e.members("eng"), []string{"alice:automation"})

	e.ok(adminUser, "grant", "add", "alice", "okta/engineering")
	e.sync("eng")
	e.ok(adminUser, "grant", "remove", "alice", "okta/engineering")
	equal(t, "after the match flipped", e.sync("eng").Unenrolled, []string{"alice"})
}

// sync --all syncs every profile with automation enabled and reports each.
func TestSyncAll(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile + `
  - id: sec
    name: Security
    entitlements: [github/org-member]
    automation: {enabled: true, any_entitlement: [okta/security-team]}
  - id: off
    name: Off
    automation: {enabled: false}
`)
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	var res []struct {
		Profile      string   `json:"profile"`
		Enrolled     []string `json:"enrolled"`
		Unenrolled   []string `json:"unenrolled"`
		TasksCreated int      `json:"tasks_created"`
		Paused       bool     `json:"paused"`
	}
	e.json(&res, adminUser, "sync", "--all")
	if len(res) != 2 || res[0].Profile != "eng" || res[1].Profile != "sec" {
		t.Fatalf("sync --all = %+v, want eng and sec", res)
	}
	equal(t, "eng", []any{res[0].Enrolled, res[0].Unenrolled, res[0].TasksCreated, res[0].Paused}, []any{[]string{"dave"}, []string{}, 1, false})
	equal(t, "sec", []any{res[1].Enrolled, res[1].TasksCreated}, []any{[]string{}, 0})

	// A steady-state pass: every profile's sync is recorded, none changes
	// anything, and no event is written for syncs that found nothing to do.
	events := len(e.events())
	e.clock.Advance(time.Minute)
	e.json(&res, adminUser, "sync", "--all")
	if len(res) != 2 || len(res[0].Enrolled)+res[0].TasksCreated+len(res[1].Enrolled)+res[1].TasksCreated != 0 {
		t.Fatalf("steady-state sync --all = %+v", res)
	}
	for _, p := range []string{"eng", "sec"} {
		if last := e.profile(p).Automation.LastSync; last == nil || !last.At.Equal(e.clock.Now()) {
			t.Fatalf("%s's last sync = %+v, want one at %v", p, last, e.clock.Now())
		}
	}
	equal(t, "events written by a steady-state pass", len(e.events()), events)
}

// A pending enrollment of a user who is then disabled is cancelled, whatever
// its origin.
func TestLeaversPendingEnrollmentIsCancelled(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.ok(adminUser, "profile", "enroll", "eng", "erin")
	e.apply("users:\n  - {id: erin, email: erin@example.com, name: Erin, department: Sales, status: disabled}\n")
	r := e.sync("eng")
	task := e.task("--user", "erin", "--entitlement", "access-profiles/eng")
	equal(t, "erin's enrollment", task.State, "cancelled")
	equal(t, "cancelled", r.Cancelled, []int64{task.ID})
}
