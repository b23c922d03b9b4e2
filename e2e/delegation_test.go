package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
	"github.com/rosterhq/roster/internal/smtptest"
)

// toolsProfile is a profile people request; its enrollment needs their
// manager (the manager policy: carol for her reports, else sam).
const toolsProfile = `
profiles:
  - id: tools
    name: Team tools
    entitlements: [slack/general]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`

// TestDelegation checks issue 15 #4's delegation through the CLI: carol
// names dave to decide in her place until a day; dave then approves a task
// waiting on carol, recorded as "dave for carol", and is told of the tasks
// that wait on her, those open before too; he never decides his own
// access; a plain user cannot set someone else's delegation; once it ends,
// at its time or cleared, dave is refused and says why.
func TestDelegation(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + toolsProfile)
	e.apply(fmt.Sprintf(`
settings:
  base_url: https://roster.example.com
  notifications:
    email: {smtp_host: %s, smtp_port: %d, from: roster@example.com}
`, smtp.Host, smtp.Port))

	// A task waits on carol before she delegates.
	var before roster.Task
	e.json(&before, "alice", "profile", "request", "tools")
	equal(t, "approvers before the delegation", before.Approvers, []string{"carol"})
	e.fails("does not concern you", "dave", "task", "approve", id(before))

	// Only carol or an admin may set her delegation, to an active person
	// other than her, until a time to come.
	e.fails("only carol or an admin", "bob", "user", "delegate", "carol", "--to", "bob", "--until", "2026-01-10")
	e.fails("their own delegate", "carol", "user", "delegate", "carol", "--to", "carol", "--until", "2026-01-10")
	e.fails("not in the future", "carol", "user", "delegate", "carol", "--to", "dave", "--until", "2026-01-04")
	e.fails("auditor", "carol", "user", "delegate", "carol", "--to", "audrey", "--until", "2026-01-10")
	e.fails(`"nobody" is not a user`, "carol", "user", "delegate", "carol", "--to", "nobody", "--until", "2026-01-10")
	e.fails("--until is required with --to", "carol", "user", "delegate", "carol", "--to", "dave")
	e.fails("--to and --until, or --clear", "carol", "user", "delegate", "carol", "--to", "dave", "--clear")
	if evs := e.events("--action", "user.delegation_set"); len(evs) != 0 {
		t.Fatalf("refused delegations were recorded: %+v", evs)
	}

	// Through the end of 2026-01-10, UTC.
	out := e.ok("carol", "user", "delegate", "carol", "--to", "dave", "--until", "2026-01-10")
	contains(t, "delegate's output", out, "dave decides in carol's place until 2026-01-11T00:00:00Z")
	contains(t, "carol's user", e.ok("carol", "user", "show", "carol"), "Delegate:", "dave until 2026-01-11T00:00:00Z")
	contains(t, "dave's user", e.ok("dave", "user", "show", "dave"), "Decides for:", "carol until 2026-01-11T00:00:00Z")
	set := e.events("--action", "user.delegation_set", "--object-id", "carol")
	if len(set) != 1 || set[0].Actor != "carol" || !strings.Contains(string(set[0].Data), `"delegate": "dave"`) {
		t.Fatalf("user.delegation_set events: %+v", set)
	}

	// The task open before now waits on dave too, and he is told for whom.
	equal(t, "approvers of the earlier task", e.task("--user", "alice", "--entitlement", "access-profiles/tools").Approvers, []string{"carol", "dave"})
	equal(t, "delivered", e.notify(), 2)
	toDave := one(t, smtp, "dave@example.com")
	contains(t, "dave's email", toDave.Text, "Alice", "Team tools", "you decide for carol as their delegate")
	one(t, smtp, "carol@example.com")

	// dave approves in carol's place: recorded as dave for carol.
	e.ok("dave", "task", "approve", id(before), "--comment", "carol is away")
	show := e.ok(roster.AdminUser, "task", "show", id(before))
	contains(t, "task show", show, "dave for carol", "carol is away")
	var approved roster.Task
	e.json(&approved, roster.AdminUser, "task", "show", id(before))
	equal(t, "state", approved.State, roster.StateDone)
	last := approved.History[len(approved.History)-2]
	if last.Action != roster.HistoryApproved || last.Actor != "dave" || last.For != "carol" {
		t.Fatalf("history holds %+v, want dave's approval for carol", last)
	}
	evs := e.events("--action", "task.approved", "--object-id", id(before))
	if len(evs) != 1 || evs[0].Actor != "dave" || !strings.Contains(string(evs[0].Data), `"for": "carol"`) {
		t.Fatalf("task.approved events: %+v", evs)
	}
	// carol reads the task decided in her name.
	e.ok("carol", "task", "show", id(before))

	// A task that starts waiting on carol now waits on dave at once.
	var bobs roster.Task
	e.json(&bobs, "bob", "profile", "request", "tools")
	equal(t, "approvers of a new task", bobs.Approvers, []string{"carol", "dave"})

	// dave's own request waits on carol, never on him.
	var daves roster.Task
	e.json(&daves, "dave", "profile", "request", "tools")
	equal(t, "approvers of dave's own task", daves.Approvers, []string{"carol"})
	e.fails("your own access", "dave", "task", "approve", id(daves))
	e.fails("your own access", "dave", "task", "deny", id(daves))

	// Past its time the delegation is over: dave is refused, and told why.
	e.clock.Advance(6*24*time.Hour + time.Minute) // 2026-01-11T09:01Z
	e.fails("your delegation from carol ended at 2026-01-11T00:00:00Z", "dave", "task", "approve", id(bobs))
	equal(t, "approvers after the delegation ended", e.task("--user", "bob", "--entitlement", "access-profiles/tools").Approvers, []string{"carol"})
	if out := e.ok("dave", "user", "show", "dave"); strings.Contains(out, "Decides for") {
		t.Fatalf("an ended delegation is still listed:\n%s", out)
	}

	// An admin sets it again for carol, and carol clears it: dave leaves
	// the tasks at once.
	e.ok(roster.AdminUser, "user", "delegate", "carol", "--to", "dave", "--until", "2026-02-01T18:00:00Z")
	equal(t, "approvers with the admin's delegation", e.task("--user", "bob", "--entitlement", "access-profiles/tools").Approvers, []string{"carol", "dave"})
	contains(t, "cleared", e.ok("carol", "user", "delegate", "carol", "--clear"), "dave no longer decides in carol's place")
	equal(t, "approvers after clearing", e.task("--user", "bob", "--entitlement", "access-profiles/tools").Approvers, []string{"carol"})
	e.fails("does not concern you", "dave", "task", "deny", id(bobs))
	e.fails("no delegation in force", "carol", "user", "delegate", "carol", "--clear")
	ended := e.events("--action", "user.delegation_ended", "--object-id", "carol")
	if len(ended) != 1 || ended[0].Actor != "carol" {
		t.Fatalf("user.delegation_ended events: %+v", ended)
	}
	// Nor may a plain user clear someone else's.
	e.ok(roster.AdminUser, "user", "delegate", "carol", "--to", "dave", "--until", "2026-02-01")
	e.fails("only carol or an admin", "bob", "user", "delegate", "carol", "--clear")
}

