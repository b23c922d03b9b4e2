package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
)

// partsOrg has 13 people holding okta/staff (Pat manages the other twelve),
// an auto policy and a manager policy, and two apps to grant.
func partsOrg() (doc string, staff []string) {
	var b strings.Builder
	b.WriteString(`
settings: {default_request_policy: auto, default_revoke_policy: auto}
policies:
  - {id: auto, steps: []}
  - id: manager
    steps: [{approvers: manager}]
users:
  - {id: pat, email: pat@example.com, name: Pat}
`)
	for i := 1; i <= 12; i++ {
		id := fmt.Sprintf("u%02d", i)
		staff = append(staff, id)
		fmt.Fprintf(&b, "  - {id: %s, email: %s@example.com, name: User %d, manager: pat}\n", id, id, i)
	}
	b.WriteString(`apps:
  - id: okta
    name: Okta
    owners: [pat]
    entitlements:
      - {id: staff, request_policy: auto, revoke_policy: auto}
  - id: wiki
    name: Wiki
    owners: [pat]
    entitlements:
      - {id: editor, request_policy: auto, revoke_policy: auto}
      - {id: reader, request_policy: auto, revoke_policy: auto}
grants:
`)
	for _, u := range staff {
		fmt.Fprintf(&b, "  - {user: %s, entitlement: okta/staff}\n", u)
	}
	return b.String(), staff
}

// A sync with more to do than --sync-chunk commits it in parts: each part
// is audited with what it did, the result is the whole sync's, nothing is
// asked twice, and a sync after it has nothing to do.
func TestLargeSyncCommitsInParts(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, SyncChunk: 5})
	doc, staff := partsOrg()
	res := e.apply(doc + `
profiles:
  - id: all
    name: Everyone
    entitlements: [wiki/editor, wiki/reader]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified}
    automation: {enabled: true, any_entitlement: [okta/staff]}
  - id: readers
    name: Readers
    entitlements: [wiki/reader]
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [okta/staff]}
  - id: asked
    name: Asked of managers
    entitlements: [wiki/editor]
    enrollment: {policy: manager}
    automation: {enabled: true, any_entitlement: [okta/staff]}
`)
	equal(t, "profiles synced", len(res.Synced), 3)
	all, readers, asked := res.Synced[0], res.Synced[1], res.Synced[2]
	equal(t, "enrolled in all", all.Enrolled, staff)
	equal(t, "tasks of all (an enrollment and two grants each)", all.TasksCreated, 36)
	equal(t, "enrolled in readers", readers.Enrolled, staff)
	equal(t, "enrolled in asked", asked.Enrolled, staff)
	equal(t, "tasks of asked (pending enrollments)", asked.TasksCreated, 12)

	var want []string
	for _, u := range staff {
		want = append(want, u+":automation")
	}
	equal(t, "members of all", e.members("all"), want)
	equal(t, "members of readers", e.members("readers"), want)
	equal(t, "members of asked (pending)", len(e.members("asked")), 0)
	equal(t, "pending enrollments in asked", len(e.profile("asked").PendingEnrollments), 12)
	for _, u := range staff {
		g := e.grants("--user", u)
		equal(t, u+"'s wiki/reader sources", g[u+" wiki/reader"], []string{"profile:all", "profile:readers"})
	}

	// Every part of every sync has its event, and the parts together list
	// each user once.
	parts := map[string][]string{}
	count := map[string]int{}
	for _, ev := range e.events("--action", "profile.synced") {
		var d struct{ Enrolled []string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		parts[ev.ObjectID] = append(parts[ev.ObjectID], d.Enrolled...)
		count[ev.ObjectID]++
	}
	for _, p := range []string{"all", "readers", "asked"} {
		got := slices.Sorted(slices.Values(parts[p]))
		equal(t, "users the parts of "+p+"'s sync list", got, staff)
		if count[p] < 2 {
			t.Errorf("the sync of %s was audited as %d part(s), want several of at most 5 steps of work", p, count[p])
		}
	}
	// One task per (user, entitlement, kind): no part repeated another.
	seen := map[string]bool{}
	for _, task := range e.tasks() {
		k := task.User + " " + task.Entitlement + " " + string(task.Kind)
		if seen[k] {
			t.Fatalf("two tasks for %s", k)
		}
		seen[k] = true
	}
	equal(t, "tasks", len(seen), 48)
	v := e.profile("all")
	if v.Automation.LastSync == nil || v.Automation.LastSync.Enrolled != 12 || v.Automation.LastSync.TasksCreated != 36 {
		t.Errorf("the last sync of all is summarised as %+v, want the whole sync's 12 enrolled and 36 tasks", v.Automation.LastSync)
	}

	for _, p := range []string{"all", "readers", "asked"} {
		if r := e.sync(p); len(r.Enrolled)+len(r.Unenrolled)+r.TasksCreated != 0 {
			t.Errorf("a second sync of %s did something: %+v", p, r)
		}
	}

	// Unenrollments go in parts too.
	for _, u := range staff[:7] {
		e.ok(adminUser, "grant", "remove", u, "okta/staff")
	}
	var results []roster.SyncResult
	e.json(&results, adminUser, "sync", "--all")
	got := map[string][]string{}
	for _, r := range results {
		got[r.Profile] = r.Unenrolled
	}
	equal(t, "unenrolled from all", got["all"], staff[:7])
	equal(t, "unenrolled from readers", got["readers"], staff[:7])
	equal(t, "members of all after", len(e.members("all")), 5)
	equal(t, "members of readers after", len(e.members("readers")), 5)
	equal(t, "pending enrollments in asked after", len(e.profile("asked").PendingEnrollments), 5)
	for _, u := range staff[:7] {
		if g := e.grants("--user", u); len(g[u+" wiki/editor"]) != 0 {
			t.Errorf("%s still holds wiki/editor, which only all gave: %v", u, g)
		}
	}
}

