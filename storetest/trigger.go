package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

func testTriggers(t *testing.T, s roster.Store) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	put := func(id string, rule ...string) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx roster.Tx) error {
			return tx.PutProfile(ctx, &roster.Profile{ID: id, Name: id, Entitlements: []string{}, Sync: roster.SyncState{State: roster.AutomationActive},
				Automation: roster.Automation{AnyEntitlement: rule, ExcludedUsers: []string{}}, CreatedAt: at, UpdatedAt: at})
		})
	}
	rule := func(ents ...string) []string {
		t.Helper()
		var ids []string
		view(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
			ids, err = tx.RuleProfiles(ctx, ents)
			return err
		})
		return ids
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	put("eng", "okta/engineering", "okta/contractors")
	put("all", "okta/engineering", "okta/sales")
	put("off")
	check("rule profiles of okta/engineering", rule("okta/engineering"), []string{"all", "eng"})
	check("rule profiles of two", rule("okta/sales", "okta/contractors"), []string{"all", "eng"})
	check("rule profiles of nothing", rule(), []string{})
	check("rule profiles of an unused entitlement", rule("okta/none"), []string{})
	// Saving a profile replaces its part of the index.
	put("eng", "okta/contractors")
	check("after eng's rule changed", rule("okta/engineering"), []string{"all"})

	triggered := func() []string {
		t.Helper()
		var ids []string
		view(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
			ids, err = tx.TriggeredProfiles(ctx, 10)
			return err
		})
		return ids
	}
	check("nothing triggered", triggered(), []string{})
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.TriggerProfiles(ctx, []string{"eng", "all"}); err != nil {
			return err
		}
		return tx.TriggerProfiles(ctx, []string{"eng"}) // again: harmless
	})
	check("triggered", triggered(), []string{"all", "eng"})
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.ClearTrigger(ctx, "eng") })
	check("after clearing eng", triggered(), []string{"all"})
	var limited []string
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.TriggerProfiles(ctx, []string{"b", "c"}) })
	view(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
		limited, err = tx.TriggeredProfiles(ctx, 2)
		return err
	})
	check("limited", limited, []string{"all", "b"})
}

func testDisabledUsers(t *testing.T, s roster.Store) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, u := range []roster.User{{ID: "a", Status: roster.UserActive}, {ID: "b", Status: roster.UserDisabled}, {ID: "c", Status: roster.UserDisabled}, {ID: "d", Status: roster.UserActive}} {
			u.Role, u.CreatedAt, u.UpdatedAt = roster.RoleUser, at, at
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		got, err := tx.DisabledUsers(ctx, []string{"d", "c", "a", "nobody"})
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, []string{"c"}) {
			t.Errorf("DisabledUsers(d, c, a, nobody) = %v, want [c]", got)
		}
		if got, err = tx.DisabledUsers(ctx, nil); err != nil || len(got) != 0 || got == nil {
			t.Errorf("DisabledUsers(nothing) = %#v, %v; want an empty list", got, err)
		}
		return err
	})
	// Many ids, with fewer users disabled than ids and then more: the
	// answer is the same either way.
	for _, disabled := range []int{300, 3000} {
		update(t, s, func(ctx context.Context, tx roster.Tx) error {
			for i := range disabled {
				u := roster.User{ID: fmt.Sprintf("m%05d", i), Status: roster.UserDisabled, Role: roster.RoleUser, CreatedAt: at, UpdatedAt: at}
				if i%3 == 0 {
					u.Status = roster.UserActive
				}
				if err := tx.PutUser(ctx, &u); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx roster.Tx) error {
			// The first 300 ids, every other one of the 1,200 after 1,800,
			// backwards, and as many that nobody has.
			var ids, want []string
			ask := func(i int) {
				id := fmt.Sprintf("m%05d", i)
				ids = append(ids, id, "x"+id)
				if i < disabled && i%3 != 0 {
					want = append(want, id)
				}
			}
			for i := range 300 {
				ask(i)
			}
			for i := 2999; i >= 1800; i -= 2 {
				ask(i)
			}
			slices.Sort(want)
			got, err := tx.DisabledUsers(ctx, ids)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%d users: DisabledUsers of %d ids = %d users, want %d (%v...)", disabled, len(ids), len(got), len(want), want[:3])
			}
			return nil
		})
	}
}
