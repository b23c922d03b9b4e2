package engine_test

// Tests of SPEC.md rules the engine broke until issue 14 (items 11 and 13):
// grant sources are level-based in both automation modes, an exclusion runs
// under the profile's exclusion_policy (none: recorded at once), and a
// denied exclusion is withdrawn.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestSourcesIncludeMembersOnlyProfiles checks SPEC §1 grant: "The
// profile:P sources of a grant are exactly the profiles that the user is a
// member of — in either automation mode — and that contain E, whatever the
// order in which the memberships and the grant arose."
func TestSourcesIncludeMembersOnlyProfiles(t *testing.T) {
	want := sourcesOf(roster.ProfileSource("eng"), roster.ProfileSource("ops"))
	t.Run("members-only membership after the grant", func(t *testing.T) {
		w := newWorld(t, unenrollOrg(roster.AccessRevokeUnjustified, "auto", "sync_members_only"))
		if got := w.members("ops"); !slices.Equal(got, []string{byRule("alice")}) {
			t.Fatalf("ops members %v, want alice", got)
		}
		if got := sources(w.grants("alice")["app/shared"]); got != want {
			t.Errorf("app/shared sources %q, want %q", got, want)
		}
	})
	t.Run("members-only membership before the grant", func(t *testing.T) {
		w := newWorld(t, unenrollOrg(roster.AccessRevokeUnjustified, "auto", "sync_members_only"))
		unenrollAliceFromEng(w) // alice now holds app/shared through ops alone
		if err := w.svc.RemoveGrant(w.admin(), "alice", "app/shared"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.AddGrant(w.admin(), "alice", "hr/eng"); err != nil {
			t.Fatal(err)
		}
		w.sync("eng") // enrollment policy auto: a member at once, app/shared granted
		if got := sources(w.grants("alice")["app/shared"]); got != want {
			t.Errorf("app/shared sources %q, want %q", got, want)
		}
	})
	t.Run("leaving a members-only profile drops its source", func(t *testing.T) {
		w := newWorld(t, unenrollOrg(roster.AccessRevokeUnjustified, "auto", "sync_members_only"))
		unenrollAliceFromEng(w)
		if err := w.svc.RemoveGrant(w.admin(), "alice", "app/shared"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.AddGrant(w.admin(), "alice", "hr/eng"); err != nil {
			t.Fatal(err)
		}
		w.sync("eng")
		if err := w.svc.RemoveGrant(w.admin(), "alice", "hr/ops"); err != nil {
			t.Fatal(err)
		}
		w.sync("ops")
		if got := w.members("ops"); len(got) != 0 {
			t.Fatalf("ops members %v, want none", got)
		}
		if got, want := sources(w.grants("alice")["app/shared"]), sourcesOf(roster.ProfileSource("eng")); got != want {
			t.Errorf("app/shared sources %q, want %q", got, want)
		}
	})
	// The consequence under revoke_unjustified: the grant ops justifies
	// is kept, but as direct access, which no profile will ever revoke.
	t.Run("revoke_unjustified keeps profile:ops", func(t *testing.T) {
		w := newWorld(t, unenrollOrg(roster.AccessRevokeUnjustified, "auto", "sync_members_only"))
		unenrollAliceFromEng(w)
		if got, want := sources(w.grants("alice")["app/shared"]), sourcesOf(roster.ProfileSource("ops")); got != want {
			t.Errorf("app/shared sources %q, want %q", got, want)
		}
	})
}

// TestExclusionRecordedAtOnceByDefault checks SPEC §2 Automation: "Adding
// a user to excluded_users creates a grant task for access-profiles/P.excluded
// (the record of the exclusion) under the profile's exclusion_policy (default
// auto: recorded at once)". The tenant's default request policy here is
// manager; the profile sets no exclusion_policy.
func TestExclusionRecordedAtOnceByDefault(t *testing.T) {
	w := newWorld(t, exclusionOrg("bob"))
	record := w.task(roster.TaskFilter{User: "bob", Entitlement: roster.ExclusionEntitlement("eng")})
	if record.State != roster.StateDone {
		t.Errorf("exclusion record: %s, approvers %v (policy %s); want done at once (exclusion_policy defaults to auto)", record.State, record.Approvers, record.Policy)
	}
	if _, ok := w.grants("bob")[roster.ExclusionEntitlement("eng")]; !ok {
		t.Errorf("bob does not hold %s", roster.ExclusionEntitlement("eng"))
	}
}

// TestDeniedExclusionIsWithdrawn checks SPEC §2 Automation: "if its task
// is denied, the exclusion is withdrawn — the user leaves excluded_users
// (event profile.exclusion_denied) and the profile re-syncs."
func TestDeniedExclusionIsWithdrawn(t *testing.T) {
	doc := strings.Replace(exclusionOrg("bob"), "excluded_users: [bob]}", "excluded_users: [bob], exclusion_policy: manager}", 1)
	w := newWorld(t, doc)
	record := w.task(roster.TaskFilter{User: "bob", Entitlement: roster.ExclusionEntitlement("eng")})
	if record.State != roster.StatePendingApproval || record.Policy != "manager" {
		t.Fatalf("exclusion record: %s under %q, want pending approval under manager", record.State, record.Policy)
	}
	if _, err := w.svc.DenyTask(w.as("carol"), record.ID, "bob is no contractor"); err != nil {
		t.Fatal(err)
	}
	v, err := w.svc.Profile(w.admin(), "eng")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(v.Automation.ExcludedUsers, "bob") {
		t.Errorf("bob is still in excluded_users %v after his exclusion was denied", v.Automation.ExcludedUsers)
	}
	denied := w.events(roster.EventFilter{Action: roster.ActionExclusionDenied})
	if len(denied) != 1 || denied[0].ObjectID != "eng" {
		t.Errorf("profile.exclusion_denied events: %+v, want one on eng", denied)
	}
	if got, want := w.members("eng"), []string{byRule("alice")}; !slices.Equal(got, want) {
		t.Fatalf("members %v before the re-sync, want %v", got, want)
	}
	// The denial marked the profile: the change-driven sync enrolls bob.
	if n, err := w.changes.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("change-driven sync: %d profiles, %v; want eng synced", n, err)
	}
	if got, want := w.members("eng"), []string{byRule("alice"), byRule("bob")}; !slices.Equal(got, want) {
		t.Errorf("members %v after the re-sync, want %v", got, want)
	}
}

// TestSourcesWhenASyncEnrollsMany checks the same rule where a sync enrolls
// enough users to read their memberships in bulk, which it reads only in the
// profiles sharing an entitlement with the one it syncs (issue 18 #1): 20
// users, members of ops (members-only, app/shared) and of solo (members-only,
// app/only), are enrolled in eng (app/shared, app/direct) by the apply that
// switches eng on. app/shared, granted by eng's tasks, has both eng and ops
// among its sources; app/direct has eng alone; app/only, which solo justifies
// and eng does not contain, keeps its sources.
func TestSourcesWhenASyncEnrollsMany(t *testing.T) {
	doc := func(engOn bool) string {
		var b strings.Builder
		b.WriteString(rulesOrg[:strings.Index(rulesOrg, "grants:")])
		b.WriteString("grants:\n")
		for i := range 20 {
			u := fmt.Sprintf("u%02d", i)
			fmt.Fprintf(&b, "  - {user: %s, entitlement: hr/eng}\n  - {user: %s, entitlement: hr/ops}\n  - {user: %s, entitlement: app/only}\n", u, u, u)
		}
		b.WriteString("profiles:\n")
		fmt.Fprintf(&b, `  - id: eng
    name: Engineering
    entitlements: [app/shared, app/direct]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    automation: {enabled: %v, mode: sync_and_act, any_entitlement: [hr/eng]}
  - id: ops
    name: Operations
    entitlements: [app/shared]
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [hr/ops]}
  - id: solo
    name: Solo
    entitlements: [app/only]
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [hr/ops]}
`, engOn)
		users := ""
		for i := range 20 {
			users += fmt.Sprintf("  - {id: u%02d, email: u%02d@example.com, name: U%02d}\n", i, i, i)
		}
		return strings.Replace(b.String(), "apps:\n", users+"apps:\n", 1)
	}
	w := newWorld(t, doc(false))
	if got := len(w.members("ops")); got != 20 {
		t.Fatalf("ops has %d members, want 20", got)
	}
	w.apply(doc(true))
	if got := len(w.members("eng")); got != 20 {
		t.Fatalf("eng has %d members after the apply that switched it on, want 20", got)
	}
	eng, ops, solo := roster.ProfileSource("eng"), roster.ProfileSource("ops"), roster.ProfileSource("solo")
	for i := range 20 {
		u := fmt.Sprintf("u%02d", i)
		gs := w.grants(u)
		for e, want := range map[string]string{
			"app/shared": sourcesOf(eng, ops),
			"app/direct": sourcesOf(eng),
			"app/only":   sourcesOf(roster.SourceDirect, solo),
		} {
			if got := sources(gs[e]); got != want {
				t.Errorf("%s's %s sources %q, want %q", u, e, got, want)
			}
		}
	}
}
