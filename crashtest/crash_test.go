package crashtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// backend is one kind of database the server can run on.
type backend struct {
	name string
	// newDB returns the --db argument of a new, empty database.
	newDB func(t *testing.T) string
	// open opens a database through its store, to check the invariants.
	open func(ctx context.Context, db string) (roster.Store, error)
	// rerun is the command that runs the test again, after
	// ROSTER_CRASH_POINTS=….
	rerun string
	// seals is how many kill points to add at the first commits that seal
	// audit events, before and after, on a store that queues them.
	seals int
}

// Failpoints the kill points use (see internal/failpoint).
const (
	commitBefore = "commit.before"
	commitAfter  = "commit.after"
	// The commits that seal queued audit events (PostgreSQL), counted
	// apart: the sealer runs in the background, when it is woken.
	sealBefore = "seal.before"
	sealAfter  = "seal.after"
)

// killPoint is where an armed server kills itself: right before or right
// after its N-th read-write commit. Its String is the ROSTER_FAILPOINT value.
type killPoint struct {
	failpoint string
	n         int
}

func (k killPoint) String() string { return fmt.Sprintf("%s:%d", k.failpoint, k.n) }

func parseKillPoint(s string) (killPoint, error) {
	name, num, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || (name != commitBefore && name != commitAfter && name != sealBefore && name != sealAfter) {
		return killPoint{}, fmt.Errorf("kill point %q: want commit.before:N, commit.after:N, seal.before:N or seal.after:N with N ≥ 1", s)
	}
	return killPoint{name, n}, nil
}

// startupCommits is how many read-write commits a new server makes before the
// workload's first call: the bootstrap and the leases the scheduler and the
// notifier take when they start.
const startupCommits = 3

// defaultCount is how many kill points a test runs without
// ROSTER_CRASH_COUNT.
const defaultCount = 100

// reference is the outcome of the unarmed run every crash run must match.
type reference struct {
	outcome []string
	// commits holds the step of each read-write commit of a full run from
	// a new database, startup included; commits[i] is commit number i+1.
	commits []string
}

// runReference runs the workload twice on a new database without any
// failpoint and returns its outcome: the first run counts the commits, the
// second proves that running the workload again from the start, as a crash
// run does, leads to the same outcome.
func runReference(t *testing.T, b backend) *reference {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := b.newDB(t)
	p, err := startServer(ctx, db, "")
	if err != nil {
		t.Fatalf("reference run: %v", err)
	}
	defer p.kill()
	w := newWorkload()
	w.attach(p)
	if err := w.run(ctx); err != nil {
		t.Fatalf("reference run: %v\nserver log:\n%s", err, p.stderr)
	}
	ref := &reference{}
	for range startupCommits {
		ref.commits = append(ref.commits, phaseStartup+": bootstrap and leases")
	}
	ref.commits = append(ref.commits, w.commits...)
	if err := w.quiet(ctx); err != nil {
		t.Fatalf("reference run: %v", err)
	}
	if total := countCommits(t, b, len(ref.commits)); total != len(ref.commits) {
		// A call committed more often than the workload accounts for:
		// the steps of the commits are unknown, so the points are spread
		// evenly over all of them.
		t.Logf("%s: the workload's calls account for %d read-write commits, but an armed run shows %d: an action may now span several commits (or the notifier took its 5s lease during the run)", b.name, len(ref.commits), total)
		ref.commits = slices.Repeat([]string{"unknown: step not known"}, total)
	}
	once := mustState(t, ctx, b, db, "reference run")
	if v := once.violations(); len(v) > 0 {
		t.Fatalf("the reference run, without any crash, breaks the invariants:%s", indent(v))
	}
	if err := w.run(ctx); err != nil {
		t.Fatalf("reference run, second time: %v\nserver log:\n%s", err, p.stderr)
	}
	if err := w.quiet(ctx); err != nil {
		t.Fatalf("reference run, second time: %v", err)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("reference run: %v", err)
	}
	twice := mustState(t, ctx, b, db, "reference run, second time")
	if v := twice.violations(); len(v) > 0 {
		t.Fatalf("the reference run, run a second time without any crash, breaks the invariants:%s", indent(v))
	}
	if d := diffOutcome(once.outcome(), twice.outcome()); len(d) > 0 {
		t.Fatalf("running the workload again changes its outcome, so crash runs cannot be compared with it:%s", indent(d))
	}
	ref.outcome = twice.outcome()
	return ref
}

