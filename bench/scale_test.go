package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/heap"
	"github.com/rosterhq/roster/server"
)

// The scale benchmarks each time one whole measurement per iteration; run
// them with
//
//	ROSTER_BENCH_PRESETS=small,medium go test ./bench -run '^$' -bench 'SteadyState|ApplyFile|EnableAtOnce|ListLargeData' -benchtime 1x -count 3 -timeout 3h
//
// ROSTER_BENCH_PRESETS selects the organisation sizes (small, medium, large,
// small20k, dense20k; default small). Loading a medium organisation takes minutes: set
// ROSTER_BENCH_CACHE to a directory to keep the loaded databases across runs
// (they are rebuilt only when missing). ROSTER_BENCH_STORE=postgres runs them
// on PostgreSQL instead (see storeEnv), where loaded databases are kept on
// the server.

// benchToken is the admin's API token on every benchmark server.
const benchToken = "bench-admin"

// presets returns the presets of ROSTER_BENCH_PRESETS among those a benchmark
// supports, and logs which run and which do not.
func presets(b *testing.B, supported ...string) []string {
	b.Helper()
	env := os.Getenv("ROSTER_BENCH_PRESETS")
	if env == "" {
		env = "small"
	}
	var run, skipped []string
	for _, p := range supported {
		if slices.Contains(strings.Split(env, ","), p) {
			run = append(run, p)
		} else {
			skipped = append(skipped, p)
		}
	}
	b.Logf("presets run: %v; not run: %v (ROSTER_BENCH_PRESETS=%q)", run, skipped, env)
	return run
}

