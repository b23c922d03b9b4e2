package difftest

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/sqlite"
)

var (
	flagSeeds = flag.Int("difftest.seeds", 0, "also run this many random seeds (ROSTER_DIFF_SEEDS)")
	flagSteps = flag.Int("difftest.steps", 0, "steps per seed (ROSTER_DIFF_STEPS; default 120)")
	flagSeed  = flag.Uint64("difftest.seed", 0, "run only this seed (ROSTER_DIFF_SEED)")
)

// ciSeeds run in `go test ./...`; pgSeeds, a shorter list, on PostgreSQL too.
var (
	ciSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	pgSeeds = []uint64{1, 2, 3, 4}
)

// defaultSteps is how many steps a seed runs unless told otherwise.
const defaultSteps = 120

func envInt(name string, flagValue int) int {
	if flagValue != 0 {
		return flagValue
	}
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// seeds returns the seeds to run: the given list, unless a seed was named,
// and as many random ones as asked for.
func seeds(fixed []uint64) []uint64 {
	if *flagSeed != 0 {
		return []uint64{*flagSeed}
	}
	if s, err := strconv.ParseUint(os.Getenv("ROSTER_DIFF_SEED"), 10, 64); err == nil && s != 0 {
		return []uint64{s}
	}
	out := slices.Clone(fixed)
	if n := envInt("ROSTER_DIFF_SEEDS", *flagSeeds); n > 0 {
		base := uint64(time.Now().UnixNano())
		for i := range n {
			out = append(out, base+uint64(i)*7919)
		}
	}
	return out
}

func steps() int {
	if n := envInt("ROSTER_DIFF_STEPS", *flagSteps); n > 0 {
		return n
	}
	return defaultSteps
}

// opener opens a fresh, empty store for one run; the run closes it.
type opener func(t *testing.T) roster.Store

func sqliteStore(t *testing.T) roster.Store {
	dir, err := os.MkdirTemp(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func postgresStore(t *testing.T) roster.Store {
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDifferentialSQLite runs the fixed seeds against the engine on SQLite.
func TestDifferentialSQLite(t *testing.T) {
	for _, seed := range seeds(ciSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSeed(t, sqliteStore, seed, steps(), 0) })
	}
}

// TestDifferentialInPartsSQLite runs some of the fixed seeds with a sync
// chunk of one unit of work: every sync commits in parts, and the
// organisation's apply, which switches on all its profiles, syncs them a
// range of users at a time (engine/sweep.go) — the model syncs them one
// after another.
func TestDifferentialInPartsSQLite(t *testing.T) {
	for _, seed := range seeds(ciSeeds[:min(8, len(ciSeeds))]) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSeed(t, sqliteStore, seed, steps(), 1) })
	}
}

// TestDifferentialPostgres runs a shorter list of seeds against the engine
// on PostgreSQL.
func TestDifferentialPostgres(t *testing.T) {
	for _, seed := range seeds(pgSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSeed(t, postgresStore, seed, steps(), 0) })
	}
}

