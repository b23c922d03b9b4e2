package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	rosterhttp "github.com/rosterhq/roster/http"
)

// BenchmarkPlanRuleChange times `roster plan` of a rule change through the
// real server and HTTP client, on SQLite: the largest profile of an
// organisation in the steady state takes the rule of the second largest, so
// the plan enrolls the one's members, unenrolls the other's and creates
// their tasks (every policy auto: enrollments and their access are granted
// at once, removals revoked) — all of it rolled back. The first plan after
// the server starts is timed on its own (first-s); the plans after it are
// the measurement (s/plan). It checks that nothing changed.
func BenchmarkPlanRuleChange(b *testing.B) {
	for _, preset := range presets(b, "small", "medium", "large") {
		b.Run(preset, func(b *testing.B) {
			org := gen.Generate(presetConfig(b, preset))
			db := loaded(b, preset, gen.LoadOptions{State: gen.Synced, History: true})
			membersBefore, tasksBefore := countRows(b, db)
			members := org.Members()
			first, second := -1, -1
			for p := range members {
				switch {
				case first < 0 || len(members[p]) > len(members[first]):
					first, second = p, first
				case second < 0 || len(members[p]) > len(members[second]):
					second = p
				}
			}
			s := start(b, db)
			client := rosterhttp.NewClient(s.URL, benchToken)
			ctx := context.Background()
			v, err := client.Profile(ctx, gen.ProfileID(first))
			if err != nil {
				b.Fatal(err)
			}
			rule := make([]string, len(org.Profiles[second].Rule))
			for i, e := range org.Profiles[second].Rule {
				rule[i] = org.EntitlementID(int(e))
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
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if plan, err = client.Plan(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
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
			b.ReportMetric(float64(len(members[first])), "members")
			b.ReportMetric(maxRSS(), "max-rss-MiB")
			s.Close(ctx)
			if m, t := countRows(b, db); m != membersBefore || t != tasksBefore {
				b.Fatalf("the plan changed the organisation: %d members and %d tasks before, %d and %d after", membersBefore, tasksBefore, m, t)
			}
		})
	}
}
