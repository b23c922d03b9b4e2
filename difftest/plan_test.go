package difftest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
)

// The plan's exactness: on random organisations brought to a random state by
// random steps, a random change made by a file (a user disabled or enabled,
// an exclusion added or lifted, contents added or removed, the enrollment
// and unenrollment settings, the automation and its rule, the safeguard's
// thresholds, the kill switch) is planned, then applied, then the
// change-driven sync runs until no profile is marked; the enrollments,
// unenrollments, tasks and pauses that came of it must be exactly the
// plan's, and the plan must have changed nothing.

// planSeeds are the seeds TestPlanIsExactSQLite runs.
var planSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}

// fileOps are the steps that apply a file.
var fileOps = []string{opDisable, opEnable, opDepartment, opExclude, opInclude, opAddContent, opRemoveContent, opConfig, opAutomation, opSettings, opKillSwitch}

func TestPlanIsExactSQLite(t *testing.T) {
	seen := map[string]int{}
	for _, seed := range seeds(planSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { planSeed(t, sqliteStore, seed, 6, seen) })
	}
	t.Logf("planned: %v", seen)
	// Every kind of change was planned, and plans that enroll, unenroll,
	// create tasks, end grants and pause were all checked.
	for _, k := range append(slices.Clone(fileOps), "enroll", "unenroll", "task", "revoke", "paused") {
		if seen[k] == 0 && !t.Failed() {
			t.Errorf("no trial planned %q", k)
		}
	}
}

func TestPlanIsExactPostgres(t *testing.T) {
	seen := map[string]int{}
	for _, seed := range seeds(pgSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { planSeed(t, postgresStore, seed, 2, seen) })
	}
	t.Logf("planned: %v", seen)
}

// planSeed generates the seed's organisation and 60 steps, and checks the
// plan of trials of the steps that apply a file, each on a fresh engine that
// has run the steps before it.
func planSeed(t *testing.T, open opener, seed uint64, trials int, seen map[string]int) {
	r := rand.New(rand.NewPCG(seed, seed^0x91a4))
	o := genOrg(r)
	gen := newModel(o.clone(), start)
	gen.initial()
	var list []step
	var at []int
	for i := range 60 {
		s := genStep(r, gen)
		gen.step(s)
		list = append(list, s)
		if slices.Contains(fileOps, s.Op) {
			at = append(at, i)
		}
	}
	r.Shuffle(len(at), func(i, j int) { at[i], at[j] = at[j], at[i] })
	for _, i := range at[:min(trials, len(at))] {
		if d := planTrial(t, open, o, list[:i], list[i], seen); d != "" {
			t.Fatalf("seed %d, the plan of step %d (%s) after %d steps was not what its apply did:\n%s\nOrganisation:\n%s\nSteps: %v",
				seed, i+1, list[i], i, d, o.document(), list[:i+1])
		}
	}
}