// runSeed generates the seed's organisation and steps, runs them against
// model and engine, and on a difference shrinks the step list and reports.
func runSeed(t *testing.T, open opener, seed uint64, n, chunk int) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	o := genOrg(r)
	// The steps are chosen against a model of their own, so that they suit
	// the state each one meets.
	gen := newModel(o.clone(), start)
	gen.initial()
	var list []step
	stats := map[string]int{}
	for range n {
		s := genStep(r, gen)
		out := gen.step(s)
		list = append(list, s)
		stats[s.Op+taskNote(s)+outcomeNote(out)]++
	}
	t.Logf("seed %d: %d users, %d profiles; steps: %v", seed, len(o.users()), len(o.profiles), stats)
	at, diff := run(t, open, o, list, chunk)
	if diff == "" {
		return
	}
	failing := list[:at+1]
	shrunk := shrink(t, open, o, failing, chunk)
	_, diff = run(t, open, o, shrunk, chunk)
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: the engine and the model differ after step %d of %d (0: the organisation's apply).\n", seed, at+1, len(list))
	fmt.Fprintf(&b, "Reproduce: go test ./difftest -run '%s' -difftest.seed=%d -difftest.steps=%d\n", t.Name()[:strings.Index(t.Name(), "/")], seed, n)
	fmt.Fprintf(&b, "Organisation:\n%s\n", o.document())
	fmt.Fprintf(&b, "Steps (shrunk from %d to %d):\n", at+1, len(shrunk))
	for i, s := range shrunk {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	fmt.Fprintf(&b, "First difference (after the last step):\n%s", diff)
	t.Fatal(b.String())
}

// start is when every run begins.
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// shrink drops steps from a failing list while it still fails, a chunk at a
// time, then one at a time; it gives up after a bounded number of runs.
func shrink(t *testing.T, open opener, o *org, list []step, chunk int) []step {
	runs := 0
	const maxRuns = 150
	for chunk := len(list) / 2; chunk >= 1 && runs < maxRuns; chunk /= 2 {
		for i := 0; i+chunk <= len(list) && runs < maxRuns; {
			cand := append(slices.Clone(list[:i]), list[i+chunk:]...)
			runs++
			if at, d := run(t, open, o, cand, chunk); d != "" {
				list = cand[:at+1]
				continue
			}
			i += chunk
		}
	}
	return list
}

// world is one engine on a fresh store beside the model of the same
// organisation.
type world struct {
	t     *testing.T
	svc   roster.Service
	clock *roster.ManualClock
	m     *model
	ctx   context.Context
}

// run replays list on a new engine and a new model; it returns the index of
// the first step after which they differ (-1: the organisation's apply),
// and the difference, or "".
func run(t *testing.T, open opener, o *org, list []step, chunk int) (int, string) {
	t.Helper()
	w, closeStore := newWorld(t, open, o.clone(), chunk)
	defer closeStore()
	if d := w.compare(); d != "" {
		return -1, "after the initial apply:\n" + d
	}
	for i, s := range list {
		if d := w.step(s); d != "" {
			return i, fmt.Sprintf("step %d (%s): %s", i+1, s, d)
		}
		if d := w.compare(); d != "" {
			return i, fmt.Sprintf("after step %d (%s):\n%s", i+1, s, d)
		}
	}
	return 0, ""
}

func newWorld(t *testing.T, open opener, o *org, chunk int) (*world, func()) {
	ctx := context.Background()
	clock := roster.NewManualClock(start)
	store := open(t)
	e := engine.New(engine.Config{Store: store, Clock: clock, SyncChunk: chunk})
	if _, err := e.Bootstrap(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, svc: e, clock: clock, m: newModel(o, start), ctx: roster.NewContext(ctx, roster.AdminUser)}
	if _, err := e.Apply(w.ctx, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(o.document())}); err != nil {
		t.Fatalf("apply the organisation: %v\n%s", err, o.document())
	}
	w.m.initial()
	return w, func() { store.Close() }
}

// initial is what applying the organisation's file does: grants recorded,
// exclusions recorded, then each profile saved enabled synced in turn.
func (m *model) initial() {
	for _, g := range m.org.initial {
		m.grants[gkey{g[0], g[1]}] = true
	}
	for _, p := range m.org.profiles {
		for _, u := range p.excluded {
			m.recordExclusion(p, u)
		}
	}
	for _, p := range m.org.profiles {
		if m.org.runs(p) {
			m.sync(p)
		}
	}
}

// outcome is what the model says a step should answer: an error code (""
// for none, "error" for any error), and for syncs their result.
type outcome struct {
	code   string
	skip   bool
	result *syncResult
	task   *mtask
	// results are SyncAll's, in profile order.
	results []syncResult
}

