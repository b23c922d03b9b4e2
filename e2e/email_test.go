package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/smtptest"
)

// emailProfile is a profile people request; its enrollment needs their
// manager, and its GitHub admin is then provisioned by hand by ivan.
const emailProfile = `
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/org-member, github/admin]
    allow_enrollment_requests: true
    enrollment: {policy: manager, bypass_entitlement_policies: true}
    automation: {enabled: false}
`

// emailSettings points Roster's email at the test's SMTP server, with extra
// email settings and extra lines of notifications, and gives alice a title
// and bob notify: none.
func emailSettings(smtp *smtptest.Server, extra, lines string) string {
	return fmt.Sprintf(`
settings:
  base_url: https://roster.example.com
  notifications:
    email: {smtp_host: %s, smtp_port: %d, from: roster@example.com%s}
%susers:
  - {id: alice, email: alice@example.com, name: Alice Smith, manager: carol, department: Engineering, title: Staff Engineer}
  - {id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering, notify: none}
`, smtp.Host, smtp.Port, extra, lines)
}

// notify runs the notifier until nothing is due and returns how many
// messages it delivered.
func (e *env) notify() int {
	e.t.Helper()
	n, err := e.srv.Notifier.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("notifier: %v", err)
	}
	return n
}

// one returns the only message to addr, failing unless there is exactly one.
func one(t *testing.T, smtp *smtptest.Server, addr string) smtptest.Message {
	t.Helper()
	ms := smtp.To(addr)
	if len(ms) != 1 {
		var subjects []string
		for _, m := range smtp.Messages() {
			subjects = append(subjects, fmt.Sprintf("%v: %s", m.To, m.Subject))
		}
		t.Fatalf("%d messages to %s, want 1; all: %q", len(ms), addr, subjects)
	}
	return ms[0]
}

// contains fails unless s holds every one of wants.
func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Fatalf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// A request through the CLI reaches the approver by email, through a real
// SMTP server with AUTH: who asks, what, why, what the profile gives and a
// link to the task; the approval tells the provisioner and the requester.
func TestEmailTellsApproverProvisionerAndRequester(t *testing.T) {
	t.Setenv("ROSTER_SECRET_SMTP_USER", "roster")
	t.Setenv("ROSTER_SECRET_SMTP_PASSWORD", "s3cret")
	smtp := smtptest.Start(t, smtptest.WithAuth("roster", "s3cret"))
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, ", username_env: ROSTER_SECRET_SMTP_USER, password_env: ROSTER_SECRET_SMTP_PASSWORD", ""))

	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng", "--comment", "joining the <platform> team")
	equal(t, "approvers", task.Approvers, []string{"carol"})
	equal(t, "delivered", e.notify(), 1)
	m := one(t, smtp, "carol@example.com")
	equal(t, "sender", m.From, "roster@example.com")
	equal(t, "authenticated as", m.User, "roster")
	equal(t, "content type", m.ContentType, "multipart/alternative")
	contains(t, "subject", m.Subject, "Alice Smith", "Engineering onboarding")
	link := fmt.Sprintf("https://roster.example.com/tasks/%d", task.ID)
	contains(t, "text", m.Text, "Hello Carol", "Alice Smith, Staff Engineer, Engineering", "Enroll in Engineering onboarding",
		"joining the <platform> team", "GitHub: Org member", "GitHub: admin", link)
	contains(t, "HTML", m.HTML, "Alice Smith", "joining the &lt;platform&gt; team", "<li>GitHub: Org member</li>", `href="`+link+`"`)
	if strings.Contains(m.HTML, "<platform>") {
		t.Fatal("the HTML part holds the reason unescaped")
	}
	// Delivered once: the outbox does not send it again.
	equal(t, "delivered again", e.notify(), 0)
	equal(t, "notify.delivered events", len(e.events("--action", "notify.delivered")), 1)

	// carol approves: alice hears of it, and ivan is asked to provision
	// GitHub admin.
	e.ok("carol", "task", "approve", id(task), "--comment", "welcome")
	equal(t, "delivered after the approval", e.notify(), 2)
	approved := one(t, smtp, "alice@example.com")
	contains(t, "requester's subject", approved.Subject, "Approved", "Engineering onboarding")
	contains(t, "requester's text", approved.Text, "Carol", "welcome", link)
	admin := e.task("--user", "alice", "--entitlement", "github/admin")
	provision := one(t, smtp, "ivan@example.com")
	contains(t, "provisioner's subject", provision.Subject, "Alice Smith", "GitHub: admin")
	contains(t, "provisioner's text", provision.Text, fmt.Sprintf("https://roster.example.com/tasks/%d", admin.ID))
}