// planTrial runs prefix on a fresh engine, then plans, applies and settles
// the file of s, and returns how what happened differs from the plan.
func planTrial(t *testing.T, open opener, o *org, prefix []step, s step, seen map[string]int) string {
	w, e, closeStore := newPlanWorld(t, open, o.clone())
	defer closeStore()
	for _, p := range prefix {
		w.step(p)
	}
	if w.m.step(s).skip {
		return ""
	}
	doc := w.fileOf(s)
	req := roster.ApplyRequest{Filename: "step.yaml", Document: []byte(doc)}

	before, err := w.observe()
	if err != nil {
		return err.Error()
	}
	lastTask, lastEvent := w.lastTask(), w.lastEvent()
	plan, perr := e.Plan(w.ctx, req)
	summaryReq := req
	summaryReq.Summary = true
	summary, serr := e.Plan(w.ctx, summaryReq)
	if (perr == nil) != (serr == nil) {
		return fmt.Sprintf("plan error %v, summary's error %v", perr, serr)
	} else if perr == nil {
		if d := summaryDiffers(plan, summary); d != "" {
			return "the summary is not the plan's: " + d
		}
	}
	after, err := w.observe()
	if err != nil {
		return err.Error()
	}
	if !slices.Equal(before, after) || w.lastEvent() != lastEvent || w.lastTask() != lastTask {
		return "the plan changed something:\n" + diffLines(before, after)
	}
	_, aerr := e.Apply(w.ctx, req)
	if (perr == nil) != (aerr == nil) {
		return fmt.Sprintf("plan error %v, apply error %v", perr, aerr)
	} else if perr != nil {
		return ""
	}
	changes := engine.NewChangeSync(e, time.Hour)
	for range 50 {
		n, err := changes.RunOnce(w.ctx)
		if err != nil {
			return "change-driven sync: " + err.Error()
		}
		if n == 0 {
			break
		}
	}

	want, got := planLines(plan), w.happened(lastTask, lastEvent)
	seen[s.Op]++
	for _, l := range want {
		seen[strings.Fields(l)[0]]++
	}
	if d := diffLines(want, got); d != "" {
		return "file:\n" + doc + "lines only in the plan, then only in what happened:\n" + d
	}
	return ""
}

// newPlanWorld is newWorld, keeping the engine.
func newPlanWorld(t *testing.T, open opener, o *org) (*world, *engine.Engine, func()) {
	w, closeStore := newWorld(t, open, o, 0)
	return w, w.svc.(*engine.Engine), closeStore
}

// fileOf returns the file a step that applies one applies, as world.step
// writes it (the model has taken the step).
func (w *world) fileOf(s step) string {
	switch s.Op {
	case opDisable, opEnable:
		return "users:\n  - " + w.m.org.userDoc(s.User, s.Op == opEnable) + "\n"
	case opDepartment:
		return "users:\n  - " + w.m.org.userDoc(s.User, w.m.active[s.User]) + "\n"
	case opKillSwitch:
		return fmt.Sprintf("settings:\n  automations_enabled: %t\n", s.On)
	case opSettings:
		return fmt.Sprintf("settings:\n  safeguard: {min_members: %d, max_removal_percent: %d}\n", s.Minutes, s.Percent)
	}
	return "profiles:\n" + w.m.org.profile(s.Profile).doc()
}

// summaryDiffers says how a plan asked for in summary differs from the
// full plan's counts: each profile's counts are its lists' lengths, the
// people losing access are LosingAccess's, the verdicts are the same, and
// the summary lists nothing.
func summaryDiffers(full, summary *roster.ChangePlan) string {
	if !summary.Summary || full.Summary {
		return fmt.Sprintf("summary flags %t (summary) and %t (full)", summary.Summary, full.Summary)
	}
	if n := len(full.LosingAccess()); full.Losing != n || summary.Losing != n {
		return fmt.Sprintf("%d losing access, the plan says %d, the summary %d", n, full.Losing, summary.Losing)
	}
	if len(full.Profiles) != len(summary.Profiles) {
		return fmt.Sprintf("%d profiles, the summary %d", len(full.Profiles), len(summary.Profiles))
	}
	for i, f := range full.Profiles {
		sp := summary.Profiles[i]
		want := roster.PlanCounts{Enroll: len(f.Enroll), Unenroll: len(f.Unenroll), Tasks: len(f.Tasks), Revoke: len(f.Revoke)}
		if f.Counts != want || sp.Counts != want || sp.Profile != f.Profile {
			return fmt.Sprintf("profile %s: lists %+v, counts %+v, summary's (%s) %+v", f.Profile, want, f.Counts, sp.Profile, sp.Counts)
		}
		if len(sp.Enroll)+len(sp.Unenroll)+len(sp.Tasks)+len(sp.Revoke)+len(sp.Why) > 0 {
			return fmt.Sprintf("profile %s: the summary lists %+v", f.Profile, sp)
		}
		if (f.Safeguard == nil) != (sp.Safeguard == nil) || f.Safeguard != nil && *f.Safeguard != *sp.Safeguard {
			return fmt.Sprintf("profile %s: safeguard %+v, the summary's %+v", f.Profile, f.Safeguard, sp.Safeguard)
		}
	}
	if len(summary.Names) > 0 {
		return "the summary names users"
	}
	return ""
}

