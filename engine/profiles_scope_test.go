package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster"
)

func (tx *breakingTx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	if tx.broken("Members", profile) {
		return nil, errBroken
	}
	return tx.Tx.Members(ctx, profile)
}

func (tx *breakingTx) MemberCounts(ctx context.Context) (map[string]int, error) {
	if tx.broken("MemberCounts") {
		return nil, errBroken
	}
	return tx.Tx.MemberCounts(ctx)
}

func (tx *breakingTx) OpenTaskRefsOf(ctx context.Context, entitlements []string) ([]roster.OpenTask, error) {
	if tx.broken("OpenTaskRefsOf", entitlements...) {
		return nil, errBroken
	}
	return tx.Tx.OpenTaskRefsOf(ctx, entitlements)
}

func (tx *breakingTx) EachMemberOf(ctx context.Context, profiles []string, fn func(roster.Member) error) error {
	if tx.broken("EachMemberOf", profiles...) {
		return errBroken
	}
	return tx.Tx.EachMemberOf(ctx, profiles, fn)
}

func (tx *breakingTx) MembersPage(ctx context.Context, profile string, f roster.MemberFilter) (*roster.Page[roster.Member], error) {
	if tx.broken("MembersPage", profile) {
		return nil, errBroken
	}
	return tx.Tx.MembersPage(ctx, profile, f)
}

// TestPlainUserReadsOnlyTheirOwnMemberships checks issue 14 #7 where the
// answers cannot: a plain user's profile list, one profile and its members'
// page are made from their own memberships and tasks, never from a profile's
// every member or open enrollment (which cost a scan of all of them per call
// at 30k users), while an admin's are.
func TestPlainUserReadsOnlyTheirOwnMemberships(t *testing.T) {
	e, broken := breaking(t, `policies: [{id: auto, steps: []}, {id: mgr, steps: [{approvers: manager}]}]
users: [{id: zoe}, {id: amy, manager: zoe}, {id: bo, manager: zoe}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
grants: [{user: amy, entitlement: a/e1}, {user: bo, entitlement: a/e1}]
profiles:
  - {id: p, name: p, entitlements: [], enrollment: {policy: auto}, unenrollment: {policy: auto}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [a/e1]}}
  - {id: q, name: q, entitlements: [], allow_enrollment_requests: true, enrollment: {policy: mgr}, unenrollment: {policy: auto}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [a/e1]}}
`)
	amy := roster.NewContext(context.Background(), "amy")
	admin := roster.NewContext(context.Background(), roster.AdminUser)
	// Whole-profile reads fail from now on.
	*broken = func(method string, args ...string) bool {
		switch method {
		case "Members", "EachMemberOf", "MemberCounts", "OpenTaskRefsOf", "MembersPage":
			return true
		}
		return false
	}
	for _, f := range []roster.ProfileFilter{{}, {WithoutMembers: true}, {ID: "p"}, {ID: "q", WithoutMembers: true}} {
		vs, err := e.Profiles(amy, f)
		if err != nil {
			t.Fatalf("amy's profiles %+v read a whole profile: %v", f, err)
		}
		for _, v := range vs {
			switch {
			case v.ID == "p" && (v.MemberCount != 1 || !f.WithoutMembers && (len(v.Members) != 1 || v.Members[0].User != "amy")):
				t.Errorf("amy's view of p (%+v): %+v, want her membership alone", f, v)
			case v.ID == "q" && (v.MemberCount != 0 || len(v.PendingEnrollments) != 1 || v.PendingEnrollments[0].User != "amy"):
				t.Errorf("amy's view of q (%+v): %+v, want her pending enrollment alone", f, v)
			}
		}
	}
	if _, err := e.ProfileMembers(amy, "p", roster.MemberFilter{Limit: 10}); err != nil {
		t.Fatalf("amy's page of p's members read everyone's: %v", err)
	}
	// The admin's do read every member: the switch is real.
	if _, err := e.Profiles(admin, roster.ProfileFilter{}); !errors.Is(err, errBroken) {
		t.Fatalf("the admin's profiles with whole-profile reads failing: %v, want %v", err, errBroken)
	}
}