// step applies s to the model and reports what the engine should answer.
func (m *model) step(s step) outcome {
	p := m.org.profile(s.Profile)
	switch s.Op {
	case opGrant:
		if strings.HasPrefix(s.Ent, roster.BuiltinApp+"/") {
			return outcome{code: roster.EINVALID} // membership goes through enrollment
		}
		m.grants[gkey{s.User, s.Ent}] = true
	case opRevoke:
		if !m.holds(s.User, s.Ent) {
			return outcome{code: roster.ENOTFOUND}
		}
		delete(m.grants, gkey{s.User, s.Ent})
	case opDisable, opEnable:
		m.active[s.User] = s.Op == opEnable
	case opDepartment:
		if m.org.dept[s.User] == s.Dept {
			return outcome{skip: true}
		}
		m.org.dept[s.User] = s.Dept
	case opExclude:
		if slices.Contains(p.excluded, s.User) {
			return outcome{skip: true}
		}
		m.exclude(p, s.User)
	case opInclude:
		if !slices.Contains(p.excluded, s.User) {
			return outcome{skip: true}
		}
		m.include(p, s.User)
	case opAddContent:
		if p.contains(s.Ent) {
			return outcome{skip: true}
		}
		m.addContent(p, s.Ent)
	case opRemoveContent:
		if !p.contains(s.Ent) {
			return outcome{skip: true}
		}
		m.removeContent(p, s.Ent)
	case opEnroll:
		if !m.active[s.User] || m.member(p.id, s.User) || m.open(roster.TaskGrant, s.User, roster.EnrollmentEntitlement(p.id)) != nil {
			return outcome{code: "error"}
		}
		m.createTask(roster.TaskGrant, s.User, roster.EnrollmentEntitlement(p.id), roster.OriginManual, p.id, p.enrollPolicy)
	case opUnenroll:
		_, member := m.members[p.id][s.User]
		switch {
		case !member:
			return outcome{code: roster.EINVALID}
		case m.open(roster.TaskRevoke, s.User, roster.EnrollmentEntitlement(p.id)) != nil:
			return outcome{code: roster.ECONFLICT}
		case !s.Exclude && p.enabled && m.matches(p, s.User):
			// SPEC §2: refused (409), the next sync would enroll them again.
			// The spec says so of an automation member; a manual member
			// whom the rule matches is refused too, for the same reason (the
			// sync would enroll them again, by the rule): see doc.go.
			return outcome{code: roster.ECONFLICT}
		}
		if s.Exclude && !slices.Contains(p.excluded, s.User) {
			// Excluded from the moment it is saved; the admin unenrolls by
			// hand, which is no edit of the automation: no sync, no resume.
			p.excluded = append(p.excluded, s.User)
			m.recordExclusion(p, s.User)
		}
		m.createTask(roster.TaskRevoke, s.User, roster.EnrollmentEntitlement(p.id), roster.OriginManual, p.id, p.unenrollPolicy)
	case opApprove, opDeny:
		t := m.open(s.Kind, s.User, s.Ent)
		if t == nil {
			return outcome{skip: true}
		}
		if s.Actor != "" && s.Actor != t.approver {
			// Only a current approver decides; the subject never does
			// (SPEC §1 policy, §4).
			if !m.active[s.Actor] {
				return outcome{code: "error"}
			}
			return outcome{code: roster.EFORBIDDEN}
		}
		if s.Op == opApprove {
			m.done(t)
		} else {
			m.deny(t)
		}
		return outcome{task: t}
	case opSync:
		if !m.org.runs(p) {
			return outcome{code: roster.ECONFLICT}
		}
		r := m.sync(p)
		return outcome{result: &r}
	case opSyncAll:
		if m.org.automationsOff {
			return outcome{code: roster.ECONFLICT}
		}
		var rs []syncResult
		for _, p := range m.org.profiles {
			if p.enabled {
				rs = append(rs, m.sync(p))
			}
		}
		return outcome{results: rs}
	case opResume:
		if m.paused[p.id] == nil || !m.org.runs(p) {
			return outcome{code: roster.ECONFLICT}
		}
		r := m.resume(p)
		return outcome{result: &r}
	case opTime:
		m.now = m.now.Add(time.Duration(s.Minutes) * time.Minute)
	case opRequest:
		switch {
		case !m.active[s.User]:
			return outcome{code: "error"} // a disabled user cannot act
		case !p.allowRequests:
			return outcome{code: roster.EFORBIDDEN}
		case m.member(p.id, s.User) || m.open(roster.TaskGrant, s.User, roster.EnrollmentEntitlement(p.id)) != nil:
			return outcome{code: "error"}
		}
		m.createTask(roster.TaskGrant, s.User, roster.EnrollmentEntitlement(p.id), roster.OriginManual, p.id, p.enrollPolicy)
	case opSettings:
		m.org.minMembers, m.org.maxPercent = s.Minutes, s.Percent
	case opKillSwitch:
		if m.org.automationsOff == !s.On {
			return outcome{skip: true}
		}
		m.org.automationsOff = !s.On
	case opConfig:
		c := s.Config
		if p.enrollPolicy == c.enrollPolicy && p.enrollBypass == c.enrollBypass && p.unenrollPolicy == c.unenrollPolicy &&
			p.unenrollBypass == c.unenrollBypass && p.access == c.access {
			return outcome{skip: true}
		}
		p.enrollPolicy, p.enrollBypass, p.unenrollPolicy, p.unenrollBypass, p.access = c.enrollPolicy, c.enrollBypass, c.unenrollPolicy, c.unenrollBypass, c.access
	case opAutomation:
		c := s.Config
		if p.enabled == c.enabled && p.mode == c.mode && slices.Equal(p.rule, c.rule) && p.expr == c.expr && p.safeguard == c.safeguard && p.exclusionPolicy == c.exclusionPolicy {
			return outcome{skip: true}
		}
		p.enabled, p.mode, p.rule, p.expr, p.safeguard, p.exclusionPolicy = c.enabled, c.mode, slices.Clone(c.rule), c.expr, c.safeguard, c.exclusionPolicy
		m.automationSaved(p)
	}
	return outcome{}
}

