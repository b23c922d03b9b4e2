package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/smtptest"
)

// applyAs applies a declarative file as user and returns the result.
func (e *env) applyAs(user, doc string) roster.ApplyResult {
	e.t.Helper()
	path := filepath.Join(e.dir, "change-"+user+".yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	var res roster.ApplyResult
	e.json(&res, user, "apply", "-f", path)
	return res
}

var fourEyesOrg = strings.Replace(org, "users:\n", "users:\n  - {id: nadia, email: nadia@example.com, name: Nadia, role: admin}\n", 1)

const heldProfile = `
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/org-member]
    enrollment: {policy: auto}
    automation: {enabled: true, any_entitlement: [okta/engineering]}
`

// With change_approval on, an admin's change to a profile waits for another
// admin; users in the same file apply at once; the author never approves;
// switching it off needs approval too.
func TestChangeApprovalHoldsGovernedChangesForASecondAdmin(t *testing.T) {
	e := start(t)
	e.apply(fourEyesOrg)
	e.apply("settings:\n  change_approval: true\n") // off before: applies at once

	res := e.applyAs(adminUser, "users:\n  - {id: zoe, email: zoe@example.com, name: Zoe}\n"+heldProfile)
	equal(t, "applied at once", res.Changes, []string{"created user zoe"})
	equal(t, "held", res.Held, []string{"created profile eng"})
	if res.ChangeRequest == 0 {
		t.Fatal("no change request was created")
	}
	n := id(roster.Task{ID: res.ChangeRequest})
	e.ok(adminUser, "user", "show", "zoe")
	e.fails("not found", adminUser, "profile", "show", "eng")
	text := e.ok(adminUser, "apply", "-f", writeFile(t, e, heldProfile))
	if !strings.Contains(text, "change request 2") || !strings.Contains(text, "created profile eng") {
		t.Fatalf("apply printed %q, want the change request and what it holds", text)
	}
	e.ok(adminUser, "change", "deny", "2") // its author withdraws it

	e.fails("cannot approve your own change request", adminUser, "change", "approve", n)
	e.fails("only admins", "alice", "change", "approve", n)
	e.fails("only admins and auditors", "alice", "change", "list")
	var pending []roster.ChangeRequest
	e.json(&pending, "audrey", "change", "list", "--state", "pending")
	if len(pending) != 1 || pending[0].ID != res.ChangeRequest || pending[0].Author != adminUser {
		t.Fatalf("pending change requests = %+v, want #%s by admin", pending, n)
	}
	e.fails("only admins", "audrey", "change", "approve", n)
	if show := e.ok("nadia", "change", "show", n); !strings.Contains(show, "id: eng") {
		t.Fatalf("change show prints %q, want its file", show)
	}

	if res.Plan == nil || len(res.Plan.Profiles) != 1 || len(res.Plan.Profiles[0].Enroll) != 2 {
		t.Fatalf("the change request's plan = %+v, want eng enrolling alice and bob", res.Plan)
	}
	if show := e.ok("nadia", "change", "show", n); !strings.Contains(show, "profile eng: +2 / -0") {
		t.Fatalf("change show prints %q, want its plan", show)
	}
	var approved roster.ChangeRequest
	e.json(&approved, "nadia", "change", "approve", n, "--comment", "looks right")
	if approved.State != roster.ChangeApplied || approved.DecidedBy != "nadia" || approved.Moved {
		t.Fatalf("approved = %+v, want applied by nadia, not moved", approved)
	}
	equal(t, "members once applied", e.members("eng"), []string{"alice:automation", "bob:automation"})
	evs := e.events("--action", "profile.created", "--object-id", "eng")
	if len(evs) != 1 || evs[0].Actor != "nadia" || !strings.Contains(evs[0].Reason, "change request "+n+" by admin") {
		t.Fatalf("profile.created events = %+v, want one by nadia naming the change request", evs)
	}
	if len(e.events("--action", "change.requested")) != 2 || len(e.events("--action", "change.approved")) != 1 || len(e.events("--action", "change.denied")) != 1 {
		t.Fatal("want two change.requested, one change.approved and one change.denied events")
	}
	e.fails("already applied", "nadia", "change", "approve", n)

	// A request whose plan moves before it is approved says so.
	widen := e.applyAs(adminUser, strings.Replace(heldProfile, "any_entitlement: [okta/engineering]", "any_entitlement: [okta/engineering, okta/sales]", 1))
	if widen.Plan == nil || len(widen.Plan.Profiles) != 0 {
		t.Fatalf("widening eng to okta/sales, whom nobody holds, plans %+v, want no membership change", widen.Plan)
	}
	e.ok(adminUser, "grant", "add", "erin", "okta/sales")
	var moved roster.ChangeRequest
	e.json(&moved, "nadia", "change", "approve", id(roster.Task{ID: widen.ChangeRequest}))
	if !moved.Moved || moved.ApprovedPlan == nil || len(moved.ApprovedPlan.Profiles) != 1 || !slices.Contains(moved.ApprovedPlan.Profiles[0].Enroll, "erin") {
		t.Fatalf("approved = %+v, want it moved, with erin's enrollment in the plan of approval", moved)
	}

	// Switching change approval off is itself held.
	off := e.applyAs(adminUser, "settings:\n  change_approval: false\n")
	if off.ChangeRequest == 0 {
		t.Fatalf("switching change approval off applied at once: %+v", off)
	}
	offN := id(roster.Task{ID: off.ChangeRequest})
	e.fails("say why", "nadia", "change", "deny", offN)
	e.ok("nadia", "change", "deny", offN, "--comment", "keep four eyes")
	var s roster.Settings
	e.json(&s, adminUser, "settings", "show")
	if !s.ChangeApproval {
		t.Fatal("change approval went off though its switch-off was denied")
	}

	// A dry run shows the changes and holds nothing.
	dry := e.run(adminUser, "apply", "--dry-run", "-f", writeFile(t, e, "settings:\n  sync_interval: 2h\n"), "-o", "json")
	if dry.code != 0 || strings.Contains(dry.stdout, "change_request") || !strings.Contains(dry.stdout, "updated settings tenant") {
		t.Fatalf("dry run: %+v, want the settings change listed and no change request", dry)
	}
}

// A file whose entitlements name a policy the same file creates waits
// whole: applying the entitlement alone would leave it naming nothing.
func TestChangeApprovalHoldsAFileWhoseRestNeedsItsGovernedPart(t *testing.T) {
	e := start(t)
	e.apply(fourEyesOrg)
	e.apply("settings:\n  change_approval: true\n")
	res := e.applyAs(adminUser, `
policies:
  - id: two-step
    steps: [{approvers: manager}, {approvers: app_owner}]
apps:
  - id: vault
    name: Vault
    owners: [ivan]
    entitlements:
      - {id: read, request_policy: two-step}
`)
	if !res.HeldWhole || len(res.Changes) != 0 || res.ChangeRequest == 0 {
		t.Fatalf("apply = %+v, want the whole file held", res)
	}
	var ents []roster.Entitlement
	e.json(&ents, adminUser, "entitlement", "list", "--app", "vault")
	if len(ents) != 0 {
		t.Fatalf("vault's entitlements before approval = %+v, want none", ents)
	}
	e.ok("nadia", "change", "approve", id(roster.Task{ID: res.ChangeRequest}))
	e.json(&ents, adminUser, "entitlement", "list", "--app", "vault")
	if len(ents) != 1 || ents[0].RequestPolicy != "two-step" {
		t.Fatalf("vault's entitlements after approval = %+v", ents)
	}
}

func writeFile(t *testing.T, e *env, doc string) string {
	t.Helper()
	f, err := os.CreateTemp(e.dir, "doc-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(doc); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// The other admins are told a change request waits on them, with what it
// changes and a link; its author is told the decision.
func TestChangeRequestsAreMailed(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(fourEyesOrg)
	e.apply(emailSettings(smtp, "", "") + "  - {id: omar, email: omar@example.com, name: Omar, role: admin}\n")
	e.apply("settings:\n  change_approval: true\n")
	res := e.applyAs("nadia", heldProfile)
	e.notify()
	asked := one(t, smtp, "omar@example.com")
	contains(t, "request mail", asked.Subject, "Approve?", "Change request")
	contains(t, "request mail", asked.Text, "created profile eng", "https://roster.example.com/changes/")
	if len(smtp.To("nadia@example.com")) != 0 {
		t.Fatal("the author was told their own change request waits on them")
	}
	e.ok("omar", "change", "deny", id(roster.Task{ID: res.ChangeRequest}), "--comment", "not yet")
	e.notify()
	denied := one(t, smtp, "nadia@example.com")
	contains(t, "denial mail", denied.Subject, "Denied", "change request")
	contains(t, "denial mail", denied.Text, "not yet")
}
