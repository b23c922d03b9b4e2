package difftest

import (
	"testing"

	"github.com/rosterhq/roster"
)

// smallOrg is a hand-made organisation for the discrepancy scenarios: boss
// b1 manages w01–w03; hr/r1 and hr/r2 are rule entitlements; app/a1 needs
// its requests and revocations approved by the manager, app/a2 is granted
// and revoked at once. The caller adds profiles and grants.
func smallOrg() *org {
	return &org{
		workers: []string{"w01", "w02", "w03"}, bosses: []string{"b1"},
		manager:  map[string]string{"w01": "b1", "w02": "b1", "w03": "b1"},
		ruleEnts: []string{"hr/r1", "hr/r2"},
		appEnts: []appEnt{
			{id: "app/a1", request: policyManager, revoke: policyManager},
			{id: "app/a2", request: policyAuto, revoke: policyAuto},
		},
		defaultPolicy: policyAuto, minMembers: 100, maxPercent: 20,
	}
}

// autoProfile is a sync_and_act profile on rule whose enrollment and
// unenrollment need no approval, with the given contents and access.
func autoProfile(id, rule, access string, ents ...string) *profile {
	return &profile{id: id, ents: ents, rule: []string{rule}, enrollPolicy: policyAuto, unenrollPolicy: policyAuto,
		access: access, enabled: true, mode: roster.ModeSyncAndAct}
}