// taskNote says what a decision decides on, for the counts a verbose run
// logs.
func taskNote(s step) string {
	switch {
	case s.Op != opApprove && s.Op != opDeny:
		return ""
	case strings.HasSuffix(s.Ent, ".excluded"):
		return "[exclusion " + string(s.Kind) + "]"
	case strings.HasPrefix(s.Ent, roster.BuiltinApp+"/"):
		return "[enrollment " + string(s.Kind) + "]"
	}
	return "[access " + string(s.Kind) + "]"
}

// outcomeNote says in a word what a step came to, for the counts a verbose
// run logs.
func outcomeNote(o outcome) string {
	switch {
	case o.skip:
		return "(skipped)"
	case o.code != "":
		return "(refused)"
	case o.result != nil && o.result.paused:
		return "(paused)"
	}
	for _, r := range o.results {
		if r.paused {
			return "(paused)"
		}
	}
	return ""
}

// step runs s on the model and the engine and compares their answers.
func (w *world) step(s step) string {
	// The approver is whom the model's task names, read before the step.
	var approver string
	if t := w.m.open(s.Kind, s.User, s.Ent); t != nil {
		approver = t.approver
	}
	want := w.m.step(s)
	if want.skip {
		return ""
	}
	var err error
	var got *roster.SyncResult
	var gotAll []roster.SyncResult
	ctx := w.ctx
	switch s.Op {
	case opGrant:
		_, err = w.svc.AddGrant(ctx, s.User, s.Ent)
	case opRevoke:
		err = w.svc.RemoveGrant(ctx, s.User, s.Ent)
	case opDisable, opEnable:
		err = w.apply("users:\n  - " + w.m.org.userDoc(s.User, s.Op == opEnable) + "\n")
	case opDepartment:
		err = w.apply("users:\n  - " + w.m.org.userDoc(s.User, w.m.active[s.User]) + "\n")
	case opExclude, opInclude, opAddContent, opRemoveContent, opConfig, opAutomation:
		err = w.apply("profiles:\n" + w.m.org.profile(s.Profile).doc())
	case opKillSwitch:
		err = w.apply(fmt.Sprintf("settings:\n  automations_enabled: %t\n", s.On))
	case opSettings:
		err = w.apply(fmt.Sprintf("settings:\n  safeguard: {min_members: %d, max_removal_percent: %d}\n", s.Minutes, s.Percent))
	case opRequest:
		_, err = w.svc.RequestProfile(roster.NewContext(context.Background(), s.User), s.Profile, "")
	case opEnroll:
		_, err = w.svc.Enroll(ctx, s.Profile, []string{s.User}, "")
	case opUnenroll:
		_, err = w.svc.Unenroll(ctx, s.Profile, []string{s.User}, "", s.Exclude)
	case opApprove, opDeny:
		page, lerr := w.svc.Tasks(ctx, roster.TaskFilter{Kind: s.Kind, User: s.User, Entitlement: s.Ent, OpenOnly: true})
		if lerr != nil {
			return fmt.Sprintf("list tasks: %v", lerr)
		}
		if len(page.Items) != 1 {
			return fmt.Sprintf("the model has an open %s task of %s on %s; the engine has %d", s.Kind, s.User, s.Ent, len(page.Items))
		}
		actor := approver
		if s.Actor != "" {
			actor = s.Actor
		}
		as := roster.NewContext(context.Background(), actor)
		if s.Op == opApprove {
			_, err = w.svc.ApproveTask(as, page.Items[0].ID, "")
		} else {
			_, err = w.svc.DenyTask(as, page.Items[0].ID, "")
		}
		if s.Actor != "" && s.Actor != approver {
			break // the answer is compared below
		}
		if err != nil {
			return fmt.Sprintf("%s by %s (the model's approver; the engine's: %v): %v", s.Op, approver, page.Items[0].Approvers, err)
		}
		// A denied exclusion is withdrawn and the profile re-syncs: the
		// engine marks it for its change-driven sync, which this test does
		// not run in the background, so the re-sync is asked for here.
		if p := w.m.org.profile(page.Items[0].Profile); s.Op == opDeny && s.Kind == roster.TaskGrant && p != nil &&
			s.Ent == roster.ExclusionEntitlement(p.id) && w.m.org.runs(p) {
			if _, err := w.svc.Sync(ctx, p.id); err != nil {
				return fmt.Sprintf("the re-sync after a denied exclusion: %v", err)
			}
		}
	case opSync:
		got, err = w.svc.Sync(ctx, s.Profile)
	case opSyncAll:
		gotAll, err = w.svc.SyncAll(ctx)
	case opResume:
		got, err = w.svc.Resume(ctx, s.Profile)
	case opTime:
		w.clock.Advance(time.Duration(s.Minutes) * time.Minute)
	}
	code := roster.ErrorCode(err)
	if err == nil {
		code = ""
	}
	switch {
	case want.code == "" && err != nil:
		return fmt.Sprintf("the engine refused (%s): %v; the model expects it to succeed", code, err)
	case want.code != "" && err == nil:
		return fmt.Sprintf("the engine succeeded; the model expects a refusal (%s)", want.code)
	case want.code != "" && want.code != "error" && code != want.code:
		return fmt.Sprintf("the engine refused with %s (%v); the model expects %s", code, err, want.code)
	}
	if want.result != nil && got != nil {
		if d := compareResult(*want.result, *got); d != "" {
			return d
		}
	}
	if want.results != nil || gotAll != nil {
		if len(want.results) != len(gotAll) {
			return fmt.Sprintf("sync-all synced %d profiles; the model expects %d", len(gotAll), len(want.results))
		}
		for i := range gotAll {
			if d := compareResult(want.results[i], gotAll[i]); d != "" {
				return gotAll[i].Profile + ": " + d
			}
		}
	}
	return ""
}