// A user with notify: none gets no email, a denial tells the requester, and
// the approver hears of each request once.
func TestEmailNotifyNoneAndDenial(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, "", ""))

	var bobs, dave roster.Task
	e.json(&bobs, "bob", "profile", "request", "eng")
	e.json(&dave, "dave", "profile", "request", "eng")
	equal(t, "delivered", e.notify(), 2)
	equal(t, "to carol", len(smtp.To("carol@example.com")), 2)
	e.ok("carol", "task", "deny", id(bobs), "--comment", "not this quarter")
	e.ok("carol", "task", "deny", id(dave), "--comment", "not this quarter")
	equal(t, "delivered after the denials", e.notify(), 1)
	equal(t, "to bob (notify: none)", len(smtp.To("bob@example.com")), 0)
	denied := one(t, smtp, "dave@example.com")
	contains(t, "denial", denied.Subject, "Denied", "Engineering onboarding")
	contains(t, "denial", denied.Text, "not this quarter")

	// Without email settings nothing is enqueued at all.
	e.apply("settings:\n  notifications: {email: null}\n")
	e.json(&dave, "dave", "profile", "request", "eng")
	equal(t, "delivered without email settings", e.notify(), 0)
}

// An email whose SMTP server is down stays in the outbox across a restart of
// Roster, and is delivered once when both are back.
func TestEmailSurvivesARestart(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, "", ""))
	ctx := context.Background()

	smtp.Stop()
	e.ok("alice", "profile", "request", "eng")
	if n, err := e.srv.Notifier.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("delivered %d (err %v) with the SMTP server down", n, err)
	}
	// A refusing server is a failure too.
	smtp.Restart()
	smtp.Refuse(errors.New("try later"))
	e.clock.Advance(engineLeaseAndBackoff)
	if n, _ := e.srv.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("delivered to a refusing server")
	}
	smtp.Refuse(nil)
	e.srv.Close(ctx)
	next := e.replica(t)
	e.clock.Advance(engineLeaseAndBackoff)
	if n, err := next.Notifier.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d (err %v) after the restart, want 1", n, err)
	}
	if n, _ := next.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("delivered twice")
	}
	one(t, smtp, "carol@example.com")
}

// Two replicas: requests made through both, both run their notifiers, and
// each recipient gets one message per event; a manager change tells the new
// approver only, and changing back tells nobody again.
func TestEmailOncePerRecipientAcrossReplicas(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	other := e.replica(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, "", ""))
	ctx := context.Background()

	e.ok("alice", "profile", "request", "eng")
	first := e.srv.URL
	e.srv.URL = other.URL
	e.ok("dave", "profile", "request", "eng")
	e.srv.URL = first
	delivered := 0
	for range 3 {
		for _, s := range []interface {
			RunOnce(context.Context) (int, error)
		}{e.srv.Notifier, other.Notifier} {
			n, err := s.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			delivered += n
		}
	}
	equal(t, "delivered by both replicas", delivered, 2)
	equal(t, "to carol", len(smtp.To("carol@example.com")), 2)

	// alice's manager becomes erin: erin is told; back to carol, nobody is
	// told again of the same step.
	doc := "users:\n  - {id: alice, email: alice@example.com, name: Alice Smith, manager: %s, department: Engineering}\n"
	e.apply(fmt.Sprintf(doc, "erin"))
	e.apply(fmt.Sprintf(doc, "carol"))
	equal(t, "delivered after the manager changes", e.notify(), 1)
	contains(t, "new approver's subject", one(t, smtp, "erin@example.com").Subject, "Alice Smith")
	equal(t, "to carol", len(smtp.To("carol@example.com")), 2)
}

