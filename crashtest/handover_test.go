package crashtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/testenv"
)

// handoverOrganisation has one profile whose rule names okta/engineering
// and whose enrollment waits for the manager: a grant of okta/engineering
// starts an enrollment task, through the change-driven sync.
const handoverOrganisation = `
settings:
  automations_enabled: true
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
users:
  - {id: dana, email: dana@example.com, name: Dana}
  - {id: bob, email: bob@example.com, name: Bob, manager: dana}
  - {id: chen, email: chen@example.com, name: Chen, manager: dana}
apps:
  - id: okta
    name: Okta
    owners: [dana]
    entitlements:
      - {id: engineering, request_policy: auto, revoke_policy: auto}
profiles:
  - id: eng
    name: Engineering
    enrollment: {policy: manager}
    unenrollment: {policy: auto}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/engineering]
`

// TestRestartHandsOverLeasesSQLite stops a server gracefully and starts
// another on the same database: the new one runs the change-driven sync at
// once, rather than waiting for the lease the old one held.
func TestRestartHandsOverLeasesSQLite(t *testing.T) {
	testRestartHandsOverLeases(t, sqliteBackend)
}

// TestRestartHandsOverLeasesPostgres is TestRestartHandsOverLeasesSQLite on
// PostgreSQL.
func TestRestartHandsOverLeasesPostgres(t *testing.T) {
	testenv.RequirePostgres(t)
	testRestartHandsOverLeases(t, postgresBackend)
}

func testRestartHandsOverLeases(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := b.newDB(t)
	serve := func() *process {
		t.Helper()
		p, err := startServerWith(ctx, db, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.kill)
		return p
	}
	// enrolls records a grant of okta/engineering to user and waits, at most
	// five seconds, for the change-driven sync to start their enrollment.
	enrolls := func(p *process, user string) {
		t.Helper()
		admin := rosterhttp.NewClient(p.URL, adminToken)
		if _, err := admin.AddGrant(ctx, user, "okta/engineering"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			page, err := admin.Tasks(ctx, roster.TaskFilter{User: user, Profile: "eng", OpenOnly: true, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) == 1 {
				t.Logf("%s's enrollment started %v after the grant", user, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("no enrollment task for %s 5s after the grant (tasks: %s)", user, describeTasks(page.Items))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	first := serve()
	admin := rosterhttp.NewClient(first.URL, adminToken)
	if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "handover.yaml", Document: []byte(handoverOrganisation)}); err != nil {
		t.Fatal(err)
	}
	enrolls(first, "bob") // the first server holds the leases
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	second := serve()
	enrolls(second, "chen")
	if err := second.stop(); err != nil {
		t.Fatal(fmt.Errorf("second server: %w", err))
	}
}
