package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// planOrg has ten engineers e01…e10 in okta/engineering, all members of eng
// once synced, and e01, e02 on call; eng gives github/org-member and takes
// it back on unenrollment; the safeguard applies above 5 members at 20%.
func planOrg(automation string) string {
	var b strings.Builder
	b.WriteString("settings:\n  safeguard: {min_members: 5, max_removal_percent: 20}\nusers:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  - {id: e%02d, email: e%02d@example.com, name: Engineer %d}\n", i, i, i)
	}
	b.WriteString(`apps:
  - id: okta
    name: Okta
    entitlements: [{id: engineering, request_policy: auto, revoke_policy: auto}, {id: oncall, request_policy: auto, revoke_policy: auto}]
  - id: github
    name: GitHub
    entitlements: [{id: org-member, request_policy: auto, revoke_policy: auto}]
policies:
  - {id: auto, steps: []}
grants:
  - {user: e01, entitlement: okta/oncall}
  - {user: e02, entitlement: okta/oncall}
`)
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  - {user: e%02d, entitlement: okta/engineering}\n", i)
	}
	b.WriteString(engPlanProfile(automation))
	return b.String()
}

func engPlanProfile(automation string) string {
	return `profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
    automation: {enabled: true, ` + automation + `}
`
}

// writeFile writes doc into the test's directory and returns its path.
func (e *env) writeFile(name, doc string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// TestPlanOfARuleChange plans a rule change that would remove eight of ten
// members: the plan names who would join and leave and why, and says the
// safeguard would pause; nothing changes; the apply then does what it said.
func TestPlanOfARuleChange(t *testing.T) {
	e := start(t)
	e.apply(planOrg("any_entitlement: [okta/engineering]"))
	equal(t, "members", len(e.members("eng")), 10)

	file := e.writeFile("rule.yaml", "users:\n  - {id: n01, email: n01@example.com, name: Newcomer}\n"+
		"grants:\n  - {user: n01, entitlement: okta/oncall}\n"+engPlanProfile("any_entitlement: [okta/oncall]"))
	before := e.state()
	var plan roster.ChangePlan
	e.json(&plan, adminUser, "plan", "-f", file)
	if e.state() != before {
		t.Fatal("a plan changed something")
	}
	var kinds []string
	for _, c := range plan.Changes {
		kinds = append(kinds, c.Op+" "+c.Kind+" "+c.ID)
	}
	equal(t, "changes", kinds, []string{"add user n01", "add grant n01 okta/oncall", "change profile eng"})
	equal(t, "the profile's change", plan.Changes[2].Fields, map[string]roster.FieldChange{
		"automation.any_entitlement": {Before: []any{"okta/engineering"}, After: []any{"okta/oncall"}}})
	equal(t, "profiles planned", len(plan.Profiles), 1)
	p := plan.Profiles[0]
	equal(t, "enroll", p.Enroll, []string{"n01"})
	equal(t, "unenroll", p.Unenroll, []string{"e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10"})
	equal(t, "safeguard", *p.Safeguard, roster.SafeguardVerdict{Verdict: "pause", WouldRemove: 8, Members: 10, Recent: 0, Reason: p.Safeguard.Reason})
	equal(t, "why e05", p.Why["e05"], "no longer matches: okta/engineering left the rule")
	equal(t, "why n01", p.Why["n01"], "matches the rule")
	equal(t, "tasks of a paused sync", len(p.Tasks), 0)
	equal(t, "name of n01", plan.Names["n01"], "Newcomer")

	// The text output: counts, people by name, and the verdict.
	out := e.ok(adminUser, "plan", "-f", file)
	for _, want := range []string{"change profile eng", `automation.any_entitlement: ["okta/engineering"] -> ["okta/oncall"]`, "profile eng: +1 / -8", "safeguard: PAUSE (would remove 8 of 10 members",
		"+ Newcomer (n01): matches the rule", "- Engineer 5 (e05): no longer matches: okta/engineering left the rule"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}

	// The apply does what the plan said: the sync pauses with that plan.
	e.apply(strings.Join([]string{"users:\n  - {id: n01, email: n01@example.com, name: Newcomer}\n",
		"grants:\n  - {user: n01, entitlement: okta/oncall}\n", engPlanProfile("any_entitlement: [okta/oncall]")}, ""))
	a := e.profile("eng").Automation
	equal(t, "state", a.State, roster.AutomationPaused)
	equal(t, "staged enroll", a.Staged.Enroll, p.Enroll)
	equal(t, "staged unenroll", a.Staged.Unenroll, p.Unenroll)
}

// TestApplyConfirmOver refuses an apply that would take access from more
// people than --confirm-over allows, changing nothing, and applies it when
// the limit allows: the tasks created are the plan's.
func TestApplyConfirmOver(t *testing.T) {
	e := start(t)
	e.apply(planOrg("any_entitlement: [okta/engineering]"))
	file := e.writeFile("exclude.yaml", engPlanProfile("any_entitlement: [okta/engineering], excluded_users: [e09, e10]"))

	var plan roster.ChangePlan
	e.json(&plan, adminUser, "plan", "-f", file)
	equal(t, "profiles planned", len(plan.Profiles), 1)
	p := plan.Profiles[0]
	equal(t, "unenroll", p.Unenroll, []string{"e09", "e10"})
	equal(t, "why", p.Why["e10"], "excluded")
	equal(t, "revoke", p.Revoke, []roster.PlannedRevoke{{User: "e09", Entitlement: "github/org-member"}, {User: "e10", Entitlement: "github/org-member"}})
	equal(t, "safeguard", *p.Safeguard, roster.SafeguardVerdict{Verdict: "pass", WouldRemove: 2, Members: 10})
	equal(t, "counts", p.Counts, roster.PlanCounts{Unenroll: 2, Tasks: 6, Revoke: 2})
	equal(t, "losing access", plan.Losing, 2)

	// The summary `roster apply` asks for: the counts, and no list.
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	resp, text := e.request(http.MethodPost, "/api/v1/plan?filename=exclude.yaml&summary=true", e.token(adminUser), "application/yaml", bytes.NewReader(body))
	var summary roster.ChangePlan
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(text), &summary) != nil {
		t.Fatalf("plan in summary: %d %s", resp.StatusCode, text)
	}
	equal(t, "summary", summary.Summary, true)
	equal(t, "summary's losing access", summary.Losing, 2)
	equal(t, "summary's profiles", len(summary.Profiles), 1)
	sp := summary.Profiles[0]
	equal(t, "summary's counts", sp.Counts, p.Counts)
	equal(t, "summary's verdict", *sp.Safeguard, *p.Safeguard)
	equal(t, "summary's lists", len(sp.Unenroll)+len(sp.Tasks)+len(sp.Revoke)+len(sp.Why)+len(summary.Names), 0)

	before := e.state()
	r := e.run(adminUser, "apply", "-f", file, "--confirm-over", "1")
	if r.code == 0 || !strings.Contains(r.stderr, "would take access from 2 people ([e09 e10]), more than --confirm-over 1") {
		t.Fatalf("apply --confirm-over 1: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "profile eng: +0 / -2") || !strings.Contains(r.stdout, "2 people would lose access") {
		t.Errorf("apply printed no summary of its plan before it was refused:\n%s", r.stdout)
	}
	if e.state() != before {
		t.Fatal("a refused apply changed something")
	}
	// -o json is refused as well, by the server.
	e.fails("more than --confirm-over 0", adminUser, "apply", "-f", file, "--confirm-over", "0", "-o", "json")
	if e.state() != before {
		t.Fatal("a refused apply changed something")
	}

	out := e.ok(adminUser, "apply", "-f", file, "--confirm-over", "2")
	if !strings.HasPrefix(out, "plan:\n  profile eng: +0 / -2, 6 task(s), 2 grant(s) to end; safeguard: pass") || !strings.Contains(out, "updated profile eng") {
		t.Errorf("apply output:\n%s", out)
	}
	var got []roster.PlannedTask
	for _, task := range e.tasks() {
		if task.Entitlement == "okta/engineering" || task.Entitlement == "okta/oncall" || task.Entitlement == "github/org-member" && task.Kind == roster.TaskGrant ||
			task.Entitlement == "access-profiles/eng" && task.Kind == roster.TaskGrant {
			continue // the first apply's
		}
		got = append(got, roster.PlannedTask{Kind: task.Kind, User: task.User, Entitlement: task.Entitlement, Approvers: task.Approvers, State: task.State, Origin: task.Origin})
	}
	sortTasks(got)
	want := slices.Clone(p.Tasks)
	sortTasks(want)
	equal(t, "tasks created", got, want)
	equal(t, "members", len(e.members("eng")), 8)
}

func sortTasks(ts []roster.PlannedTask) {
	slices.SortFunc(ts, func(a, b roster.PlannedTask) int {
		return strings.Compare(string(a.Kind)+a.User+a.Entitlement, string(b.Kind)+b.User+b.Entitlement)
	})
	for i := range ts {
		if ts[i].Approvers == nil {
			ts[i].Approvers = []string{}
		}
	}
}

// TestPlanRefusesLikeApply: a bad file gets the apply's error and changes
// nothing; only admins plan.
func TestPlanRefusesLikeApply(t *testing.T) {
	e := start(t)
	e.apply(planOrg("any_entitlement: [okta/engineering]"))
	e.token("e01")
	before := e.state()
	bad := e.writeFile("bad.yaml", "users:\n  - {id: zoe, email: zoe@example.com, nmae: Zoe}\n")
	e.fails(`unknown key "nmae"`, adminUser, "plan", "-f", bad)
	e.fails(`unknown key "nmae"`, adminUser, "apply", "-f", bad)
	e.fails("only admins may plan", "e01", "plan", "-f", e.writeFile("ok.yaml", engPlanProfile("any_entitlement: [okta/oncall]")))
	if e.state() != before {
		t.Fatal("a refused plan changed something")
	}
}