// A step that waits remind_after reminds its approver once; after
// escalate_after its fallback becomes an approver too, is told, and decides.
func TestEmailRemindsThenEscalates(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, "", "    remind_after: 24h\n    escalate_after: 72h\n"))
	ctx := context.Background()
	remind := func() int {
		t.Helper()
		n, err := e.srv.Reminders.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	var task roster.Task
	e.json(&task, "alice", "profile", "request", "eng")
	equal(t, "delivered", e.notify(), 1)
	e.clock.Advance(23 * time.Hour)
	equal(t, "reminded before remind_after", remind(), 0)
	e.clock.Advance(2 * time.Hour)
	equal(t, "reminded", remind(), 1)
	equal(t, "reminded again", remind(), 0)
	equal(t, "delivered the reminder", e.notify(), 1)
	ms := smtp.To("carol@example.com")
	equal(t, "to carol", len(ms), 2)
	contains(t, "reminder", ms[1].Subject, "Reminder", "Alice Smith")
	equal(t, "task.reminded events", len(e.events("--action", "task.reminded")), 1)

	e.clock.Advance(48 * time.Hour)
	equal(t, "escalated", remind(), 1)
	equal(t, "escalated again", remind(), 0)
	equal(t, "delivered the escalation", e.notify(), 1)
	contains(t, "escalation", one(t, smtp, "sam@example.com").Subject, "Escalated", "Alice Smith")
	var got roster.Task
	e.json(&got, adminUser, "task", "show", id(task))
	equal(t, "approvers after escalation", got.Approvers, []string{"carol", "sam"})
	if !slices.ContainsFunc(got.History, func(h roster.TaskAction) bool {
		return h.Action == roster.HistoryEscalated && strings.Contains(h.Comment, "added sam")
	}) {
		t.Fatalf("history does not record the escalation: %+v", got.History)
	}
	equal(t, "task.escalated events", len(e.events("--action", "task.escalated")), 1)
	// The added approver decides, checked like any approver.
	e.ok("sam", "task", "approve", id(task))
	equal(t, "members", e.members("eng"), []string{"alice:manual"})
}

// Email settings that name an environment variable outside the secret
// prefix are refused at apply, naming the setting.
func TestEmailSettingsRefused(t *testing.T) {
	e := start(t)
	e.apply(org)
	e.applyFails("settings.notifications.email.password_env", adminUser, `
settings:
  notifications:
    email: {smtp_host: 127.0.0.1, smtp_port: 2525, from: roster@example.com, username_env: ROSTER_SECRET_USER, password_env: SMTP_PASSWORD}
`)
	e.applyFails("settings.notifications.email.from", adminUser, `
settings:
  notifications:
    email: {smtp_host: 127.0.0.1, from: nobody}
`)
	var s roster.Settings
	e.json(&s, adminUser, "settings", "show")
	if s.Notifications.Email != nil {
		t.Fatalf("refused settings were saved: %+v", s.Notifications.Email)
	}
}

// A step's approvers that change with a group's membership are resolved
// again when someone decides; when that someone is no longer an approver
// the decision is refused, and the new approver is mailed all the same.
func TestEmailNewApproverAtDecision(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + `
profiles:
  - id: sec
    name: Security tools
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: security, bypass_entitlement_policies: true}
    automation: {enabled: false}
`)
	e.apply(emailSettings(smtp, "", ""))

	// Enrolling in sec needs sam, then a member of okta/security-team.
	var task roster.Task
	e.json(&task, "alice", "profile", "request", "sec", "--comment", "on call")
	e.ok("sam", "task", "approve", id(task))
	task = e.task("--user", "alice", "--entitlement", "access-profiles/sec")
	if !slices.Contains(task.Approvers, "tess") {
		t.Fatalf("step 2's approvers: %v", task.Approvers)
	}
	e.notify()
	equal(t, "to tess", len(smtp.To("tess@example.com")), 1)

	// tess leaves the security team and erin joins it: nothing resolves
	// the step again until tess tries to approve and is refused.
	e.ok(adminUser, "grant", "remove", "tess", "okta/security-team")
	e.ok(adminUser, "grant", "add", "erin", "okta/security-team")
	equal(t, "delivered before the decision", e.notify(), 0)
	e.fails("", "tess", "task", "approve", id(task))
	task = e.task("--user", "alice", "--entitlement", "access-profiles/sec")
	if !slices.Contains(task.Approvers, "erin") || slices.Contains(task.Approvers, "tess") {
		t.Fatalf("approvers after the refusal: %v", task.Approvers)
	}
	equal(t, "delivered after the refusal", e.notify(), 1)
	m := one(t, smtp, "erin@example.com")
	contains(t, "new approver's subject", m.Subject, "Approve?", "Alice", "Security tools")
	contains(t, "new approver's text", m.Text, fmt.Sprintf("https://roster.example.com/tasks/%d", task.ID), "step 2 of 2")
	// Told once: another refusal does not mail erin again.
	e.fails("", "tess", "task", "approve", id(task))
	equal(t, "delivered after a second refusal", e.notify(), 0)
	e.ok("erin", "task", "approve", id(task))
}

