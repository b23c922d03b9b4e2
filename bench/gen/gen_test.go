package gen_test

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/declarative"
	"github.com/rosterhq/roster/rule"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/sqlite"
)

// tiny is small enough to load and apply under -race in a few seconds.
var tiny = gen.Config{Users: 300, Apps: 6, Entitlements: 60, Profiles: 12, GrantsPerUser: 8, Seed: 7}

// tinyDense is tiny shaped like Dense20k: popular rules, contents from a
// wider band, and members-only profiles.
var tinyDense = gen.Config{Users: 300, Apps: 6, Entitlements: 60, Profiles: 12, GrantsPerUser: 8, Seed: 7,
	RuleRanks: [2]float64{0.02, 0.2}, ContentRanks: [2]float64{0.1, 1}, MaxContent: 6, MembersOnlyPercent: 40}

var epoch = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := gen.Generate(gen.Small), gen.Generate(gen.Small)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same config generated two different organisations")
	}
	var ya, yb bytes.Buffer
	if err := a.WriteYAML(&ya); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteYAML(&yb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ya.Bytes(), yb.Bytes()) {
		t.Fatal("the same config wrote two different files")
	}
	other := gen.Small
	other.Seed++
	if reflect.DeepEqual(a.Grants, gen.Generate(other).Grants) {
		t.Fatal("another seed generated the same grants")
	}
}

func TestGenerateCounts(t *testing.T) {
	for _, cfg := range []gen.Config{gen.Small, tiny} {
		o := gen.Generate(cfg)
		s := o.Stats()
		t.Logf("%+v", s)
		if s.Users != cfg.Users || len(o.Profiles) != cfg.Profiles || s.Entitlements != cfg.Entitlements {
			t.Errorf("got %d users, %d profiles, %d entitlements; want %d, %d, %d", s.Users, len(o.Profiles), s.Entitlements, cfg.Users, cfg.Profiles, cfg.Entitlements)
		}
		if mean := float64(s.Grants) / float64(s.Users); mean < 0.9*cfg.GrantsPerUser || mean > 1.1*cfg.GrantsPerUser {
			t.Errorf("%.1f grants per user, want about %.0f", mean, cfg.GrantsPerUser)
		}
		if pct := 100 * float64(s.Disabled) / float64(s.Users); pct < 0.2 || pct > 3 {
			t.Errorf("%.1f%% of users disabled, want about 1%%", pct)
		}
		if len(o.Departments) != 12 {
			t.Errorf("%d departments, want 12", len(o.Departments))
		}
		for u, gs := range o.Grants {
			if !slices.IsSorted(gs) || len(slices.Compact(slices.Clone(gs))) != len(gs) {
				t.Fatalf("grants of user %d are not sorted and unique: %v", u, gs)
			}
		}
		for i, p := range o.Profiles {
			if len(p.Rule) < 1 || len(p.Rule) > 3 || len(p.Content) < 1 || len(p.Content) > 4 {
				t.Errorf("profile %d has %d rule and %d content entitlements, want 1-3 and 1-4", i, len(p.Rule), len(p.Content))
			}
		}
	}
}

func TestPopularityIsSkewed(t *testing.T) {
	o := gen.Generate(gen.Small)
	h := o.Holders()
	var counts []int
	for _, e := range o.Popularity {
		counts = append(counts, h[e])
	}
	slices.Sort(counts)
	top, median := counts[len(counts)-1], counts[len(counts)/2]
	t.Logf("top entitlement held by %d users, median by %d", top, median)
	if top < 10*median {
		t.Errorf("top entitlement held by %d users, median by %d: want a Zipf-like skew (top ≥ 10× median)", top, median)
	}
	if all := h[len(o.Departments)]; all != len(o.Users) {
		t.Errorf("the all-employees group has %d holders, want every user (%d)", all, len(o.Users))
	}
}

func TestManagerTree(t *testing.T) {
	o := gen.Generate(gen.Small)
	roots, maxDepth := 0, 0
	reports := make([]int, len(o.Users))
	for i, u := range o.Users {
		if u.Manager < 0 {
			roots++
			continue
		}
		reports[u.Manager]++
		// Walking up must reach the root within len(Users) steps: no cycles.
		d := 0
		for m := u.Manager; m >= 0; m = o.Users[m].Manager {
			if d++; d > len(o.Users) {
				t.Fatalf("user %d: the manager chain has a cycle", i)
			}
		}
		maxDepth = max(maxDepth, d)
	}
	if roots != 1 || o.Users[0].Manager != -1 {
		t.Fatalf("%d users without a manager, want one CEO (user 0)", roots)
	}
	if maxDepth < 3 || maxDepth > 7 {
		t.Errorf("tree depth %d, want 3-7 for %d users", maxDepth, len(o.Users))
	}
	for m, n := range reports {
		if n > 8 {
			t.Errorf("user %d has %d reports, want at most 8", m, n)
		}
	}
}