// countCommits checks the workload's own count of the read-write commits of
// a full run, counted, with an armed run at commit.before:counted+1, which
// must finish the workload. When it dies instead, countCommits finds the real
// count by bisection over armed runs.
func countCommits(t *testing.T, b backend, counted int) int {
	t.Helper()
	dies := func(n int) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		k := killPoint{commitBefore, n}
		p, err := startServer(ctx, b.newDB(t), k.String())
		if errors.Is(err, errDied) {
			return true
		} else if err != nil {
			t.Fatalf("counting commits with %s: %v", k, err)
		}
		defer p.kill()
		w := newWorkload()
		w.attach(p)
		err = w.run(ctx)
		var c *crashed
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("counting commits with %s: %v\nserver log:\n%s", k, err, p.stderr)
		}
		return err != nil
	}
	lo, hi := counted, counted+1 // the commit lo exists; hi is the first not known to
	for dies(hi) {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; dies(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func mustState(t *testing.T, ctx context.Context, b backend, db, what string) *state {
	t.Helper()
	s, err := readState(ctx, b, db)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return s
}

// choosePoints returns the kill points to run: those ROSTER_CRASH_POINTS
// names, or ROSTER_CRASH_COUNT (default 100) points over the commits of the
// reference run. Every commit of apply, sync and grant removal is killed both
// before and after (they are few, and a sync or an apply is one transaction
// of many changes); the remaining points are spread evenly over all the
// commits, before and after alike.
func choosePoints(t *testing.T, ref *reference) []killPoint {
	t.Helper()
	if env := os.Getenv("ROSTER_CRASH_POINTS"); env != "" {
		var out []killPoint
		for _, s := range strings.Split(env, ",") {
			k, err := parseKillPoint(s)
			if err != nil {
				t.Fatalf("ROSTER_CRASH_POINTS: %v", err)
			}
			out = append(out, k)
		}
		return out
	}
	count := defaultCount
	if env := os.Getenv("ROSTER_CRASH_COUNT"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil || n <= 0 {
			t.Fatalf("ROSTER_CRASH_COUNT=%q: want a positive number", env)
		}
		count = n
	}
	var all, focus []killPoint
	for i, step := range ref.commits {
		for _, fp := range []string{commitBefore, commitAfter} {
			k := killPoint{fp, i + 1}
			all = append(all, k)
			if phase, _, _ := strings.Cut(step, ":"); phase == phaseApply || phase == phaseSync || phase == phaseGrants {
				focus = append(focus, k)
			}
		}
	}
	picked := map[killPoint]bool{}
	if len(focus) <= count/2 {
		for _, k := range focus {
			picked[k] = true
		}
	}
	var rest []killPoint
	for _, k := range all {
		if !picked[k] {
			rest = append(rest, k)
		}
	}
	need := min(count-len(picked), len(rest))
	for j := range need {
		picked[rest[j*len(rest)/need]] = true
	}
	var out []killPoint
	for _, k := range all {
		if picked[k] {
			out = append(out, k)
		}
	}
	return out
}

// pointResult is what one kill point did.
type pointResult struct {
	point killPoint
	// died says whether the armed server died; phase and step say what the
	// workload was doing then.
	died        bool
	phase, step string
}

// testCrash runs the kill points on backend b: for each, an armed server runs
// the workload until it dies, a server without failpoint on the same database
// runs the workload again to completion, and the store must then satisfy the
// invariants and hold the reference run's outcome.
func testCrash(t *testing.T, b backend) {
	start := time.Now()
	ref := runReference(t, b)
	points := choosePoints(t, ref)
	if os.Getenv("ROSTER_CRASH_POINTS") == "" {
		for n := 1; n <= b.seals; n++ {
			points = append(points, killPoint{sealBefore, n}, killPoint{sealAfter, n})
		}
	}
	t.Logf("%s: the workload makes %d read-write commits (%d at startup); running %d kill points",
		b.name, len(ref.commits), startupCommits, len(points))

	var mu sync.Mutex
	var results []pointResult
	t.Run("points", func(t *testing.T) {
		for _, k := range points {
			t.Run(k.String(), func(t *testing.T) {
				t.Parallel()
				r := runPoint(t, b, ref, k)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	})

	slices.SortFunc(results, func(a, b pointResult) int { return a.point.n - b.point.n })
	var lines []string
	byPhase := map[string]int{}
	killed := 0
	for _, r := range results {
		if !r.died {
			lines = append(lines, fmt.Sprintf("%-20s not a kill point: the workload finished first", r.point))
			continue
		}
		killed++
		byPhase[r.phase]++
		lines = append(lines, fmt.Sprintf("%-20s died in %s: %s", r.point, r.phase, r.step))
	}
	var summary []string
	for _, p := range phases {
		if byPhase[p] > 0 {
			summary = append(summary, fmt.Sprintf("%s %d", p, byPhase[p]))
		}
	}
	t.Logf("%s: %d kill points exercised (%s), %d not kill points, in %s:%s",
		b.name, killed, strings.Join(summary, ", "), len(results)-killed, time.Since(start).Round(time.Second), indent(lines))
	if len(results) > 0 && killed == 0 {
		t.Errorf("%s: no kill point killed the server: does the %s store call failpoint.Inject(\"commit.before\") and (\"commit.after\") around its commits?", b.name, b.name)
	}
}

// runPoint runs one kill point and checks the invariants after it.
func runPoint(t *testing.T, b backend, ref *reference, k killPoint) pointResult {
	res := pointResult{point: k}
	rerun := fmt.Sprintf("rerun just this point: ROSTER_CRASH_POINTS=%s %s", k, b.rerun)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := b.newDB(t)
	w := newWorkload()

	armed, err := startServer(ctx, db, k.String())
	switch {
	case errors.Is(err, errDied):
		res.died, res.phase, res.step = true, phaseStartup, "bootstrap and leases"
	case err != nil:
		t.Fatalf("kill point %s: %v\n%s", k, err, rerun)
	default:
		defer armed.kill()
		w.attach(armed)
		err := w.run(ctx)
		var c *crashed
		switch {
		case errors.As(err, &c):
			res.died, res.phase, res.step = true, c.phase, c.step
		case err != nil:
			t.Fatalf("kill point %s: the workload failed on the armed server: %v\nserver log:\n%s\n%s", k, err, armed.stderr, rerun)
		default:
			return res // not a kill point
		}
	}

	srv, err := startServer(ctx, db, "")
	if err != nil {
		t.Fatalf("kill point %s (died in %s: %s): restart: %v\n%s", k, res.phase, res.step, err, rerun)
	}
	defer srv.kill()
	w.attach(srv)
	if err := w.run(ctx); err != nil {
		t.Fatalf("kill point %s (died in %s: %s): the workload failed after the restart: %v\nserver log:\n%s\n%s", k, res.phase, res.step, err, srv.stderr, rerun)
	}
	if err := w.quiet(ctx); err != nil {
		t.Errorf("kill point %s (died in %s: %s): %v\n%s", k, res.phase, res.step, err, rerun)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("kill point %s: %v\n%s", k, err, rerun)
	}
	s, err := readState(ctx, b, db)
	if err != nil {
		t.Fatalf("kill point %s: %v\n%s", k, err, rerun)
	}
	if v := s.violations(); len(v) > 0 {
		t.Errorf("kill point %s (the server died in %s: %s) breaks the invariants:%s\n%s", k, res.phase, res.step, indent(v), rerun)
	}
	if d := diffOutcome(ref.outcome, s.outcome()); len(d) > 0 {
		t.Errorf("kill point %s (the server died in %s: %s) changes the outcome (- reference, + after the crash):%s\n%s", k, res.phase, res.step, indent(d), rerun)
	}
	return res
}
