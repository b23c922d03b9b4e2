package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestSyncGroupFailure checks that when one profile's sync fails inside a
// transaction shared with others, the profiles synced before it still
// commit, as when each had its own transaction, and the error names it.
func TestSyncGroupFailure(t *testing.T) {
	ctx := context.Background()
	e, store := bootstrapped(t)
	admin := roster.NewContext(ctx, roster.AdminUser)
	doc := `policies: [{id: auto, steps: []}]
users: [{id: u1}, {id: u2}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
grants: [{user: u1, entitlement: a/e1}, {user: u2, entitlement: a/e1}]
profiles:
`
	for _, p := range []string{"p1", "p2", "p3"} {
		doc += "  - {id: " + p + ", name: " + p + ", entitlements: [], enrollment: {policy: auto}, automation: {enabled: false, mode: sync_and_act, any_entitlement: [a/e1]}}\n"
	}
	if _, err := e.Apply(admin, roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	// Enable the three, p2 with an enrollment policy that does not exist,
	// straight in the store (apply refuses it).
	err := store.Update(ctx, func(tx roster.Tx) error {
		for _, id := range []string{"p1", "p2", "p3"} {
			p, err := tx.Profile(ctx, id)
			if err != nil {
				return err
			}
			p.Automation.Enabled = true
			if id == "p2" {
				p.Enrollment.Policy = "missing"
			}
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.SyncAll(admin)
	if err == nil || !strings.Contains(err.Error(), "sync p2") {
		t.Fatalf("SyncAll: %v, want the failure of p2", err)
	}
	for id, want := range map[string]int{"p1": 2, "p2": 0, "p3": 0} {
		p, err := e.Profile(admin, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Members) != want {
			t.Errorf("%s has %d members after the failed sync, want %d", id, len(p.Members), want)
		}
	}
}
