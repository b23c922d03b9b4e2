package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/server"
)

// BenchmarkGrantChangeToTask measures how long a grant change takes to reach
// the profile whose rule it affects: from the moment `grant add` returns to
// the moment the enrollment task is committed, with the change-driven sync
// running in the background as in production (100ms tick). The organisation
// has `users` users, a third of whom already match and are members.
func BenchmarkGrantChangeToTask(b *testing.B) {
	for _, users := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			ctx := context.Background()
			s, err := server.Start(ctx, server.Config{DB: filepath.Join(b.TempDir(), "roster.db"), Addr: "127.0.0.1:0",
				BootstrapToken: "bench-admin", SchedulerTick: -1, NotifierTick: -1, Logger: benchLogger})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close(context.Background()) })
			admin := rosterhttp.NewClient(s.URL, "bench-admin")
			var doc strings.Builder
			doc.WriteString("policies: [{id: auto, steps: []}]\napps:\n  - id: okta\n    entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]\nusers:\n")
			for i := 0; i < users; i++ {
				fmt.Fprintf(&doc, "  - {id: u%06d, email: u%06d@example.com}\n", i, i)
			}
			doc.WriteString("grants:\n")
			for i := 0; i < users/3; i++ {
				fmt.Fprintf(&doc, "  - {user: u%06d, entitlement: okta/staff}\n", i)
			}
			doc.WriteString("profiles:\n  - id: staff\n    enrollment: {policy: manual-review}\n    automation: {enabled: true, any_entitlement: [okta/staff]}\n")
			doc.WriteString("  - id: other\n    automation: {enabled: true, any_entitlement: [okta/none]}\n")
			full := strings.Replace(doc.String(), "policies: [{id: auto, steps: []}]", "policies: [{id: auto, steps: []}, {id: manual-review, steps: [{approvers: users, users: [u000000]}]}]", 1)
			full = strings.Replace(full, "entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]", "entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}, {id: none}]", 1)
			if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "bench.yaml", Document: []byte(full)}); err != nil {
				b.Fatal(err)
			}
			if b.N > users-users/3 {
				b.Fatalf("b.N = %d: at most %d users left to change", b.N, users-users/3)
			}
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				user := fmt.Sprintf("u%06d", users/3+i)
				if _, err := admin.AddGrant(ctx, user, "okta/staff"); err != nil {
					b.Fatal(err)
				}
				changed := time.Now()
				for {
					page, err := admin.Tasks(ctx, roster.TaskFilter{User: user, Entitlement: "access-profiles/staff"})
					if err != nil {
						b.Fatal(err)
					}
					if len(page.Items) == 1 {
						break
					}
					if time.Since(changed) > 10*time.Second {
						b.Fatalf("no enrollment task for %s after 10s", user)
					}
					time.Sleep(time.Millisecond)
				}
				latencies = append(latencies, time.Since(changed))
			}
			b.StopTimer()
			slices.Sort(latencies)
			at := func(q float64) float64 {
				return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}