func compareResult(want syncResult, got roster.SyncResult) string {
	if want.paused != got.Paused {
		return fmt.Sprintf("sync paused: engine %t, model %t", got.Paused, want.paused)
	}
	if !want.paused && (!sameSet(want.enrolled, got.Enrolled) || !sameSet(want.unenrolled, got.Unenrolled)) {
		return fmt.Sprintf("sync enrolled %v and unenrolled %v; the model expects %v and %v", got.Enrolled, got.Unenrolled, want.enrolled, want.unenrolled)
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func (w *world) apply(doc string) error {
	_, err := w.svc.Apply(w.ctx, roster.ApplyRequest{Filename: "step.yaml", Document: []byte(doc)})
	return err
}

// compare reads the engine's state and the model's and returns their
// differences, or "".
func (w *world) compare() string {
	got, err := w.observe()
	if err != nil {
		return "read the engine's state: " + err.Error()
	}
	return diffLines(w.m.observe(), got)
}

// observe lists the engine's state as lines: members with their source,
// pending enrollments, automation state and staged plan, open tasks, and
// grants with their sources.
func (w *world) observe() ([]string, error) {
	var out []string
	for _, p := range w.m.org.profiles {
		v, err := w.svc.Profile(w.ctx, p.id)
		if err != nil {
			return nil, err
		}
		for _, m := range v.Members {
			out = append(out, fmt.Sprintf("member %s %s (%s)", p.id, m.User, m.Source))
		}
		for _, pe := range v.PendingEnrollments {
			out = append(out, fmt.Sprintf("pending enrollment %s %s", p.id, pe.User))
		}
		st := v.Automation.State
		if st == "" {
			st = roster.AutomationActive
		}
		out = append(out, fmt.Sprintf("automation %s %s", p.id, st))
		if st == roster.AutomationPaused {
			out = append(out, fmt.Sprintf("staged %s enroll %v unenroll %v", p.id, sorted(v.Automation.Staged.Enroll), sorted(v.Automation.Staged.Unenroll)))
		}
	}
	f := roster.TaskFilter{OpenOnly: true, Limit: roster.MaxPageSize}
	for {
		page, err := w.svc.Tasks(w.ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			out = append(out, fmt.Sprintf("task %s %s %s %s", t.Kind, t.User, t.Entitlement, t.State))
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	g := roster.GrantFilter{Limit: roster.MaxPageSize}
	for {
		page, err := w.svc.Grants(w.ctx, g)
		if err != nil {
			return nil, err
		}
		for _, gr := range page.Items {
			out = append(out, grantLine(gr.User, gr.Entitlement, gr.Sources))
		}
		if g.Cursor = page.NextCursor; g.Cursor == "" {
			break
		}
	}
	sort.Strings(out)
	return out, nil
}

// grantLine describes a grant; the built-in entitlements (membership and the
// record of an exclusion) by their presence only.
func grantLine(user, ent string, sources []string) string {
	if strings.HasPrefix(ent, roster.BuiltinApp+"/") {
		return fmt.Sprintf("grant %s %s", user, ent)
	}
	return fmt.Sprintf("grant %s %s %v", user, ent, sorted(sources))
}

func sorted(xs []string) []string {
	xs = slices.Clone(xs)
	sort.Strings(xs)
	if xs == nil {
		xs = []string{}
	}
	return xs
}

// observe lists the model's state as the engine's observe does.
func (m *model) observe() []string {
	var out []string
	for _, p := range m.org.profiles {
		for _, u := range m.sortedMembers(p.id) {
			out = append(out, fmt.Sprintf("member %s %s (%s)", p.id, u, m.members[p.id][u]))
			out = append(out, grantLine(u, roster.EnrollmentEntitlement(p.id), nil))
		}
		state := roster.AutomationActive
		if st := m.paused[p.id]; st != nil {
			state = roster.AutomationPaused
			out = append(out, fmt.Sprintf("staged %s enroll %v unenroll %v", p.id, sorted(st.enroll), sorted(st.unenroll)))
		}
		out = append(out, fmt.Sprintf("automation %s %s", p.id, state))
	}
	for _, t := range m.tasks {
		if !t.state.Open() {
			continue
		}
		out = append(out, fmt.Sprintf("task %s %s %s %s", t.kind, t.user, t.ent, t.state))
		if t.kind == roster.TaskGrant && t.ent == roster.EnrollmentEntitlement(t.profile) {
			out = append(out, fmt.Sprintf("pending enrollment %s %s", t.profile, t.user))
		}
	}
	for k := range m.grants {
		out = append(out, grantLine(k.user, k.ent, m.sources(k.user, k.ent)))
	}
	sort.Strings(out)
	return out
}

// diffLines lists the lines only the model has and those only the engine
// has.
func diffLines(model, engine []string) string {
	var b strings.Builder
	i, j := 0, 0
	for i < len(model) || j < len(engine) {
		switch {
		case j >= len(engine) || (i < len(model) && model[i] < engine[j]):
			fmt.Fprintf(&b, "  model only:  %s\n", model[i])
			i++
		case i >= len(model) || engine[j] < model[i]:
			fmt.Fprintf(&b, "  engine only: %s\n", engine[j])
			j++
		default:
			i++
			j++
		}
	}
	return b.String()
}
