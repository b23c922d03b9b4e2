package engine_test

// Tests of SPEC.md rules the differential test (difftest/) found the engine
// breaking: grant sources stay level-based while a revocation waits and
// when a request is approved after its profile let the user go; a request
// two profiles want outlives the one that asked; excluded_users is a set;
// a manual member whom the rule matches is not unenrolled by hand without
// --exclude.

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestSourcesWhileRevocationWaits checks SPEC §1 grant sources ("exactly
// the profiles that the user is a member of … whatever the order") while
// the revocation revoke_all started waits for approval: profile:eng leaves
// the grant at once; denied, the grant stays as direct access; approved,
// it is removed.
func TestSourcesWhileRevocationWaits(t *testing.T) {
	doc := strings.Replace(unenrollOrg(roster.AccessRevokeAll, "auto", "sync_and_act"),
		"bypass_entitlement_policies: true}\n    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}",
		"bypass_entitlement_policies: false}\n    automation: {enabled: true, mode: sync_and_act, any_entitlement: [hr/eng]}", 1)
	doc = strings.Replace(doc, "{id: only, request_policy: auto, revoke_policy: auto}", "{id: only, request_policy: auto, revoke_policy: manager}", 1)
	doc = strings.Replace(doc, "{id: shared, request_policy: auto, revoke_policy: auto}", "{id: shared, request_policy: auto, revoke_policy: manager}", 1)
	for _, decision := range []string{"deny", "approve"} {
		t.Run(decision, func(t *testing.T) {
			w := newWorld(t, doc)
			unenrollAliceFromEng(w)
			grants := w.grants("alice")
			for ent, want := range map[string]string{
				"app/only":   sourcesOf(roster.SourceDirect), // no source left: direct
				"app/shared": sourcesOf(roster.ProfileSource("ops")),
			} {
				if got := sources(grants[ent]); got != want {
					t.Errorf("%s sources %q while its revocation waits, want %q", ent, got, want)
				}
			}
			only := w.task(roster.TaskFilter{User: "alice", Entitlement: "app/only", Kind: roster.TaskRevoke})
			if only.State != roster.StatePendingApproval {
				t.Fatalf("revoke of app/only: %s, want pending approval", only.State)
			}
			var err error
			if decision == "deny" {
				_, err = w.svc.DenyTask(w.as("carol"), only.ID, "")
			} else {
				_, err = w.svc.ApproveTask(w.as("carol"), only.ID, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			g, held := w.grants("alice")["app/only"]
			switch {
			case decision == "deny" && !held:
				t.Error("app/only is gone after its revocation was denied")
			case decision == "deny" && sources(g) != sourcesOf(roster.SourceDirect):
				t.Errorf("app/only sources %q after the denial, want direct", sources(g))
			case decision == "approve" && held:
				t.Errorf("app/only (%q) stays after its revocation was approved", sources(g))
			}
		})
	}
}

// sharedOrg is unenrollOrg with ops enrolling at once and app/shared,
// which both eng and ops contain, needing carol's approval (eng's
// enrollment no longer bypasses it): alice's one request for it is eng's,
// which enrolled her first.
func sharedOrg(access string) string {
	doc := strings.Replace(unenrollOrg(access, "auto", "sync_and_act"),
		"enrollment: {policy: auto, bypass_entitlement_policies: true}", "enrollment: {policy: auto}", 1)
	return strings.Replace(doc, "{id: shared, request_policy: auto, revoke_policy: auto}", "{id: shared, request_policy: manager, revoke_policy: auto}", 1)
}

// TestSharedRequestOutlivesItsProfile checks SPEC §2 Enrollment (a member
// gets a grant task for each of the profile's entitlements they lack) when
// two profiles want the same access: when eng, whose request it is, lets
// alice go, the open request passes to ops, of which she stays a member
// (task.transferred), instead of being cancelled; approved, the grant's
// source is ops.
func TestSharedRequestOutlivesItsProfile(t *testing.T) {
	w := newWorld(t, sharedOrg(roster.AccessRevokeAll))
	req := w.task(roster.TaskFilter{User: "alice", Entitlement: "app/shared"})
	if req.State != roster.StatePendingApproval || req.Profile != "eng" {
		t.Fatalf("alice's request of app/shared: %s for %q, want pending approval for eng", req.State, req.Profile)
	}
	unenrollAliceFromEng(w)
	req = w.task(roster.TaskFilter{User: "alice", Entitlement: "app/shared"})
	if req.State != roster.StatePendingApproval || req.Profile != "ops" {
		t.Fatalf("alice's request of app/shared after she left eng: %s for %q, want still pending, for ops", req.State, req.Profile)
	}
	if !slices.ContainsFunc(req.History, func(a roster.TaskAction) bool { return a.Action == roster.HistoryTransferred }) {
		t.Errorf("the request's history %+v has no %q entry", req.History, roster.HistoryTransferred)
	}
	if ev := w.events(roster.EventFilter{Action: roster.ActionTaskTransferred}); len(ev) != 1 {
		t.Errorf("%s events: %+v, want one", roster.ActionTaskTransferred, ev)
	}
	if _, err := w.svc.ApproveTask(w.as("carol"), req.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := sources(w.grants("alice")["app/shared"]), sourcesOf(roster.ProfileSource("ops")); got != want {
		t.Errorf("app/shared sources %q, want %q", got, want)
	}

	// With no other profile that wants it, the request is cancelled.
	w = newWorld(t, sharedOrg(roster.AccessRevokeAll))
	if err := w.svc.RemoveGrant(w.admin(), "alice", "hr/ops"); err != nil {
		t.Fatal(err)
	}
	w.sync("ops") // revoke policy auto: alice leaves ops at once
	unenrollAliceFromEng(w)
	if req := w.task(roster.TaskFilter{User: "alice", Entitlement: "app/shared"}); req.State != roster.StateCancelled {
		t.Errorf("alice's request of app/shared, wanted by no profile of hers: %s, want cancelled", req.State)
	}
}

// TestLateRequestGetsNoProfileSource checks SPEC §1 grant sources for a
// request a members-only profile leaves open when it removes the member:
// approved later, the grant does not name the profile the user left.
func TestLateRequestGetsNoProfileSource(t *testing.T) {
	w := newWorld(t, rulesOrg)
	w.apply(`
apps:
  - id: tools
    owners: [ivan]
    entitlements:
      - {id: ide, request_policy: manager, revoke_policy: auto}
profiles:
  - id: eng
    name: Engineering
    entitlements: [tools/ide]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: leave}
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [hr/eng]}
`)
	if _, err := w.svc.Enroll(w.admin(), "eng", []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	req := w.task(roster.TaskFilter{User: "alice", Entitlement: "tools/ide"})
	w.apply("users:\n  - {id: alice, email: alice@example.com, name: Alice, manager: carol, status: disabled}\n")
	w.sync("eng")
	if got := w.members("eng"); len(got) != 0 {
		t.Fatalf("eng members %v after alice was disabled, want none", got)
	}
	if _, err := w.svc.ApproveTask(w.as("carol"), req.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := sources(w.grants("alice")["tools/ide"]), sourcesOf(roster.SourceDirect); got != want {
		t.Errorf("tools/ide sources %q, want %q: alice is no member of eng", got, want)
	}
}

// TestExcludedUsersOrderIsNoEdit checks that excluded_users is a set:
// saving the same users in another order changes nothing and syncs
// nothing (SPEC §2 Sync: a sync runs when the automation is saved).
func TestExcludedUsersOrderIsNoEdit(t *testing.T) {
	w := newWorld(t, exclusionOrg("bob, alice"))
	res, err := w.svc.Apply(w.admin(), roster.ApplyRequest{Filename: "t.yaml", Document: []byte(exclusionOrg("alice, bob"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 || len(res.Synced) != 0 {
		t.Errorf("the same excluded users in another order: changes %v, synced %+v; want none", res.Changes, res.Synced)
	}
}

// TestUnenrollManualMemberTheRuleMatches checks the choice docs/reference.md
// states where SPEC §2 names automation members only: unenrolling by hand a
// manual member whom the rule matches is refused (409) as well, since the
// next sync would enroll them again, unless they are excluded too.
func TestUnenrollManualMemberTheRuleMatches(t *testing.T) {
	w := newWorld(t, exclusionOrg(""))
	if _, err := w.svc.Enroll(w.admin(), "eng", []string{"carol"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.AddGrant(w.admin(), "carol", "hr/eng"); err != nil {
		t.Fatal(err)
	}
	if got := w.members("eng"); !slices.Contains(got, "carol:"+string(roster.MemberManual)) {
		t.Fatalf("eng members %v, want carol (manual)", got)
	}
	if _, err := w.svc.Unenroll(w.admin(), "eng", []string{"carol"}, "", false); roster.ErrorCode(err) != roster.ECONFLICT {
		t.Fatalf("unenrolling manual member carol whom the rule matches: %v, want a conflict", err)
	}
	if _, err := w.svc.Unenroll(w.admin(), "eng", []string{"carol"}, "", true); err != nil {
		t.Fatalf("unenroll --exclude: %v", err)
	}
	if got := w.members("eng"); slices.Contains(got, "carol:"+string(roster.MemberManual)) {
		t.Errorf("eng members %v: carol stays after unenroll --exclude", got)
	}
}
