package storetest

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
)

func testConnectors(t *testing.T, s roster.Store) {
	// Not found, then a round trip of every field, settings included.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if _, err := tx.Connector(ctx, "corp-ldap"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("Connector of a missing id: %v, want ENOTFOUND", err)
		}
		return nil
	})
	run := &roster.ConnectorRun{At: at(3), Duration: roster.Duration(1500000), Error: "",
		Result: &roster.ConnectorSyncResult{Connector: "corp-ldap", Users: roster.ConnectorUserCounts{Added: 3, Changed: 1, Disabled: 2},
			Entitlements: roster.ConnectorChangeCounts{Added: 4}, Grants: roster.ConnectorChangeCounts{Added: 5, Removed: 6},
			Skipped: []roster.ConnectorSkippedItem{{What: "account x", Why: "no email"}}}}
	c := roster.Connector{
		ID: "corp-ldap", Type: "ldap", App: "ldap", Users: true, MatchBy: "email",
		SyncInterval: roster.Duration(15 * 60 * 1e9), DeleteThresholdPercent: 20,
		EntitlementDefaults: roster.EntitlementDefaults{RequestPolicy: "auto", RevokePolicy: "auto", Provisioning: roster.ProvisionConnector,
			Provisioners: []string{}, Risk: roster.RiskLow},
		Settings: map[string]any{"url": "ldap://127.0.0.1:389", "bind_password_env": "LDAP_PW",
			"user_attributes": map[string]any{"id": "uid"}, "page_size": float64(500)},
		Status: roster.ConnectorStatus{State: roster.ConnectorHeld, LastRun: run, HeldAt: ptr(at(4)), HeldWhy: "too many",
			Held: run.Result, LastOKAt: ptr(at(2)), Entitlements: []string{"engineering", "vpn"}},
		CreatedAt: at(1), UpdatedAt: at(2),
	}
	other := roster.Connector{ID: "hr", Type: "csv", App: "hr", MatchBy: "id", Settings: map[string]any{},
		Status: roster.ConnectorStatus{State: roster.ConnectorActive}, CreatedAt: at(1), UpdatedAt: at(1)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.PutConnector(ctx, &other); err != nil {
			return err
		}
		return tx.PutConnector(ctx, &c)
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Connector, error) {
		return tx.Connector(ctx, "corp-ldap")
	})
	equal(t, "connector", c, *got)
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Connector, error) { return tx.Connectors(ctx) })
	equal(t, "connectors in id order", []roster.Connector{c, other}, all)
	// Put replaces.
	c.Status = roster.ConnectorStatus{State: roster.ConnectorActive}
	c.UpdatedAt = at(9)
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutConnector(ctx, &c) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Connector, error) {
		return tx.Connector(ctx, "corp-ldap")
	})
	equal(t, "replaced connector", c, *got)

	// The users a connector feeds: replaced whole, sorted, per connector.
	users := func(id string) []string {
		return get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) { return tx.ConnectorUsers(ctx, id) })
	}
	equal(t, "users of a new connector", []string{}, users("corp-ldap"))
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.SetConnectorUsers(ctx, "corp-ldap", []string{"carol", "alice", "bob"}); err != nil {
			return err
		}
		return tx.SetConnectorUsers(ctx, "hr", []string{"zed"})
	})
	equal(t, "users", []string{"alice", "bob", "carol"}, users("corp-ldap"))
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.SetConnectorUsers(ctx, "corp-ldap", []string{"dave"})
	})
	equal(t, "users replaced", []string{"dave"}, users("corp-ldap"))
	equal(t, "the other connector's users", []string{"zed"}, users("hr"))
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.SetConnectorUsers(ctx, "corp-ldap", nil) })
	equal(t, "users cleared", []string{}, users("corp-ldap"))

	// A held sync's snapshot.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if _, err := tx.StagedSnapshot(ctx, "corp-ldap"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("StagedSnapshot when none: %v, want ENOTFOUND", err)
		}
		if err := tx.PutStagedSnapshot(ctx, "corp-ldap", []byte(`{"a":1}`)); err != nil {
			return err
		}
		return tx.PutStagedSnapshot(ctx, "corp-ldap", []byte(`{"a":2}`))
	})
	snap := get(t, s, func(ctx context.Context, tx roster.Tx) ([]byte, error) { return tx.StagedSnapshot(ctx, "corp-ldap") })
	equal(t, "staged snapshot", `{"a":2}`, string(snap))
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutStagedSnapshot(ctx, "corp-ldap", nil) })
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if _, err := tx.StagedSnapshot(ctx, "corp-ldap"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("StagedSnapshot after delete: %v, want ENOTFOUND", err)
		}
		return nil
	})
}

func testConnectorTasks(t *testing.T, s roster.Store) {
	mk := func(user, provisioning string, state roster.TaskState) roster.Task {
		task := fullTask(user, "ldap/vpn", 1)
		task.Provisioning, task.State = provisioning, state
		return task
	}
	ts := []roster.Task{
		mk("alice", roster.ProvisionConnector, roster.StatePendingProvisioning),
		mk("bob", roster.ProvisionManual, roster.StatePendingProvisioning),
		mk("carol", roster.ProvisionConnector, roster.StatePendingApproval),
		mk("dave", roster.ProvisionConnector, roster.StatePendingProvisioning),
		mk("erin", roster.ProvisionConnector, roster.StateFailed),
	}
	createTasks(t, s, ts)
	due := func(n int) []string {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) {
			return tx.DueConnectorTasks(ctx, at(n), 10)
		})
		out := []string{}
		for _, task := range got {
			out = append(out, task.User)
		}
		return out
	}
	equal(t, "due, never tried", []string{"alice", "dave"}, due(10))
	none := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.ProvisionAttempt, error) {
		return tx.ProvisionAttempt(ctx, ts[0].ID)
	})
	equal(t, "attempts of a task never tried", roster.ProvisionAttempt{Task: ts[0].ID}, *none)
	a := roster.ProvisionAttempt{Task: ts[0].ID, Attempts: 2, NextAt: at(20), LastError: "timeout"}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutProvisionAttempt(ctx, &a) })
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.ProvisionAttempt, error) {
		return tx.ProvisionAttempt(ctx, ts[0].ID)
	})
	equal(t, "attempts", a, *got)
	equal(t, "due before the retry time", []string{"dave"}, due(19))
	equal(t, "due at the retry time", []string{"alice", "dave"}, due(20))
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.DeleteProvisionAttempt(ctx, ts[0].ID) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.ProvisionAttempt, error) {
		return tx.ProvisionAttempt(ctx, ts[0].ID)
	})
	equal(t, "attempts after delete", 0, got.Attempts)
	limited := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) {
		return tx.DueConnectorTasks(ctx, at(10), 1)
	})
	equal(t, "limit", 1, len(limited))
}
