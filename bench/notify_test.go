//go:build unix

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/mailcatch"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/server"
)

// notifyOrg returns a declarative file with n people in teams of 100, each
// team's manager approving their enrollment in profile eng, whose rule
// (holding okta/staff) matches all of them; its automation is enabled when
// enabled. With email, settings send Roster's email to the SMTP server at
// host:port.
func notifyOrg(n int, enabled bool, host string, port int) []byte {
	var b strings.Builder
	b.WriteString("settings:\n  safeguard: {min_members: 1000000}\n  base_url: https://roster.example.com\n")
	if host != "" {
		fmt.Fprintf(&b, "  notifications:\n    email: {smtp_host: %s, smtp_port: %d, from: roster@example.com}\n", host, port)
	}
	b.WriteString(`policies:
  - {id: auto, steps: []}
  - {id: manager, steps: [{approvers: manager}]}
apps:
  - id: okta
    name: Okta
    entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}]
  - id: wiki
    name: Wiki
    entitlements: [{id: editor, name: Editor, request_policy: auto, revoke_policy: auto}]
users:
`)
	managers := (n + 99) / 100
	for m := 0; m < managers; m++ {
		fmt.Fprintf(&b, "  - {id: m%04d, email: m%04d@example.com, name: Manager %d, department: Engineering}\n", m, m, m)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: u%06d, email: u%06d@example.com, name: User %d, title: Engineer, department: Engineering, manager: m%04d}\n", i, i, i, i/100)
	}
	b.WriteString("grants:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {user: u%06d, entitlement: okta/staff}\n", i)
	}
	fmt.Fprintf(&b, `profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [wiki/editor]
    enrollment: {policy: manager, bypass_entitlement_policies: true}
    automation: {enabled: %t, any_entitlement: [okta/staff]}
`, enabled)
	return []byte(b.String())
}

// BenchmarkNotifyAtOnce measures issue 15's notification benchmark: one
// apply enables a profile whose rule matches ROSTER_BENCH_NOTIFY_N people
// (default 10,000), so its sync creates that many enrollments, each waiting
// on the person's manager (a hundred people each), who is emailed. The
// sub-benchmark "on" sends the email through a real SMTP server and reports
// the sync's time (sync-s: the apply of a file holding only the enabled
// profile, which syncs it) and the time from the start of that apply
// until the server has received every email (mail-s); "off" has no email
// settings and reports the sync's time alone. Run them in separate
// processes, interleaved, under /usr/bin/time for the peak RSS (see
// docs/performance.md). ROSTER_BENCH_POSTGRES=1 runs on PostgreSQL.
func BenchmarkNotifyAtOnce(b *testing.B) {
	n := 10000
	if v := os.Getenv("ROSTER_BENCH_NOTIFY_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ROSTER_BENCH_NOTIFY_N=%q: want a positive number", v)
		}
	}
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			var syncs, cpus, mails time.Duration
			for i := 0; i < b.N; i++ {
				s, c, m := notifyOnce(b, n, mode == "on")
				syncs, cpus, mails = syncs+s, cpus+c, mails+m
			}
			b.ReportMetric(syncs.Seconds()/float64(b.N), "sync-s")
			b.ReportMetric(cpus.Seconds()/float64(b.N), "sync-cpu-s")
			if mode == "on" && os.Getenv("ROSTER_BENCH_NOTIFY_NOWAIT") == "" {
				b.ReportMetric(mails.Seconds()/float64(b.N), "mail-s")
				b.ReportMetric(float64(n)/(mails.Seconds()/float64(b.N)), "emails/s")
			}
		})
	}
}

// notifyOnce runs one measurement on a fresh server and database: how long
// the sync took, the CPU time the process spent meanwhile (less sensitive
// to a shared machine's load), and with email how long until every email
// arrived (not waited for with ROSTER_BENCH_NOTIFY_NOWAIT=1).
func notifyOnce(b *testing.B, n int, email bool) (sync, cpu, mail time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	ctx := context.Background()
	smtp := smtptest.Start(b, mailcatch.Keep(16)) // counted, not read
	host, port := "", 0
	if email {
		host, port = smtp.Host, smtp.Port
	}
	db := filepath.Join(b.TempDir(), "roster.db")
	if os.Getenv("ROSTER_BENCH_POSTGRES") == "1" {
		db = pgtest.NewDatabase(b)
	}
	s, err := server.Start(ctx, server.Config{DB: db, Addr: "127.0.0.1:0", BootstrapToken: "bench-admin",
		SchedulerTick: -1, ChangeTick: -1, ConnectorTick: -1, ProvisionTick: -1, Logger: benchLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	admin := rosterhttp.NewClient(s.URL, "bench-admin")
	if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "org.yaml", Document: notifyOrg(n, false, host, port)}); err != nil {
		b.Fatal(err)
	}

	// The enabling file holds the profile alone: the apply's time is its
	// sync's.
	enable := notifyOrg(n, true, host, port)
	enable = enable[strings.Index(string(enable), "profiles:\n"):]
	b.StartTimer()
	cpu0 := cpuTime()
	start := time.Now()
	res, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "enable.yaml", Document: enable})
	sync, cpu = time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Synced) != 1 || len(res.Synced[0].Enrolled) != n {
		b.Fatalf("the enabling apply synced %+v, want %d enrollments", res.Synced, n)
	}
	if !email || os.Getenv("ROSTER_BENCH_NOTIFY_NOWAIT") != "" {
		return sync, cpu, 0
	}
	deadline := start.Add(10 * time.Minute)
	for received(smtp) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d emails after %s", received(smtp), n, time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	mail = time.Since(start)
	// One per recipient and event: none more arrives.
	time.Sleep(200 * time.Millisecond)
	if got := received(smtp); got != n {
		b.Fatalf("%d emails, want %d", got, n)
	}
	return sync, cpu, mail
}

// received returns how many messages the server has received.
func received(s *smtptest.Server) int {
	ms := s.Messages()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].ID
}