func presetConfig(b *testing.B, name string) gen.Config {
	b.Helper()
	cfg, err := gen.Preset(name)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

var (
	cacheOnce sync.Once
	cacheDir  string
	cacheErr  error
)

// cache returns the directory that keeps loaded databases: ROSTER_BENCH_CACHE,
// or a temporary directory TestMain removes.
func cache(b *testing.B) string {
	b.Helper()
	cacheOnce.Do(func() {
		if cacheDir = os.Getenv("ROSTER_BENCH_CACHE"); cacheDir != "" {
			cacheErr = os.MkdirAll(cacheDir, 0o755)
			return
		}
		cacheDir, cacheErr = os.MkdirTemp("", "roster-bench-")
		tempCache = cacheDir
	})
	if cacheErr != nil {
		b.Fatal(cacheErr)
	}
	return cacheDir
}

// tempCache is the temporary cache directory to remove at exit, if any.
var tempCache string

func TestMain(m *testing.M) {
	code := m.Run()
	if tempCache != "" {
		os.RemoveAll(tempCache)
	}
	os.Exit(code)
}

// loaded returns the database holding the preset's organisation in the
// given state — a SQLite path, or on PostgreSQL (ROSTER_BENCH_STORE) a URL —
// loading it on first use. The load is not part of any measurement.
func loaded(b *testing.B, preset string, opts gen.LoadOptions) string {
	b.Helper()
	if onPostgres(b) {
		name := fmt.Sprintf("roster_bench_%s_state%d_history%t", strings.ReplaceAll(preset, "-", "_"), opts.State, opts.History)
		db, ok := pgLoaded(b, name)
		if !ok {
			load(b, preset, name, db, opts)
			pgMarkLoaded(b, db)
		}
		return db
	}
	name := fmt.Sprintf("%s-state%d-history%t.db", preset, opts.State, opts.History)
	path := filepath.Join(cache(b), name)
	if _, err := os.Stat(path + ".ok"); err == nil {
		return path
	}
	os.Remove(path)
	load(b, preset, name, path, opts)
	if err := os.WriteFile(path+".ok", nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// load writes the preset's organisation into the empty database db.
func load(b *testing.B, preset, name, db string, opts gen.LoadOptions) {
	b.Helper()
	org := gen.Generate(presetConfig(b, preset))
	b.Logf("loading %s: %s", name, org.Stats())
	start := time.Now()
	store := openStore(b, db)
	if err := org.LoadWith(context.Background(), store, roster.SystemClock{}, opts); err != nil {
		store.Close()
		b.Fatal(err)
	}
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %s in %s (not measured)", name, time.Since(start).Round(time.Second))
}

// copyDB copies a database no server has open: a closed SQLite file to a
// fresh temporary path, or a PostgreSQL database to a new one (CREATE
// DATABASE ... TEMPLATE), dropped when the benchmark ends.
func copyDB(b *testing.B, src string) string {
	b.Helper()
	if isPostgres(src) {
		return pgCreate(b, pgName(src))
	}
	dst := filepath.Join(b.TempDir(), "roster.db")
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}

// start starts a server on db with background work off. An apply may take
// up to three hours to be answered (the server's default is 15 minutes): on
// a loaded machine the baseline of BenchmarkEnableByApply took 79 minutes,
// and its answer was lost.
func start(b *testing.B, db string) *server.Server {
	return startWith(b, server.Config{DB: db, SchedulerTick: -1, NotifierTick: -1})
}

// serving starts a server on db as `roster serve` runs one: its scheduler,
// change-driven syncs, notifier and reminders running at their default ticks.
func serving(b *testing.B, db string) *server.Server {
	return startWith(b, server.Config{DB: db})
}

func startWith(b *testing.B, cfg server.Config) *server.Server {
	b.Helper()
	cfg.Addr, cfg.BootstrapToken, cfg.Logger, cfg.HTTP = "127.0.0.1:0", benchToken, benchLogger, server.HTTPLimits{Apply: 3 * time.Hour}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// maxRSS returns the process's peak resident set (VmHWM) in MiB, 0 where
// /proc is missing. It covers the whole process, SQLite's own memory
// included, since it started.
func maxRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// countRows counts the memberships and the tasks in the database, with a
// count of each table: listing them page by page through the store took
// minutes at a million users, twice a run.
func countRows(b *testing.B, db string) (members, tasks int) {
	b.Helper()
	n := queryCounts(b, db, map[string]string{"members": `SELECT count(*) FROM members`, "tasks": `SELECT count(*) FROM tasks`})
	return n["members"], n["tasks"]
}

// BenchmarkSteadyStateSyncAll times a sync of every profile of an
// organisation that is already in sync, so nothing changes: the engine's
// SyncAll called directly as the admin (no HTTP), on SQLite. A server in the
// steady state runs this pass again and again; the first pass after the
// server starts also pays once for reading the database's pages into memory
// and preparing statements. So the first pass is timed on its own (first-s),
// and the passes after it are the measurement (s/sync-all). It also reports
// the peak live heap and the process's peak resident set.
//
// The presets small-expr, medium-expr and large-expr are small, medium and
// large with a third of the profiles' rules written as attribute expressions
// (gen.Config.ExpressionEvery), of about the same sizes as the rules they
// replace: the same number of memberships and tasks to keep in sync.
func BenchmarkSteadyStateSyncAll(b *testing.B) {
	for _, preset := range presets(b, "small", "medium", "large", "small-expr", "medium-expr", "large-expr") {
		b.Run(preset, func(b *testing.B) {
			db := loaded(b, preset, gen.LoadOptions{State: gen.Synced, History: true})
			membersBefore, tasksBefore := countRows(b, db)
			s := start(b, db)
			admin := roster.NewContext(context.Background(), roster.AdminUser)
			runtime.GC()
			stop := heap.Peak()
			t0 := time.Now()
			if _, err := s.Engine.SyncAll(admin); err != nil {
				b.Fatal(err)
			}
			first := time.Since(t0)
			b.ResetTimer()
			var results []roster.SyncResult
			for i := 0; i < b.N; i++ {
				var err error
				if results, err = s.Engine.SyncAll(admin); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peak := stop()
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/sync-all")
			b.ReportMetric(first.Seconds(), "first-s")
			b.ReportMetric(peak, "peak-heap-MiB")
			b.ReportMetric(maxRSS(), "max-rss-MiB")
			b.ReportMetric(float64(len(results)), "profiles")
			reportBackendRSS(b, db)
			for _, r := range results {
				if len(r.Enrolled)+len(r.Unenrolled)+len(r.Cancelled)+r.TasksCreated > 0 || r.Paused {
					b.Fatalf("profile %s was not in a steady state: %+v", r.Profile, r)
				}
			}
			s.Close(context.Background())
			if m, t := countRows(b, db); m != membersBefore || t != tasksBefore {
				b.Fatalf("the sync changed the organisation: %d members and %d tasks before, %d and %d after", membersBefore, tasksBefore, m, t)
			}
		})
	}
}

// BenchmarkApplyFile times `roster apply` of the generated declarative file
// into an empty SQLite database through the real server and HTTP client, the
// syncs of the file's profiles included (every policy is auto, so they
// enroll every matching user and grant their access). A file whose request
// exceeds the server's apply body limit cannot go through HTTP; it is then
// applied through the same server's engine in process, and the sub-benchmark
// is named .../engine instead of .../http.
//
// With ROSTER_BENCH_APPLY=data the profiles' automation is written disabled:
// the benchmark then times the load of the file's data alone, without the
// first syncs (which BenchmarkEnableAtOnce measures).
func BenchmarkApplyFile(b *testing.B) {
	dataOnly := os.Getenv("ROSTER_BENCH_APPLY") == "data"
	for _, preset := range presets(b, "small", "medium", "large") {
		org := gen.Generate(presetConfig(b, preset))
		var buf bytes.Buffer
		if err := org.WriteYAML(&buf); err != nil {
			b.Fatal(err)
		}
		doc := buf.Bytes()
		if dataOnly {
			doc = bytes.ReplaceAll(doc, []byte("automation: {enabled: true,"), []byte("automation: {enabled: false,"))
		}
		via := "http"
		if len(doc) > rosterhttp.MaxApplyBodySize {
			via = "engine"
			b.Logf("%s: the file is %d MiB: over the server's %d MiB limit (http.MaxApplyBodySize), so it is applied through the engine in process",
				preset, len(doc)>>20, rosterhttp.MaxApplyBodySize>>20)
		}
		stats := org.Stats()
		b.Run(preset+"/"+via, func(b *testing.B) {
			b.Logf("%s, file %d MiB", stats, len(doc)>>20)
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := freshDB(b)
				s := start(b, db)
				client := rosterhttp.NewClient(s.URL, benchToken)
				req := roster.ApplyRequest{Filename: preset + ".yaml", Document: doc}
				b.StartTimer()
				t0 := time.Now()
				var res *roster.ApplyResult
				var err error
				if via == "http" {
					res, err = client.Apply(context.Background(), req)
				} else {
					res, err = s.Engine.Apply(roster.NewContext(context.Background(), roster.AdminUser), req)
				}
				elapsed += time.Since(t0)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				want := len(org.Profiles)
				if dataOnly {
					want = 0
				}
				if len(res.Synced) != want {
					b.Fatalf("apply synced %d profiles, want %d", len(res.Synced), want)
				}
				// The all-employees group, found through the grants'
				// entitlement index (which a large apply builds anew).
				everyone := org.EntitlementID(len(org.Departments))
				if page, err := client.Grants(context.Background(), roster.GrantFilter{Entitlement: everyone, Limit: 10}); err != nil || len(page.Items) == 0 {
					b.Fatalf("grants of %s after the apply: %v, %v", everyone, page, err)
				}
				reportBackendRSS(b, db)
				s.Close(context.Background())
			}
			sec := elapsed.Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/apply")
			b.ReportMetric(float64(stats.Users)/sec, "users/s")
			b.ReportMetric(float64(stats.Grants)/sec, "grants/s")
			b.ReportMetric(maxRSS(), "max-rss-MiB")
		})
	}
}

// BenchmarkEnableAtOnce times the first sync of every profile of an
// organisation whose profiles were all just enabled (20k users, 300
// profiles, every policy auto): the engine's SyncAll as the admin, until
// every enrollment and its access tasks are done — with auto policies they
// complete inside the sync, which is checked afterwards.
func BenchmarkEnableAtOnce(b *testing.B) {
	for _, preset := range presets(b, "small20k") {
		b.Run(preset, func(b *testing.B) {
			org := gen.Generate(presetConfig(b, preset))
			want := org.Stats().Members
			src := loaded(b, preset, gen.LoadOptions{State: gen.Unsynced})
			tasks := 0
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := copyDB(b, src)
				s := start(b, db)
				admin := roster.NewContext(context.Background(), roster.AdminUser)
				b.StartTimer()
				t0 := time.Now()
				results, err := s.Engine.SyncAll(admin)
				elapsed += time.Since(t0)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range results {
					tasks += r.TasksCreated
				}
				open, err := s.Engine.Tasks(admin, roster.TaskFilter{OpenOnly: true, Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				if len(open.Items) > 0 {
					b.Fatalf("a task is still open after the sync: %+v", open.Items[0])
				}
				s.Close(context.Background())
				if members, _ := countRows(b, db); members != want {
					b.Fatalf("%d members after the sync, want %d", members, want)
				}
			}
			sec := elapsed.Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/enable")
			b.ReportMetric(float64(tasks)/elapsed.Seconds(), "tasks/s")
			b.ReportMetric(float64(tasks)/float64(b.N), "tasks")
		})
	}
}

// BenchmarkEnableByApply times what issue 18 tried as a new user would: an
// organisation whose profiles exist with their automation off (dense20k:
// 20k users, 330k grants, 1,000 entitlements, 300 profiles whose rules name
// popular entitlements, two thirds sync_and_act with auto policies, one
// third members-only) has every profile switched on by one `roster apply`
// through the real server, running its background work as `roster serve`
// does, and HTTP client. As the command does, it asks for the plan first
// (its summary is printed before the apply), then applies; the apply
// returns once every profile's first sync is done, and with auto policies
// every enrollment and its access is settled inside it, which is checked
// afterwards: no open task, the memberships and tasks the generator counts,
// and as many tasks planned. It reports the time of both (s/enable; plan-s
// is the plan's part), tasks/s, and the process's peak resident set during
// both (peak-rss-MiB: the peak is reset just before, so the generation and
// the load are not in it) — the server runs in the process; the client's
// share is the responses.
func BenchmarkEnableByApply(b *testing.B) {
	for _, preset := range presets(b, "dense20k", "small20k") {
		b.Run(preset, func(b *testing.B) {
			org := gen.Generate(presetConfig(b, preset))
			stats := org.Stats()
			var buf bytes.Buffer
			if err := org.WriteProfilesYAML(&buf); err != nil {
				b.Fatal(err)
			}
			doc := buf.Bytes()
			src := loaded(b, preset, gen.LoadOptions{State: gen.Off})
			b.Logf("%s", stats)
			tasks := 0
			var elapsed, planned time.Duration
			var peak float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := copyDB(b, src)
				s := serving(b, db)
				client := rosterhttp.NewClient(s.URL, benchToken)
				runtime.GC()
				resetPeakRSS()
				b.StartTimer()
				t0 := time.Now()
				req := roster.ApplyRequest{Filename: preset + "-profiles.yaml", Document: doc}
				plan, err := client.Plan(context.Background(), planAsApplyDoes(req))
				if err != nil {
					b.Fatal(err)
				}
				planned += time.Since(t0)
				res, err := client.Apply(context.Background(), req)
				elapsed += time.Since(t0)
				b.StopTimer()
				peak = max(peak, maxRSS())
				if err != nil {
					b.Fatal(err)
				}
				if n := plannedTasks(plan); n != stats.Tasks {
					b.Fatalf("the plan says the apply creates %d tasks, want %d", n, stats.Tasks)
				}
				if len(res.Synced) != len(org.Profiles) {
					b.Fatalf("apply synced %d profiles, want %d", len(res.Synced), len(org.Profiles))
				}
				created := 0
				for _, r := range res.Synced {
					created += r.TasksCreated
				}
				tasks += created
				reportBackendRSS(b, db)
				s.Close(context.Background())
				got := countSQL(b, db, map[string]string{
					"members":    `SELECT count(*) FROM members`,
					"tasks":      `SELECT count(*) FROM tasks`,
					"open tasks": `SELECT count(*) FROM tasks WHERE state NOT IN ('done', 'denied', 'cancelled', 'failed')`,
				})
				want := map[string]int{"members": stats.Members, "tasks": stats.Tasks, "open tasks": 0}
				for what, n := range want {
					if got[what] != n {
						b.Fatalf("%d %s after the apply, want %d (%v)", got[what], what, n, got)
					}
				}
				if created != stats.Tasks {
					b.Fatalf("the apply's syncs say they created %d tasks, want %d", created, stats.Tasks)
				}
			}
			sec := elapsed.Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/enable")
			b.ReportMetric(planned.Seconds()/float64(b.N), "plan-s")
			b.ReportMetric(float64(tasks)/elapsed.Seconds(), "tasks/s")
			b.ReportMetric(float64(tasks)/float64(b.N), "tasks")
			b.ReportMetric(peak, "peak-rss-MiB")
		})
	}
}

// planAsApplyDoes is the plan request `roster apply` makes before it
// applies req: its summary (cli/apply.go).
func planAsApplyDoes(req roster.ApplyRequest) roster.ApplyRequest {
	req.Summary = true
	return req
}

// plannedTasks counts the tasks a plan says its apply creates.
func plannedTasks(plan *roster.ChangePlan) int {
	n := 0
	for _, p := range plan.Profiles {
		n += p.Counts.Tasks
	}
	return n
}

// resetPeakRSS resets the process's peak resident set (VmHWM), so that
// maxRSS then reports the peak since; where Linux's clear_refs is missing
// the peak stays the process's.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// countSQL runs counting queries on a database no server has open and
// returns their results by name.
func countSQL(b *testing.B, db string, queries map[string]string) map[string]int {
	b.Helper()
	return queryCounts(b, db, queries)
}

// BenchmarkListLargeData times the first page (100 items) of `roster task
// list` and `roster grant list` filtered by user and by entitlement, through
// the HTTP client, on a synced organisation with its task history. The user
// is the one with the most memberships; the entitlement the all-employees
// group (held by everyone) for grants and the most popular profile content for
// tasks.
func BenchmarkListLargeData(b *testing.B) {
	for _, preset := range presets(b, "small", "medium", "large") {
		b.Run(preset, func(b *testing.B) {
			org := gen.Generate(presetConfig(b, preset))
			db := loaded(b, preset, gen.LoadOptions{State: gen.Synced, History: true})
			user, content := busiest(org)
			allEmployees := org.EntitlementID(len(org.Departments))
			s := start(b, db)
			client := rosterhttp.NewClient(s.URL, benchToken)
			ctx := context.Background()
			for _, q := range []struct {
				name string
				list func() (int, error)
			}{
				{"tasks-by-user", func() (int, error) {
					p, err := client.Tasks(ctx, roster.TaskFilter{User: user})
					return lenOf(p, err)
				}},
				{"tasks-by-entitlement", func() (int, error) {
					p, err := client.Tasks(ctx, roster.TaskFilter{Entitlement: content})
					return lenOf(p, err)
				}},
				{"grants-by-user", func() (int, error) {
					p, err := client.Grants(ctx, roster.GrantFilter{User: user})
					return lenOf(p, err)
				}},
				{"grants-by-entitlement", func() (int, error) {
					p, err := client.Grants(ctx, roster.GrantFilter{Entitlement: allEmployees})
					return lenOf(p, err)
				}},
			} {
				b.Run(q.name, func(b *testing.B) {
					const pages = 20
					n := 0
					for i := 0; i < b.N; i++ {
						for j := 0; j < pages; j++ {
							got, err := q.list()
							if err != nil {
								b.Fatal(err)
							}
							n = got
						}
					}
					if n == 0 {
						b.Fatalf("%s listed nothing", q.name)
					}
					b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*pages), "ms/page")
					b.ReportMetric(float64(n), "items")
				})
			}
		})
	}
}

func lenOf[T any](p *roster.Page[T], err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return len(p.Items), nil
}

// busiest returns the user with the most memberships and the profile content
// entitlement the most members receive.
func busiest(org *gen.Org) (user, content string) {
	members := org.Members()
	perUser := make([]int, len(org.Users))
	perEnt := map[int32]int{}
	for p, ms := range members {
		for _, u := range ms {
			perUser[u]++
		}
		for _, e := range org.Profiles[p].Content {
			perEnt[e] += len(ms)
		}
	}
	u := 0
	for i, n := range perUser {
		if n > perUser[u] {
			u = i
		}
	}
	var best int32 = -1
	for e, n := range perEnt {
		if best < 0 || n > perEnt[best] || (n == perEnt[best] && e < best) {
			best = e
		}
	}
	return gen.UserID(u), org.EntitlementID(int(best))
}
