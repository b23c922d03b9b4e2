package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// testExpressionIndexes: a profile's expression reads go into the field
// index (FieldProfiles) and its user.has / user.member_of entitlements into
// the rule index (RuleProfiles); a user's rev moves when, and only when, a
// field an expression can read changes, as ScanSync's UserRev reports it.
func testExpressionIndexes(t *testing.T, s roster.Store) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.PutProfile(ctx, &roster.Profile{ID: "eng", Name: "eng", Entitlements: []string{}, Sync: roster.SyncState{State: roster.AutomationActive},
			Automation: roster.Automation{AnyEntitlement: []string{"okta/a"}, ExcludedUsers: []string{}, Expression: `user.department == "x"`,
				Reads: &roster.ExpressionReads{Fields: []string{"department", "location"}, Entitlements: []string{"okta/b"}, Profiles: []string{"leads"}}},
			CreatedAt: at, UpdatedAt: at})
	})
	var byField, byRule, none []string
	view(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
		if byField, err = tx.FieldProfiles(ctx, []string{"location", "title"}); err != nil {
			return err
		}
		if none, err = tx.FieldProfiles(ctx, []string{"title"}); err != nil {
			return err
		}
		byRule, err = tx.RuleProfiles(ctx, []string{roster.EnrollmentEntitlement("leads")})
		return err
	})
	if !reflect.DeepEqual(byField, []string{"eng"}) || len(none) != 0 || !reflect.DeepEqual(byRule, []string{"eng"}) {
		t.Fatalf("FieldProfiles(location, title) = %v, FieldProfiles(title) = %v, RuleProfiles(access-profiles/leads) = %v", byField, none, byRule)
	}

	revs := func() []int64 {
		t.Helper()
		var out []int64
		view(t, s, func(ctx context.Context, tx roster.Tx) error {
			out = nil
			return tx.ScanSync(ctx, &roster.SyncScan{RemovalsSince: at,
				User:    func(string) error { return nil },
				UserRev: func(r int64) error { out = append(out, r); return nil }})
		})
		return out
	}
	u := roster.User{ID: "zed", Email: "zed@example.com", Department: "Ops", Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: at, UpdatedAt: at}
	put := func() {
		t.Helper()
		update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutUser(ctx, &u) })
	}
	put()
	before := revs()
	put() // the same fields: no change
	if got := revs(); !reflect.DeepEqual(got, before) {
		t.Fatalf("an unchanged user moved the revs from %v to %v", before, got)
	}
	u.Department = "Eng"
	put()
	after := revs()
	if len(after) != len(before) || reflect.DeepEqual(after, before) {
		t.Fatalf("a department change left the revs at %v (before %v)", after, before)
	}
}
