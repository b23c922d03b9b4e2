package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// benchLogger reports the servers' errors on stderr.
var benchLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
