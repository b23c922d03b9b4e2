package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/server"
)

// org returns a declarative file in which n users, all managed by "boss",
// match profile eng, whose enrollment the manager approves and whose one
// entitlement is then granted at once.
func org(n int) []byte {
	var b strings.Builder
	b.WriteString(`settings: {safeguard: {min_members: 1000000}}
policies:
  - {id: auto, steps: []}
  - {id: manager, steps: [{approvers: manager}]}
apps:
  - id: okta
    entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]
  - id: wiki
    entitlements: [{id: editor, request_policy: auto, revoke_policy: auto}]
users:
  - {id: boss, email: boss@example.com}
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: u%06d, email: u%06d@example.com, manager: boss}\n", i, i)
	}
	b.WriteString("grants:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {user: u%06d, entitlement: okta/staff}\n", i)
	}
	b.WriteString(`profiles:
  - id: eng
    name: Engineering
    entitlements: [wiki/editor]
    enrollment: {policy: manager, bypass_entitlement_policies: true}
    automation: {enabled: true, any_entitlement: [okta/staff]}
`)
	return []byte(b.String())
}

// BenchmarkApprovals measures task approvals per second through the HTTP API:
// eight concurrent clients approve b.N pending enrollments as the manager,
// each approval making a member and granting the profile's access in the same
// transaction. With two replicas the clients alternate between them.
func BenchmarkApprovals(b *testing.B) {
	for _, c := range []struct {
		name     string
		postgres bool
		replicas int
	}{
		{"sqlite", false, 1},
		{"postgres", true, 1},
		{"postgres-2-replicas", true, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			db := filepath.Join(b.TempDir(), "roster.db")
			if c.postgres {
				db = pgtest.NewDatabase(b)
			}
			ctx := context.Background()
			var urls []string
			for i := 0; i < c.replicas; i++ {
				s, err := server.Start(ctx, server.Config{DB: db, Addr: "127.0.0.1:0", BootstrapToken: "bench-admin", SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1, Logger: benchLogger})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close(context.Background()) })
				urls = append(urls, s.URL)
			}
			admin := rosterhttp.NewClient(urls[0], "bench-admin")
			if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "bench.yaml", Document: org(b.N)}); err != nil {
				b.Fatal(err)
			}
			approveAll(b, admin, urls)
		})
	}
}

// approveAll has eight clients approve, as the manager, every task waiting
// on them, alternating between the servers at urls, and reports
// approvals/s; then checks that each approval made one member.
func approveAll(b *testing.B, admin *rosterhttp.Client, urls []string) {
	ctx := context.Background()
	tok, err := admin.CreateToken(ctx, roster.TokenRequest{User: "boss"})
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for f := (roster.TaskFilter{Approver: "boss", Limit: roster.MaxPageSize}); ; {
		page, err := admin.Tasks(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range page.Items {
			ids = append(ids, t.ID)
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	if len(ids) != b.N {
		b.Fatalf("%d tasks wait on the manager, want %d", len(ids), b.N)
	}
	work := make(chan int64, len(ids))
	for _, id := range ids {
		work <- id
	}
	close(work)

	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		client := rosterhttp.NewClient(urls[w%len(urls)], tok.Token)
		wg.Go(func() {
			for id := range work {
				if _, err := client.ApproveTask(ctx, id, ""); err != nil {
					errs <- fmt.Errorf("approve %d: %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
	// Every approval made a member: nothing was lost or duplicated.
	if v, err := admin.Profile(ctx, "eng"); err != nil || len(v.Members) != b.N {
		b.Fatalf("profile eng has %d members (err %v), want %d", len(v.Members), err, b.N)
	}
}

// benchLogger reports the servers' errors on stderr.
var benchLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