// The first syncs of the profiles an apply switches on are the apply's: the
// scheduler (to which they are due, never synced) and the change-driven
// sync (marked by the syncs before them) leave them to it while it works
// through them, rather than syncing them beside it a second time. Each
// sync here commits in parts of two, with the background looking every
// millisecond between them; every profile's result in the apply's answer
// lists every enrollment it was switched on for.
func TestApplysSyncsAreItsOwn(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, SyncChunk: 2,
		SchedulerTick: time.Millisecond, ChangeTick: time.Millisecond})
	applyOwnSyncs(t, e)
}

// TestApplysSyncsAreItsOwnAcrossReplicas is TestApplysSyncsAreItsOwn with
// the scheduler and the change-driven sync on another replica of the same
// database: the apply's claims reach it as leases.
func TestApplysSyncsAreItsOwnAcrossReplicas(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, SyncChunk: 2,
		SchedulerTick: -1, ChangeTick: -1})
	e.replicaWith(t, server.Config{SchedulerTick: time.Millisecond, ChangeTick: time.Millisecond, NotifierTick: -1})
	applyOwnSyncs(t, e)
	// Once the apply is done its claims are given up: the other replica's
	// change-driven sync takes a marked profile again.
	e.ok(adminUser, "grant", "add", "pat", "okta/staff")
	waitFor(t, "the other replica to enroll pat, who now holds okta/staff, in p1", func() bool {
		return slices.Contains(e.members("p1"), "pat:automation")
	})
}

// applyOwnSyncs applies eight profiles, each reading the members of the
// one before, and checks that the apply's result lists each profile's
// every enrollment and task: none was synced by the scheduler or the
// change-driven sync meanwhile.
func applyOwnSyncs(t *testing.T, e *env) {
	t.Helper()
	doc, staff := partsOrg()
	var profiles strings.Builder
	profiles.WriteString("profiles:\n")
	for i := 1; i <= 8; i++ {
		// Each reads the members of the one before: its sync is marked
		// by that one's enrollments.
		rule := "any_entitlement: [okta/staff]"
		if i > 1 {
			rule = fmt.Sprintf("any_entitlement: [access-profiles/p%d]", i-1)
		}
		fmt.Fprintf(&profiles, "  - {id: p%d, name: P%d, entitlements: [wiki/reader], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, %s}}\n", i, i, rule)
	}
	res := e.apply(doc + profiles.String())
	equal(t, "profiles synced", len(res.Synced), 8)
	for i, r := range res.Synced {
		equal(t, fmt.Sprintf("enrolled by the apply's sync of p%d", i+1), r.Enrolled, staff)
		// An enrollment each, and wiki/reader for p1's (the others add
		// their source to that grant).
		want := 12
		if i == 0 {
			want = 24
		}
		equal(t, fmt.Sprintf("tasks of the apply's sync of p%d", i+1), r.TasksCreated, want)
	}
}