// A reminder resolves the step again too: an approver it has only now is
// asked, not reminded, and one it lost hears nothing more.
func TestEmailNewApproverAtReminder(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org)
	e.apply(`
policies:
  - id: team
    steps:
      - {approvers: entitlement_members, entitlement: okta/security-team}
profiles:
  - id: sec
    name: Security tools
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: team, bypass_entitlement_policies: true}
    automation: {enabled: false}
`)
	e.apply(emailSettings(smtp, "", "    remind_after: 24h\n"))

	var task roster.Task
	e.json(&task, "alice", "profile", "request", "sec")
	equal(t, "approvers", task.Approvers, []string{"sam", "tess"})
	equal(t, "delivered", e.notify(), 2)
	e.ok(adminUser, "grant", "remove", "tess", "okta/security-team")
	e.ok(adminUser, "grant", "add", "erin", "okta/security-team")
	e.clock.Advance(25 * time.Hour)
	if n, err := e.srv.Reminders.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("reminded %d (err %v), want 1", n, err)
	}
	equal(t, "delivered the reminder", e.notify(), 2)
	ms := smtp.To("sam@example.com")
	equal(t, "to sam", len(ms), 2)
	contains(t, "sam's reminder", ms[1].Subject, "Reminder", "Alice Smith", "Security tools")
	asked := one(t, smtp, "erin@example.com")
	contains(t, "erin's message", asked.Subject, "Approve?", "Alice Smith")
	if strings.Contains(asked.Subject, "Reminder") {
		t.Fatalf("erin was reminded of what she was never asked: %q", asked.Subject)
	}
	equal(t, "to tess", len(smtp.To("tess@example.com")), 1)
}

// Many emails at once: a sync that starts 1,200 enrollments enqueues an
// email to each manager per task, and one run of the notifier delivers them
// all — more than one pass's worth — while two replicas run theirs at the
// same time: each message arrives once, and each delivery is audited once.
func TestEmailManyAtOnceOncePerRecipient(t *testing.T) {
	const n = 1200
	smtp := smtptest.Start(t)
	e := start(t)
	other := e.replica(t)
	e.apply(org)
	e.apply(emailSettings(smtp, "", ""))
	var b strings.Builder
	b.WriteString("users:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: p%04d, email: p%04d@example.com, name: Person %d, manager: m%02d}\n", i, i, i, i%40)
	}
	for m := range 40 {
		fmt.Fprintf(&b, "  - {id: m%02d, email: m%02d@example.com, name: Manager %d}\n", m, m, m)
	}
	b.WriteString("grants:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {user: p%04d, entitlement: okta/sales}\n", i)
	}
	b.WriteString(`profiles:
  - id: sales
    name: Sales onboarding
    entitlements: [slack/general]
    enrollment: {policy: manager}
    automation: {enabled: true, any_entitlement: [okta/sales]}
`)
	res := e.apply(b.String())
	if len(res.Synced) != 1 || len(res.Synced[0].Enrolled) != n {
		t.Fatalf("synced %+v, want %d enrollments", res.Synced, n)
	}

	ctx := context.Background()
	var delivered [2]int
	var errs [2]error
	done := make(chan struct{})
	go func() {
		defer close(done)
		delivered[1], errs[1] = other.Notifier.RunOnce(ctx)
	}()
	delivered[0], errs[0] = e.srv.Notifier.RunOnce(ctx)
	<-done
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("notifiers: %v, %v", errs[0], errs[1])
	}
	equal(t, "delivered by the two replicas", delivered[0]+delivered[1], n)
	equal(t, "received", len(smtp.Messages()), n)
	for _, m := range []string{"m00", "m17", "m39"} {
		equal(t, "to "+m, len(smtp.To(m+"@example.com")), n/40)
	}
	equal(t, "delivered again", e.notify()+func() int { k, _ := other.Notifier.RunOnce(ctx); return k }(), 0)
	equal(t, "notify.delivered events", len(e.events("--action", "notify.delivered")), n)
	contains(t, "an email", smtp.To("m17@example.com")[0].Text, "Hello Manager 17", "Person", "Enroll in Sales onboarding")
}
