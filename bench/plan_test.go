package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	rosterhttp "github.com/rosterhq/roster/http"
)

// BenchmarkPlanRuleChange times `roster plan` of a rule change through the
// real server and HTTP client, on SQLite, on an organisation in the steady
// state: a profile takes the rule of the next larger profile, so the plan
// enrolls the one's members, unenrolls the other's and creates their tasks
// (every policy auto: enrollments and their access are granted at once,
// removals revoked) — all of it rolled back. "median" changes the profile of
// median size, "largest" the largest one (the plan then does the work of a
// mass change). The first plan after the server starts is timed on its own
// (first-s); the plans after it are the measurement (s/plan). It checks
// that nothing changed.
func BenchmarkPlanRuleChange(b *testing.B) {
	for _, preset := range presets(b, "small", "medium", "large") {
		for _, which := range []string{"median", "largest"} {
			b.Run(preset+"/"+which, func(b *testing.B) { benchmarkPlanRuleChange(b, preset, which) })
		}
	}
}

func benchmarkPlanRuleChange(b *testing.B, preset, which string) {
	org := gen.Generate(presetConfig(b, preset))
	db := loaded(b, preset, gen.LoadOptions{State: gen.Synced, History: true})
	membersBefore, tasksBefore := countRows(b, db)
	members := org.Members()
	bySize := make([]int, len(members))
	for p := range bySize {
		bySize[p] = p
	}
	slices.SortStableFunc(bySize, func(x, y int) int { return len(members[x]) - len(members[y]) })
	i := len(bySize) / 2
	if which == "largest" {
		i = len(bySize) - 1
	}
	// The next larger profile whose rule differs; the largest takes the
	// rule of the next smaller one.
	j := i + 1
	if which == "largest" {
		j = i - 1
	}
	for slices.Equal(org.Profiles[bySize[j]].Rule, org.Profiles[bySize[i]].Rule) {
		j += j - i
	}
	changed, donor := bySize[i], bySize[j]
	s := start(b, db)
	client := rosterhttp.NewClient(s.URL, benchToken)
	ctx := context.Background()
	v, err := client.Profile(ctx, gen.ProfileID(changed))
	if err != nil {
		b.Fatal(err)
	}
	rule := make([]string, len(org.Profiles[donor].Rule))
	for k, e := range org.Profiles[donor].Rule {
		rule[k] = org.EntitlementID(int(e))
	}
	doc := fmt.Sprintf("profiles:\n  - {id: %s, name: %q, entitlements: [%s], enrollment: {policy: %s, bypass_entitlement_policies: %t}, unenrollment: {policy: %s, access: %s}, automation: {enabled: true, mode: %s, any_entitlement: [%s], safeguard: %t}}\n",
		v.ID, v.Name, strings.Join(v.Entitlements, ", "), v.Enrollment.Policy, v.Enrollment.BypassEntitlementPolicies, v.Unenrollment.Policy, v.Unenrollment.Access,
		v.Automation.Mode, strings.Join(rule, ", "), v.Automation.Safeguard)
	req := roster.ApplyRequest{Filename: "rule.yaml", Document: []byte(doc)}
	t0 := time.Now()
	plan, err := client.Plan(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	firstPlan := time.Since(t0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		if plan, err = client.Plan(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/plan")
	pp := plan.Profile(v.ID)
	if pp == nil || len(pp.Enroll) == 0 || len(pp.Unenroll) == 0 {
		b.Fatalf("the plan of %s moves nobody: %+v", doc, plan)
	}
	tasks := 0
	for _, p := range plan.Profiles {
		tasks += len(p.Tasks)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/plan")
	b.ReportMetric(firstPlan.Seconds(), "first-s")
	b.ReportMetric(float64(len(pp.Enroll)), "enroll")
	b.ReportMetric(float64(len(pp.Unenroll)), "unenroll")
	b.ReportMetric(float64(tasks), "tasks")
	b.ReportMetric(float64(len(members[changed])), "members")
	b.ReportMetric(maxRSS(), "max-rss-MiB")
	s.Close(ctx)
	if m, t := countRows(b, db); m != membersBefore || t != tasksBefore {
		b.Fatalf("the plan changed the organisation: %d members and %d tasks before, %d and %d after", membersBefore, tasksBefore, m, t)
	}
}

// cpuTime is the CPU time (user and system) the process has used: on a
// shared machine it says what a plan costs when wall time says how busy the
// machine was.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
