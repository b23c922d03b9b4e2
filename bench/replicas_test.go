package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/testenv"
	"github.com/rosterhq/roster/postgres/pgtest"
)

// BenchmarkApprovalsCappedReplicas is BenchmarkApprovals on PostgreSQL with
// each replica a `roster serve` process of its own, held to the same share
// of a CPU (ROSTER_BENCH_REPLICA_CPU, e.g. 0.25) by a cgroup: replicas on
// machines of their own, which a machine of two cores cannot otherwise
// show. Run in-process, two replicas share the CPU that PostgreSQL and the
// clients need too, and approve no more than one (docs/performance.md).
// Here a replica is the bottleneck, so a second one adds what the
// database lets it: a lock every writer takes would let it add nothing.
//
// It needs Linux, root (to make cgroups), PostgreSQL and the go tool, and
// skips, saying so, without ROSTER_BENCH_REPLICA_CPU.
func BenchmarkApprovalsCappedReplicas(b *testing.B) {
	share := os.Getenv("ROSTER_BENCH_REPLICA_CPU")
	if share == "" {
		b.Skip("set ROSTER_BENCH_REPLICA_CPU (a share of one CPU, e.g. 0.25) to hold each replica to it in a cgroup")
	}
	cpu, err := strconv.ParseFloat(share, 64)
	if err != nil || cpu <= 0 || cpu > float64(runtime.NumCPU()) {
		b.Fatalf("ROSTER_BENCH_REPLICA_CPU=%q: give a share of a CPU, over 0", share)
	}
	bin := buildRoster(b)
	for _, replicas := range []int{1, 2} {
		b.Run(fmt.Sprintf("%d-replicas", replicas), func(b *testing.B) {
			db := pgtest.NewDatabase(b)
			var urls []string
			for i := range replicas {
				urls = append(urls, startCapped(b, bin, db, fmt.Sprintf("roster-bench-%d-%d", os.Getpid(), i), cpu))
			}
			ctx := context.Background()
			admin := rosterhttp.NewClient(urls[0], "bench-admin-0123456789abcdef0123456789")
			if _, err := admin.Apply(ctx, roster.ApplyRequest{Filename: "bench.yaml", Document: org(b.N)}); err != nil {
				b.Fatal(err)
			}
			approveAll(b, admin, urls)
		})
	}
}

// buildRoster builds the roster binary into a temporary directory.
func buildRoster(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "roster")
	if err := testenv.BuildRoster(bin); err != nil {
		b.Fatal(err)
	}
	return bin
}

// startCapped starts `roster serve` on db in a new cgroup named name that
// holds it to cpu CPUs, waits until it answers /healthz, and returns its
// URL. The process is stopped and the cgroup removed when b ends.
func startCapped(b *testing.B, bin, db, name string, cpu float64) string {
	dir, err := capCPU(name, cpu)
	if err != nil {
		b.Skipf("cannot hold a replica to %.2f CPU in a cgroup: %v", cpu, err)
	}
	b.Cleanup(func() { os.Remove(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The shell joins the cgroup and then becomes the server, so the Go
	// runtime reads its limit from the start (GOMAXPROCS).
	cmd := exec.Command("sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2" serve --db "$3" --addr "$4" --sync-on-change=false`,
		"sh", dir, bin, db, addr)
	cmd.Env = append(os.Environ(), "ROSTER_BOOTSTRAP_TOKEN=bench-admin-0123456789abcdef0123456789")
	// Its log is shown only when the benchmark fails.
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	b.Cleanup(func() {
		if b.Failed() {
			b.Logf("roster serve at %s:\n%s", addr, log.Bytes())
		}
	})
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("roster serve at %s did not answer /healthz within a minute", addr)
		}
	}
}

// capCPU makes a cgroup named name whose processes together get at most cpu
// CPUs, and returns its directory: cgroup v2's cpu.max where the unified
// hierarchy has the cpu controller, else v1's CFS quota.
func capCPU(name string, cpu float64) (string, error) {
	const period = 100000
	quota := strconv.Itoa(int(cpu * period))
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(ctl), "cpu") {
		dir := filepath.Join("/sys/fs/cgroup", name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(quota+" "+strconv.Itoa(period)), 0o644); err != nil {
			os.Remove(dir)
			return "", err
		}
		return dir, nil
	}
	dir := filepath.Join("/sys/fs/cgroup/cpu", name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range [][2]string{{"cpu.cfs_period_us", strconv.Itoa(period)}, {"cpu.cfs_quota_us", quota}} {
		if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644); err != nil {
			os.Remove(dir)
			return "", err
		}
	}
	return dir, nil
}
