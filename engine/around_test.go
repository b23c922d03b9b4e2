package engine

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
)

// TestDecisionReadsAroundAtOnce: a manager's approval of an enrollment,
// which makes the member and grants the profile's access at once, reads
// what it needs of the subject and the profile with one Around (one round
// trip on PostgreSQL) and none of the reads it answers one at a time; the
// enrollment still makes the member, grants the access with the profile as
// its source, and marks the profile whose rule names it.
func TestDecisionReadsAroundAtOnce(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := &countingStore{Store: open(t)}
			e := New(Config{Store: store})
			if _, err := e.Bootstrap(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			admin := roster.NewContext(ctx, roster.AdminUser)
			doc := `policies: [{id: auto, steps: []}, {id: manager, steps: [{approvers: manager}]}]
apps:
  - {id: okta, entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]}
  - {id: wiki, entitlements: [{id: editor, request_policy: auto, revoke_policy: auto}]}
users: [{id: boss, email: boss@example.com}, {id: alice, email: alice@example.com, manager: boss}]
grants: [{user: alice, entitlement: okta/staff}]
profiles:
  - {id: eng, entitlements: [wiki/editor], enrollment: {policy: manager, bypass_entitlement_policies: true}, automation: {enabled: true, any_entitlement: [okta/staff]}}
  - {id: editors, enrollment: {policy: auto}, automation: {enabled: false, any_entitlement: [wiki/editor]}}
`
			if _, err := e.Apply(admin, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(doc)}); err != nil {
				t.Fatal(err)
			}
			page, err := e.Tasks(admin, roster.TaskFilter{Approver: "boss"})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 1 {
				t.Fatalf("%d tasks wait on boss, want alice's enrollment", len(page.Items))
			}
			store.reset()
			task, err := e.ApproveTask(roster.NewContext(ctx, "boss"), page.Items[0].ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if task.State != roster.StateDone {
				t.Fatalf("the enrollment is %s after the manager's approval, want done", task.State)
			}
			if n := store.count("Around"); n != 1 {
				t.Errorf("the decision read Around %d times, want 1", n)
			}
			for _, m := range aroundReads {
				if n := store.count(m); n != 0 {
					t.Errorf("the decision read %s %d times, which Around had read", m, n)
				}
			}
			err = store.View(ctx, func(tx roster.Tx) error {
				ms, err := tx.Memberships(ctx, "alice")
				if err != nil {
					return err
				}
				if len(ms) != 1 || ms[0].Profile != "eng" {
					t.Errorf("alice's memberships after the approval: %+v, want eng", ms)
				}
				g, err := tx.Grant(ctx, "alice", "wiki/editor")
				if err != nil {
					return err
				}
				if len(g.Sources) != 1 || g.Sources[0] != roster.ProfileSource("eng") {
					t.Errorf("alice's wiki/editor sources: %v, want eng's", g.Sources)
				}
				marked, err := tx.TriggeredProfiles(ctx, 10)
				if err != nil {
					return err
				}
				if len(marked) != 1 || marked[0] != "editors" {
					t.Errorf("profiles marked by the approval: %v, want editors (its rule names wiki/editor)", marked)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
