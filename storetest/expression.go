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
// field an expression can read changes or the user is added, and takes the
// next store-wide rev, as ScanSync's ChangedUser reports it.
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

	// changed returns the users whose rev is above after, and their revs.
	changed := func(after int64) map[string]int64 {
		t.Helper()
		var out map[string]int64
		view(t, s, func(ctx context.Context, tx roster.Tx) error {
			out = map[string]int64{}
			return tx.ScanSync(ctx, &roster.SyncScan{RemovalsSince: at, RevsAfter: after,
				ChangedUser: func(id string, r int64) error { out[id] = r; return nil }})
		})
		return out
	}
	largest := func(revs map[string]int64) (n int64) {
		for _, r := range revs {
			n = max(n, r)
		}
		return n
	}
	u := roster.User{ID: "zed", Email: "zed@example.com", Department: "Ops", Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: at, UpdatedAt: at}
	put := func(us ...roster.User) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx roster.Tx) error {
			for i := range us {
				if err := tx.PutUser(ctx, &us[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	put(u)
	all := changed(-1)
	last := largest(all)
	if all["zed"] != last || last <= 0 {
		t.Fatalf("a new user has rev %d, the largest is %d (all: %v): a user's insert takes the next rev", all["zed"], last, all)
	}
	if got := changed(last); len(got) != 0 {
		t.Fatalf("above the largest rev, %v", got)
	}
	put(u) // the same fields: no change
	if got := changed(last); len(got) != 0 {
		t.Fatalf("an unchanged user moved the revs: %v above %d", got, last)
	}
	u.Department = "Eng"
	amy := roster.User{ID: "amy", Email: "amy@example.com", Department: "Ops", Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, CreatedAt: at, UpdatedAt: at}
	put(u, amy)
	got := changed(last)
	if len(got) != 2 || got["zed"] <= last || got["amy"] <= got["zed"] {
		t.Fatalf("after a department change of zed and amy's insert, in that order, the users above rev %d are %v: want both, zed's rev below amy's", last, got)
	}
	last = largest(got)
	u.Title = "Boss"
	put(u)
	if got := changed(last); len(got) != 1 || got["zed"] <= last {
		t.Fatalf("after a title change, the users above rev %d are %v: want zed alone", last, got)
	}
}