// TestDelegateChecksLikeAnApprover checks that separation of duties holds
// for a delegate: the token they act with counts for its issuer too, and a
// delegate's approval of one step counts as the person's, so neither
// approves the next step.
func TestDelegateChecksLikeAnApprover(t *testing.T) {
	e := start(t)
	e.apply(org + toolsProfile)
	e.apply(`
profiles:
  - id: secure
    name: Secure tools
    entitlements: [slack/general]
    allow_enrollment_requests: true
    enrollment: {policy: two}
policies:
  - id: two
    steps:
      - {approvers: users, users: [sam]}
      - {approvers: users, users: [sam, tess, ivan]}
`)
	// The admin has no manager: their request waits on sam (the fallback).
	// sam delegates to dave; a token the admin issued for dave counts as the
	// admin's, who cannot decide on their own access.
	var admins roster.Task
	e.json(&admins, roster.AdminUser, "profile", "request", "tools")
	equal(t, "approvers", admins.Approvers, []string{"sam"})
	e.ok("sam", "user", "delegate", "sam", "--to", "dave", "--until", "2026-01-06")
	e.createToken(roster.AdminUser, "dave-by-admin", "dave")
	e.fails("your own access", "dave-by-admin", "task", "approve", id(admins))
	// With his own token he may.
	e.ok("dave", "task", "approve", id(admins))

	// Two steps: dave approves the first for sam; the second then waits on
	// tess and ivan — not sam, for whom dave decided, nor dave.
	var alices roster.Task
	e.json(&alices, "alice", "profile", "request", "secure")
	equal(t, "first step's approvers", alices.Approvers, []string{"dave", "sam"})
	e.ok("dave", "task", "approve", id(alices))
	second := e.task("--user", "alice", "--entitlement", "access-profiles/secure")
	equal(t, "second step's approvers", second.Approvers, []string{"ivan", "tess"})
	e.fails("not an approver", "sam", "task", "approve", id(alices))
}

// TestDelegationRunsOut checks that a delegation that reaches its time
// leaves the tasks it added the delegate to without anyone touching them:
// the delegate's inbox empties, the audit log says it ran out, and the
// person's own approval is untouched.
func TestDelegationRunsOut(t *testing.T) {
	e := start(t)
	e.apply(org + toolsProfile)
	e.ok("carol", "user", "delegate", "carol", "--to", "dave", "--until", "2026-01-10")
	var task roster.Task
	e.json(&task, "alice", "profile", "request", "tools")
	equal(t, "approvers while delegated", task.Approvers, []string{"carol", "dave"})

	// Not yet: running the expiry early changes nothing.
	e.drain("delegation expiry", e.srv.Delegations.RunOnce)
	equal(t, "approvers before the end", e.task("--user", "alice", "--entitlement", "access-profiles/tools").Approvers, []string{"carol", "dave"})

	e.clock.Advance(10 * 24 * time.Hour)
	e.drain("delegation expiry", e.srv.Delegations.RunOnce)
	equal(t, "approvers after the delegation ran out", e.task("--user", "alice", "--entitlement", "access-profiles/tools").Approvers, []string{"carol"})
	if waiting := e.tasks("--approver", "dave"); len(waiting) != 0 {
		t.Fatalf("dave's inbox after the delegation ran out: %+v", waiting)
	}
	ended := e.events("--action", "user.delegation_ended", "--object-id", "carol")
	if len(ended) != 1 || ended[0].Actor != engine.ActorSystem || !strings.Contains(string(ended[0].Data), `"ran_out": true`) {
		t.Fatalf("user.delegation_ended events: %+v", ended)
	}
	// Once is enough: the ended delegation is gone.
	e.drain("delegation expiry", e.srv.Delegations.RunOnce)
	if n := len(e.events("--action", "user.delegation_ended")); n != 1 {
		t.Fatalf("%d user.delegation_ended events after running the expiry again", n)
	}
	e.ok("carol", "task", "approve", id(task))
}