func TestYAMLParses(t *testing.T) {
	o := gen.Generate(gen.Small)
	var buf bytes.Buffer
	if err := o.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	doc, err := declarative.Parse("small.yaml", buf.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Users) != len(o.Users) || len(doc.Grants) != o.NumGrants() || len(doc.Profiles) != len(o.Profiles) ||
		len(doc.Entitlements) != o.Config.Entitlements || len(doc.Apps) != o.Config.Apps {
		t.Fatalf("parsed %d users, %d grants, %d profiles, %d entitlements, %d apps; want %d, %d, %d, %d, %d",
			len(doc.Users), len(doc.Grants), len(doc.Profiles), len(doc.Entitlements), len(doc.Apps),
			len(o.Users), o.NumGrants(), len(o.Profiles), o.Config.Entitlements, o.Config.Apps)
	}
	now := epoch
	for i := range doc.Profiles {
		got, want := doc.Profiles[i], *o.Profile(i, now)
		got.Sync, want.Sync = roster.SyncState{}, roster.SyncState{}
		got.CreatedAt, got.UpdatedAt = now, now
		if len(got.Automation.ExcludedUsers) == 0 {
			got.Automation.ExcludedUsers = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("profile %d parses as\n%+v\nLoad writes\n%+v", i, got, want)
		}
	}
	for i := range doc.Users {
		got, want := doc.Users[i], *o.User(i, now)
		got.CreatedAt, got.UpdatedAt = now, now
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("user %d parses as %+v, Load writes %+v", i, got, want)
		}
	}
}

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// grantsOf reads every grant from the store, ordered by (user, entitlement).
func grantsOf(t *testing.T, store roster.Store) []roster.Grant {
	t.Helper()
	var out []roster.Grant
	err := store.View(context.Background(), func(tx roster.Tx) error {
		for f := (roster.GrantFilter{Limit: roster.MaxPageSize}); ; {
			page, err := tx.Grants(context.Background(), f)
			if err != nil {
				return err
			}
			out = append(out, page.Items...)
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				return nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadSynced(t *testing.T) {
	ctx := context.Background()
	o := gen.Generate(tiny)
	db := openDB(t)
	batches := 0
	opts := gen.LoadOptions{State: gen.Synced, History: true, BatchSize: 500, Progress: func(int) { batches++ }}
	if err := o.LoadWith(ctx, db, roster.NewManualClock(epoch), opts); err != nil {
		t.Fatal(err)
	}
	if batches < 2 {
		t.Errorf("loaded in %d transactions, want several of at most 500 objects", batches)
	}
	members := o.Members()
	err := db.View(ctx, func(tx roster.Tx) error {
		users, err := tx.AllUsers(ctx)
		if err != nil {
			return err
		}
		if len(users) != len(o.Users) {
			t.Errorf("%d users in the store, want %d", len(users), len(o.Users))
		}
		ps, err := tx.Profiles(ctx)
		if err != nil {
			return err
		}
		if len(ps) != len(o.Profiles) {
			t.Errorf("%d profiles in the store, want %d", len(ps), len(o.Profiles))
		}
		tasks, err := tx.Tasks(ctx, roster.TaskFilter{OpenOnly: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(tasks.Items) != 0 {
			t.Errorf("an open task after load: %+v", tasks.Items[0])
		}
		for i := range ps {
			p := &ps[i]
			if _, err := tx.Entitlement(ctx, roster.ExclusionEntitlement(p.ID)); err != nil {
				return err
			}
			ms, err := tx.Members(ctx, p.ID)
			if err != nil {
				return err
			}
			if len(ms) != len(members[i]) {
				t.Errorf("profile %s has %d members, want %d", p.ID, len(ms), len(members[i]))
			}
			in, err := planInput(ctx, tx, p, epoch)
			if err != nil {
				return err
			}
			if plan := roster.PlanSync(in); !plan.Empty() || plan.Pause {
				t.Errorf("profile %s: a sync of the synced state plans %+v", p.ID, plan)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := o.NumGrants()
	if got := len(grantsOf(t, db)); got <= want {
		t.Errorf("%d grants after a synced load, want more than the %d direct ones", got, want)
	}
}

// planInput builds the planner's view of one profile the way engine/sync.go's
// planInput does.
func planInput(ctx context.Context, tx roster.Tx, p *roster.Profile, now time.Time) (roster.PlanInput, error) {
	s, err := tx.Settings(ctx)
	if err != nil {
		return roster.PlanInput{}, err
	}
	in := roster.PlanInput{Profile: p.ID, Mode: p.Automation.Mode, Safeguard: p.Automation.Safeguard, Thresholds: s.Safeguard}
	holders, err := tx.Holders(ctx, p.Automation.AnyEntitlement)
	if err != nil {
		return in, err
	}
	users, err := tx.AllUsers(ctx)
	if err != nil {
		return in, err
	}
	active := map[string]bool{}
	for _, u := range users {
		if u.Active() {
			active[u.ID] = true
		} else {
			in.Disabled = append(in.Disabled, u.ID)
		}
	}
	for _, u := range holders {
		if active[u] && !slices.Contains(p.Automation.ExcludedUsers, u) {
			in.Matching = append(in.Matching, u)
		}
	}
	if in.Members, err = tx.Members(ctx, p.ID); err != nil {
		return in, err
	}
	open, err := tx.OpenTasks(ctx, roster.EnrollmentEntitlement(p.ID))
	if err != nil {
		return in, err
	}
	for _, t := range open {
		ot := roster.OpenTask{ID: t.ID, User: t.User, Origin: t.Origin}
		if t.Kind == roster.TaskGrant {
			in.OpenEnrollments = append(in.OpenEnrollments, ot)
		} else {
			in.OpenUnenrollments = append(in.OpenUnenrollments, ot)
		}
	}
	if in.Denials, err = tx.Denials(ctx, p.ID); err != nil {
		return in, err
	}
	in.RecentRemovals, err = tx.CountRemovals(ctx, p.ID, now.Add(-roster.SafeguardWindow))
	return in, err
}

// TestLoadSyncedMatchesApply applies the generated file through the real
// engine, which syncs every profile (all policies auto, so every enrollment
// and its access complete at once), and checks that a synced Load writes the
// same members and the same grants with the same sources; with a third of
// the rules written as expressions too.
func TestLoadSyncedMatchesApply(t *testing.T) {
	exprs := tiny
	exprs.ExpressionEvery = 3
	for name, cfg := range map[string]gen.Config{"rules": tiny, "expressions": exprs, "tinyDense": tinyDense} {
		t.Run(name, func(t *testing.T) { loadSyncedMatchesApply(t, cfg) })
	}
}

func loadSyncedMatchesApply(t *testing.T, cfg gen.Config) {
	ctx := context.Background()
	o := gen.Generate(cfg)
	if cfg.ExpressionEvery > 0 && o.Profiles[0].Expression == "" {
		t.Fatal("no profile has an expression")
	}
	var buf bytes.Buffer
	if err := o.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	appliedDB := filepath.Join(t.TempDir(), "applied.db")
	s, err := server.Start(ctx, server.Config{DB: appliedDB, Addr: "127.0.0.1:0",
		BootstrapToken: "t", SchedulerTick: -1, NotifierTick: -1, Clock: roster.NewManualClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	admin := roster.NewContext(ctx, roster.AdminUser)
	res, err := s.Engine.Apply(admin, roster.ApplyRequest{Filename: "tiny.yaml", Document: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Synced) != len(o.Profiles) {
		t.Fatalf("apply synced %d profiles, want %d", len(res.Synced), len(o.Profiles))
	}
	open, err := s.Engine.Tasks(admin, roster.TaskFilter{OpenOnly: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(open.Items) != 0 {
		t.Fatalf("an open task after apply: %+v", open.Items[0])
	}
	members := o.Members()
	for i := range o.Profiles {
		v, err := s.Engine.Profile(admin, gen.ProfileID(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Members) != len(members[i]) {
			t.Errorf("profile %s: apply made %d members, the generator says %d", v.ID, len(v.Members), len(members[i]))
		}
	}

	db := openDB(t)
	if err := o.LoadWith(ctx, db, roster.NewManualClock(epoch), gen.LoadOptions{State: gen.Synced}); err != nil {
		t.Fatal(err)
	}
	reader, err := sqlite.Open(ctx, appliedDB)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	applied := grantsOf(t, reader)
	loaded := grantsOf(t, db)
	key := func(gs []roster.Grant) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.User+" "+g.Entitlement+" "+strings.Join(g.Sources, ","))
		}
		return out
	}
	if a, l := key(applied), key(loaded); !slices.Equal(a, l) {
		n := min(len(a), len(l))
		for i := 0; i < n; i++ {
			if a[i] != l[i] {
				t.Fatalf("%d grants applied, %d loaded; first difference at %d: applied %q, loaded %q", len(a), len(l), i, a[i], l[i])
			}
		}
		t.Fatalf("%d grants applied, %d loaded", len(a), len(l))
	}
}

func TestDense20kShape(t *testing.T) {
	o := gen.Generate(gen.Dense20k)
	s := o.Stats()
	t.Log(s)
	membersOnly := 0
	for _, p := range o.Profiles {
		if p.MembersOnly {
			membersOnly++
		}
	}
	// Issue 18: 20k users, about 330k grants, 1,000 entitlements, 300
	// profiles, a third members-only; about 734k memberships and 2.09M tasks.
	if s.Users != 20_000 || s.Entitlements != 1_000 || s.Profiles != 300 {
		t.Errorf("%d users, %d entitlements, %d profiles; want 20,000, 1,000, 300", s.Users, s.Entitlements, s.Profiles)
	}
	if s.Grants < 310_000 || s.Grants > 350_000 {
		t.Errorf("%d direct grants, want about 330k", s.Grants)
	}
	if membersOnly < 80 || membersOnly > 120 {
		t.Errorf("%d members-only profiles, want about a third of 300", membersOnly)
	}
	if s.Members < 650_000 || s.Members > 820_000 || s.Tasks < 1_800_000 || s.Tasks > 2_300_000 {
		t.Errorf("%d memberships and %d tasks once synced, want about 734k and 2.09M", s.Members, s.Tasks)
	}
}

// TestSwitchOnByApply loads a dense organisation with its profiles off and
// switches them all on with WriteProfilesYAML's file: the syncs create the
// tasks Stats counts and make the members Members lists, and leave no task
// open.
func TestSwitchOnByApply(t *testing.T) {
	ctx := context.Background()
	o := gen.Generate(tinyDense)
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.LoadWith(ctx, db, roster.NewManualClock(epoch), gen.LoadOptions{State: gen.Off}); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx roster.Tx) error {
		ps, err := tx.Profiles(ctx)
		for _, p := range ps {
			if p.Automation.Enabled {
				t.Errorf("profile %s loaded with its automation on, want off", p.ID)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := server.Start(ctx, server.Config{DB: path, Addr: "127.0.0.1:0",
		BootstrapToken: "t", SchedulerTick: -1, NotifierTick: -1, Clock: roster.NewManualClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var buf bytes.Buffer
	if err := o.WriteProfilesYAML(&buf); err != nil {
		t.Fatal(err)
	}
	admin := roster.NewContext(ctx, roster.AdminUser)
	res, err := s.Engine.Apply(admin, roster.ApplyRequest{Filename: "profiles.yaml", Document: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	stats := o.Stats()
	created := 0
	for _, r := range res.Synced {
		created += r.TasksCreated
	}
	if len(res.Synced) != len(o.Profiles) || created != stats.Tasks {
		t.Fatalf("apply synced %d profiles creating %d tasks, want %d and %d", len(res.Synced), created, len(o.Profiles), stats.Tasks)
	}
	members := o.Members()
	total := 0
	for i, pr := range o.Profiles {
		v, err := s.Engine.Profile(admin, gen.ProfileID(i))
		if err != nil {
			t.Fatal(err)
		}
		total += len(v.Members)
		if len(v.Members) != len(members[i]) || len(v.PendingEnrollments) != 0 {
			t.Errorf("profile %s: %d members and %d pending, want %d and none", v.ID, len(v.Members), len(v.PendingEnrollments), len(members[i]))
		}
		if want := map[bool]string{true: roster.ModeSyncMembersOnly, false: roster.ModeSyncAndAct}[pr.MembersOnly]; v.Automation.Mode != want {
			t.Errorf("profile %s: mode %s, want %s", v.ID, v.Automation.Mode, want)
		}
	}
	if total != stats.Members {
		t.Errorf("%d memberships, Stats says %d", total, stats.Members)
	}
	page, err := s.Engine.Tasks(admin, roster.TaskFilter{Limit: roster.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor == "" && len(page.Items) != stats.Tasks {
		t.Errorf("%d tasks, Stats says %d", len(page.Items), stats.Tasks)
	}
	if open, err := s.Engine.Tasks(admin, roster.TaskFilter{OpenOnly: true, Limit: 1}); err != nil || len(open.Items) != 0 {
		t.Fatalf("open tasks after the apply: %v, %v", open, err)
	}
}

// TestExpressionsMatchCEL checks the generator's own count of who matches
// an attribute rule against the engine's CEL evaluation of the expression it
// writes, for every user of small with a third, and with all, of the
// profiles' rules written as expressions.
func TestExpressionsMatchCEL(t *testing.T) {
	all := gen.Small
	all.ExpressionEvery = 1
	third, _ := gen.Preset("small-expr")
	for name, cfg := range map[string]gen.Config{"third": third, "all": all} {
		t.Run(name, func(t *testing.T) {
			o := gen.Generate(cfg)
			members := o.Members()
			now := epoch
			users := make([]*rule.User, len(o.Users))
			for i := range o.Users {
				users[i] = rule.NewUser(o.User(i, now), nil, nil)
			}
			exprs, fields := 0, map[string]bool{}
			for p, pr := range o.Profiles {
				if (p%cfg.ExpressionEvery == 0) != (pr.Expression != "") || (pr.Expression != "") != (pr.Attr != nil) {
					t.Fatalf("profile %d: expression %q, attribute rule %v", p, pr.Expression, pr.Attr)
				}
				if pr.Expression == "" {
					continue
				}
				exprs++
				if len(pr.Rule) != 0 {
					t.Errorf("profile %d has an expression and rule entitlements %v", p, pr.Rule)
				}
				r, err := rule.Compile(pr.Expression)
				if err != nil {
					t.Fatalf("profile %d: %q: %v", p, pr.Expression, err)
				}
				for _, f := range r.Reads().Fields {
					fields[f] = true
				}
				var want []int32
				for i, u := range users {
					ok, err := r.Eval(u)
					if err != nil {
						t.Fatalf("profile %d, user %d: %v", p, i, err)
					}
					if ok && !o.Users[i].Disabled {
						want = append(want, int32(i))
					}
				}
				if !slices.Equal(members[p], want) {
					t.Errorf("profile %d (%s): the generator says %d members, CEL %d", p, pr.Expression, len(members[p]), len(want))
				}
			}
			if exprs != (len(o.Profiles)+cfg.ExpressionEvery-1)/cfg.ExpressionEvery {
				t.Errorf("%d expressions among %d profiles, every %d-th wanted", exprs, len(o.Profiles), cfg.ExpressionEvery)
			}
			for _, f := range []string{"department", "location", "employment_type", "title"} {
				if !fields[f] {
					t.Errorf("no expression reads %s", f)
				}
			}
		})
	}
}

// TestExpressionPresetsFair checks that writing a third of the rules as
// expressions keeps the organisation's size: medium-expr's memberships and
// tasks within a tenth of medium's, and the same for small (each
// expression is picked within a tenth of the rule it replaces).
func TestExpressionPresetsFair(t *testing.T) {
	for _, name := range []string{"small", "medium"} {
		plainCfg, _ := gen.Preset(name)
		exprCfg, err := gen.Preset(name + "-expr")
		if err != nil {
			t.Fatal(err)
		}
		plain, expr := gen.Generate(plainCfg).Stats(), gen.Generate(exprCfg).Stats()
		t.Logf("%s: %s", name, plain)
		t.Logf("%s-expr: %s", name, expr)
		for _, c := range []struct {
			what        string
			plain, expr int
		}{{"memberships", plain.Members, expr.Members}, {"tasks", plain.Tasks, expr.Tasks}, {"content grants", plain.ContentGrants, expr.ContentGrants}} {
			if r := float64(c.expr) / float64(c.plain); r < 0.9 || r > 1.1 {
				t.Errorf("%s-expr has %d %s, %s %d: %.2f×", name, c.expr, c.what, name, c.plain, r)
			}
		}
		if plain.Grants != expr.Grants || plain.Users != expr.Users {
			t.Errorf("%s-expr has %d users and %d grants, %s %d and %d", name, expr.Users, expr.Grants, name, plain.Users, plain.Grants)
		}
	}
}