// TestDiscrepancies replays, for each discrepancy the random steps leave
// out, a few steps that show it, on SQLite: while its constant is off the
// engine must still differ from the model (the test then skips, printing
// the difference); when the engine no longer differs, the test fails,
// asking for the constant to be turned on. With the constant on, the
// scenario must pass like any other steps.
func TestDiscrepancies(t *testing.T) {
	tests := []struct {
		name  string
		on    bool // the constant that keeps it out of the random steps
		org   func() *org
		steps []step
	}{
		{
			// w01 got app/a1 with p1 (bypass) and leaves p1 (revoke_all);
			// the revocation of app/a1 waits for b1, and meanwhile the grant
			// kept profile:p1 (fixed: direct, its only other source).
			name: "pendingRevokeSources", on: pendingRevokeSources,
			org: func() *org {
				o := smallOrg()
				p := autoProfile("p1", "hr/r1", roster.AccessRevokeAll, "app/a1")
				p.enrollBypass = true
				o.profiles = []*profile{p}
				o.initial = [][2]string{{"w01", "hr/r1"}}
				return o
			},
			steps: []step{
				{Op: opRevoke, User: "w01", Ent: "hr/r1"},
				{Op: opSync, Profile: "p1"},
			},
		},
		{
			// p1 and p2 both contain app/a1; w01's one request for it
			// serves both; leaving p1 cancelled it although p2 still wanted
			// it (fixed: it passes to p2).
			name: "sharedRequests", on: sharedRequests,
			org: func() *org {
				o := smallOrg()
				o.profiles = []*profile{
					autoProfile("p1", "hr/r1", roster.AccessRevokeAll, "app/a1"),
					autoProfile("p2", "hr/r2", roster.AccessRevokeAll, "app/a1"),
				}
				o.initial = [][2]string{{"w01", "hr/r1"}, {"w01", "hr/r2"}}
				return o
			},
			steps: []step{
				{Op: opRevoke, User: "w01", Ent: "hr/r1"},
				{Op: opSync, Profile: "p1"},
			},
		},
		{
			// An admin enrolls w01 by hand; the rule comes to match them;
			// unenrolling the manual member is refused (the model agrees
			// now).
			name: "manualMemberUnenroll", on: manualMemberUnenroll,
			org: func() *org {
				o := smallOrg()
				o.profiles = []*profile{autoProfile("p1", "hr/r1", roster.AccessLeave)}
				return o
			},
			steps: []step{
				{Op: opEnroll, Profile: "p1", User: "w01"},
				{Op: opGrant, User: "w01", Ent: "hr/r1"},
				{Op: opUnenroll, Profile: "p1", User: "w01"},
			},
		},
		{
			// The engine stores [w02, w03] sorted after unenroll --exclude;
			// saving p1 with them as [w03, w02] (and new contents) is taken
			// for an edit of the automation: p1 synced and enrolled w01
			// (fixed: the list is stored sorted after an apply too).
			name: "excludedOrder", on: excludedOrder,
			org: func() *org {
				o := smallOrg()
				p := autoProfile("p1", "hr/r1", roster.AccessLeave)
				p.excludedAsSaved = true
				o.profiles = []*profile{p}
				o.initial = [][2]string{{"w02", "hr/r1"}, {"w03", "hr/r1"}}
				return o
			},
			steps: []step{
				{Op: opUnenroll, Profile: "p1", User: "w03", Exclude: true},
				{Op: opUnenroll, Profile: "p1", User: "w02", Exclude: true},
				{Op: opGrant, User: "w01", Ent: "hr/r1"},
				{Op: opAddContent, Profile: "p1", Ent: "app/a2"},
			},
		},
		{
			// An admin enrolls w01 in members-only p1, whose app/a1 needs
			// b1's approval; w01 is disabled and p1's sync removes them,
			// leaving the request open; b1 approves it, and the grant got
			// profile:p1 (fixed: direct).
			name: "lateGrantSources", on: lateGrantSources,
			org: func() *org {
				o := smallOrg()
				p := autoProfile("p1", "hr/r1", roster.AccessLeave, "app/a1")
				p.mode = roster.ModeSyncMembersOnly
				o.profiles = []*profile{p}
				return o
			},
			steps: []step{
				{Op: opEnroll, Profile: "p1", User: "w01"},
				{Op: opDisable, User: "w01"},
				{Op: opSync, Profile: "p1"},
				{Op: opApprove, Kind: roster.TaskGrant, User: "w01", Ent: "app/a1"},
			},
		},
		{
			// Fixed: an exclusion under exclusion_policy manager waits for
			// b1; denied, it is withdrawn and p1 enrolls w01 again.
			name: "exclusionPolicies", on: exclusionPolicies,
			org: func() *org {
				o := smallOrg()
				p := autoProfile("p1", "hr/r1", roster.AccessLeave, "app/a2")
				p.exclusionPolicy = policyManager
				o.profiles = []*profile{p}
				o.initial = [][2]string{{"w01", "hr/r1"}}
				return o
			},
			steps: []step{
				{Op: opExclude, Profile: "p1", User: "w01"},
				{Op: opDeny, Kind: roster.TaskGrant, User: "w01", Ent: roster.ExclusionEntitlement("p1")},
				{Op: opExclude, Profile: "p1", User: "w01"},
				{Op: opApprove, Kind: roster.TaskGrant, User: "w01", Ent: roster.ExclusionEntitlement("p1")},
				{Op: opInclude, Profile: "p1", User: "w01"},
			},
		},
		{
			// Fixed: a members-only profile adds and drops its source on
			// the grants of its entitlements its members hold.
			name: "membersOnlySources", on: membersOnlySources,
			org: func() *org {
				o := smallOrg()
				p := autoProfile("p1", "hr/r1", roster.AccessLeave, "app/a2")
				p.mode = roster.ModeSyncMembersOnly
				o.profiles = []*profile{p}
				o.initial = [][2]string{{"w01", "hr/r1"}, {"w01", "app/a2"}}
				return o
			},
			steps: []step{
				{Op: opGrant, User: "w02", Ent: "app/a2"},
				{Op: opGrant, User: "w02", Ent: "hr/r1"},
				{Op: opSync, Profile: "p1"},
				{Op: opRevoke, User: "w01", Ent: "hr/r1"},
				{Op: opSync, Profile: "p1"},
			},
		},
		{
			// Fixed: unenrolling an automation member the rule matches is
			// refused, unless they are excluded too.
			name: "unenrollRefusal", on: unenrollRefusal,
			org: func() *org {
				o := smallOrg()
				o.profiles = []*profile{autoProfile("p1", "hr/r1", roster.AccessLeave)}
				o.initial = [][2]string{{"w01", "hr/r1"}}
				return o
			},
			steps: []step{
				{Op: opUnenroll, Profile: "p1", User: "w01"},
				{Op: opUnenroll, Profile: "p1", User: "w01", Exclude: true},
				{Op: opSync, Profile: "p1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every step must act: a scenario whose steps the model skips
			// would pass for nothing.
			m := newModel(tt.org(), start)
			m.initial()
			for i, s := range tt.steps {
				if m.step(s).skip {
					t.Fatalf("step %d (%s) does nothing", i+1, s)
				}
			}
			at, diff := run(t, sqliteStore, tt.org(), tt.steps, 0)
			switch {
			case tt.on && diff != "":
				t.Fatalf("%s is on, yet the engine differs after step %d:\n%s", tt.name, at+1, diff)
			case !tt.on && diff == "":
				t.Fatalf("the engine no longer differs from the model here: turn %s on in org_test.go", tt.name)
			case !tt.on:
				t.Skipf("known discrepancy %s (off in the random steps):\n%s", tt.name, diff)
			}
		})
	}
}
