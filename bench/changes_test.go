package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// ROSTER_BENCH_CHANGE_USERS lists other sizes (e.g. 100000), and
// ROSTER_BENCH_BESIDE_APPROVALS=N has four clients approve N enrollments
// into another profile all the while (it reports their approvals/s too):
// on PostgreSQL a sync need not wait for them.
func BenchmarkGrantChangeToTask(b *testing.B) {
	for _, users := range changeSizes(b, 1000, 10000) {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			changeToTask(b, users, "any_entitlement: [okta/staff]", "",
				func(i int) string { return fmt.Sprintf("  - {user: u%06d, entitlement: okta/staff}\n", i) },
				func(ctx context.Context, admin *rosterhttp.Client, user string) error {
					_, err := admin.AddGrant(ctx, user, "okta/staff")
					return err
				})
		})
	}
}

// BenchmarkDepartmentChangeToTask is BenchmarkGrantChangeToTask for a rule
// on attributes: the profile's rule is `user.department == "Staff"`, and the
// change is an apply that moves one user into that department. Another
// profile's expression reads only location: the change must not sync it.
func BenchmarkDepartmentChangeToTask(b *testing.B) {
	for _, users := range changeSizes(b, 1000, 10000) {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			changeToTask(b, users, `expression: 'user.department == "Staff"'`, `expression: 'user.location == "Atlantis"'`,
				nil,
				func(ctx context.Context, admin *rosterhttp.Client, user string) error {
					doc := fmt.Sprintf("users:\n  - {id: %s, email: %s@example.com, department: Staff}\n", user, user)
					_, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "move.yaml", Document: []byte(doc)})
					return err
				})
		})
	}
}

// changeSizes returns the organisation sizes of ROSTER_BENCH_CHANGE_USERS
// (comma-separated), or def.
func changeSizes(b *testing.B, def ...int) []int {
	env := os.Getenv("ROSTER_BENCH_CHANGE_USERS")
	if env == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("ROSTER_BENCH_CHANGE_USERS: %v", err)
		}
		out = append(out, n)
	}
	return out
}

// changeToTask runs a change-to-task benchmark on users users: the profile
// staff has rule (and other has otherRule, or a rule nobody matches); the
// first third of the users match staff, through the grants grant writes
// (nil: through their department, Staff). change makes user match.
func changeToTask(b *testing.B, users int, rule, otherRule string, grant func(i int) string,
	change func(ctx context.Context, admin *rosterhttp.Client, user string) error) {
	ctx := context.Background()
	db := freshDB(b)
	s, err := server.Start(ctx, server.Config{DB: db, Addr: "127.0.0.1:0",
		BootstrapToken: "bench-admin", SchedulerTick: -1, NotifierTick: -1, Logger: benchLogger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	admin := rosterhttp.NewClient(s.URL, "bench-admin")
	var doc strings.Builder
	doc.WriteString("policies: [{id: auto, steps: []}, {id: manual-review, steps: [{approvers: users, users: [u000000]}]}]\n")
	doc.WriteString("apps:\n  - id: okta\n    entitlements: [{id: staff, request_policy: auto, revoke_policy: auto}, {id: none}, {id: side}]\nusers:\n")
	for i := 0; i < users; i++ {
		dept := "Sales"
		if grant == nil && i < users/3 {
			dept = "Staff"
		}
		fmt.Fprintf(&doc, "  - {id: u%06d, email: u%06d@example.com, department: %s}\n", i, i, dept)
	}
	// The enrollments approved beside: side's, as u000000.
	beside := 0
	if env := os.Getenv("ROSTER_BENCH_BESIDE_APPROVALS"); env != "" {
		if beside, err = strconv.Atoi(env); err != nil {
			b.Fatalf("ROSTER_BENCH_BESIDE_APPROVALS: %v", err)
		}
	}
	for i := 0; i < beside; i++ {
		fmt.Fprintf(&doc, "  - {id: s%06d, email: s%06d@example.com}\n", i, i)
	}
	if grant != nil {
		doc.WriteString("grants:\n")
		for i := 0; i < users/3; i++ {
			doc.WriteString(grant(i))
		}
	}
	if beside > 0 {
		if grant == nil {
			doc.WriteString("grants:\n")
		}
		for i := 0; i < beside; i++ {
			fmt.Fprintf(&doc, "  - {user: s%06d, entitlement: okta/side}\n", i)
		}
	}
	if otherRule == "" {
		otherRule = "any_entitlement: [okta/none]"
	}
	fmt.Fprintf(&doc, "profiles:\n  - id: staff\n    enrollment: {policy: manual-review}\n    automation: {enabled: true, %s}\n", rule)
	fmt.Fprintf(&doc, "  - id: other\n    automation: {enabled: true, %s}\n", otherRule)
	if beside > 0 {
		doc.WriteString("  - id: side\n    enrollment: {policy: manual-review}\n    automation: {enabled: true, any_entitlement: [okta/side]}\n")
	}
	if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "bench.yaml", Document: []byte(doc.String())}); err != nil {
		b.Fatal(err)
	}
	if b.N > users-users/3 {
		b.Fatalf("b.N = %d: at most %d users left to change", b.N, users-users/3)
	}
	otherSyncs := func() int {
		v, err := admin.Profile(ctx, "other")
		if err != nil {
			b.Fatal(err)
		}
		if v.Automation.LastSync == nil {
			return 0
		}
		return int(v.Automation.LastSync.At.UnixNano())
	}
	otherBefore := otherSyncs()
	stop, approved := approveBeside(ctx, b, admin, s.URL, beside)
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		user := fmt.Sprintf("u%06d", users/3+i)
		if err := change(ctx, admin, user); err != nil {
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
	if beside > 0 {
		b.ReportMetric(stop(), "approvals/s")
		if *approved == 0 {
			b.Fatal("no approval ran beside the changes")
		}
	}
	if otherSyncs() != otherBefore {
		b.Fatal("a change the other profile's rule does not read synced it")
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(maxRSS(), "max-rss-MiB")
	reportBackendRSS(b, db)
}

// approveBeside has four clients approve, as u000000, the enrollments into
// profile side (n of them) until stop is called, which returns their
// approvals per second; approved counts them.
func approveBeside(ctx context.Context, b *testing.B, admin *rosterhttp.Client, url string, n int) (stop func() float64, approved *int64) {
	var count int64
	if n == 0 {
		return func() float64 { return 0 }, &count
	}
	tok, err := admin.CreateToken(ctx, roster.TokenRequest{User: "u000000"})
	if err != nil {
		b.Fatal(err)
	}
	work := make(chan int64, n)
	for f := (roster.TaskFilter{Entitlement: "access-profiles/side", Limit: roster.MaxPageSize}); ; {
		page, err := admin.Tasks(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range page.Items {
			work <- t.ID
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	close(work)
	done := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	last := start
	for range 4 {
		client := rosterhttp.NewClient(url, tok.Token)
		wg.Go(func() {
			for id := range work {
				select {
				case <-done:
					return
				default:
				}
				if _, err := client.ApproveTask(ctx, id, ""); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				count++
				last = time.Now()
				mu.Unlock()
			}
		})
	}
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(count) / last.Sub(start).Seconds()
	}, &count
}