// planLines describes a plan as the lines happened reads from the engine.
func planLines(p *roster.ChangePlan) []string {
	var out []string
	for _, pp := range p.Profiles {
		for _, u := range pp.Enroll {
			out = append(out, "enroll "+pp.Profile+" "+u)
		}
		for _, u := range pp.Unenroll {
			out = append(out, "unenroll "+pp.Profile+" "+u)
		}
		if pp.Paused() {
			out = append(out, "paused "+pp.Profile)
		}
		for _, t := range pp.Tasks {
			out = append(out, taskLine(pp.Profile, t.Kind, t.User, t.Entitlement, t.Origin, t.Approvers))
		}
		for _, r := range pp.Revoke {
			out = append(out, "revoke "+r.User+" "+r.Entitlement)
		}
	}
	slices.Sort(out)
	return out
}

func taskLine(profile string, kind roster.TaskKind, user, ent string, origin roster.Origin, approvers []string) string {
	return fmt.Sprintf("task %s %s %s %s (%s) approvers %v", profile, kind, user, ent, origin, sorted(approvers))
}

// happened reads what the engine did since task lastTask and event
// lastEvent: each sync's enrollments and unenrollments, each pause with its
// staged plan, and each task created.
func (w *world) happened(lastTask, lastEvent int64) []string {
	var out []string
	for _, ev := range w.eventsSince(lastEvent) {
		var d struct {
			Enrolled   []string `json:"enrolled"`
			Unenrolled []string `json:"unenrolled"`
		}
		var staged struct {
			Enroll   []string `json:"staged_enroll"`
			Unenroll []string `json:"staged_unenroll"`
		}
		switch ev.Action {
		case roster.ActionProfileSynced:
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				w.t.Fatal(err)
			}
		case roster.ActionSafeguardPaused:
			if err := json.Unmarshal(ev.Data, &staged); err != nil {
				w.t.Fatal(err)
			}
			d.Enrolled, d.Unenrolled = staged.Enroll, staged.Unenroll
			out = append(out, "paused "+ev.ObjectID)
		default:
			continue
		}
		for _, u := range d.Enrolled {
			out = append(out, "enroll "+ev.ObjectID+" "+u)
		}
		for _, u := range d.Unenrolled {
			out = append(out, "unenroll "+ev.ObjectID+" "+u)
		}
	}
	f := roster.TaskFilter{Limit: roster.MaxPageSize}
	for {
		page, err := w.svc.Tasks(w.ctx, f)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, t := range page.Items {
			if t.ID <= lastTask {
				continue
			}
			out = append(out, taskLine(t.Profile, t.Kind, t.User, t.Entitlement, t.Origin, t.Approvers))
			if t.Kind == roster.TaskRevoke && !strings.HasPrefix(t.Entitlement, roster.BuiltinApp+"/") {
				out = append(out, "revoke "+t.User+" "+t.Entitlement)
			}
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	slices.Sort(out)
	return out
}

func (w *world) eventsSince(last int64) []roster.Event {
	var out []roster.Event
	err := w.svc.ExportEvents(w.ctx, time.Time{}, func(ev *roster.Event) error {
		if ev.ID > last {
			out = append(out, *ev)
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) lastEvent() int64 {
	evs := w.eventsSince(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

func (w *world) lastTask() int64 {
	var last int64
	f := roster.TaskFilter{Limit: roster.MaxPageSize}
	for {
		page, err := w.svc.Tasks(w.ctx, f)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, t := range page.Items {
			last = max(last, t.ID)
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	return last
}
