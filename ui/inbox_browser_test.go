package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/engine"
	"github.com/rosterhq/roster/internal/smtptest"
)

// withDemoMail shows what smtp caught at /demo/mail, as roster serve --demo
// does with its mail catcher.
func withDemoMail(smtp *smtptest.Server) envOption {
	return func(cfg *Config, _ string) { cfg.DemoMail = smtp }
}

// phone makes the browser's viewport a phone's, portrait.
func (b *browser) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile))
}

// TestBrowserInbox is an approver's morning: the email that a task waits on
// them, read on a phone; the inbox on a desktop, where they approve two
// tasks at once; a task's page on a phone, where they deny one with a
// reason and go on to the next.
func TestBrowserInbox(t *testing.T) {
	smtp := smtptest.Start(t)
	e := newEnv(t, withDemoMail(smtp))
	e.apply(fmt.Sprintf(`
settings:
  base_url: %s
  notifications:
    email: {smtp_host: %s, smtp_port: %d, from: roster@example.com}
grants:
  - {user: alice, entitlement: github/org-member}
`, e.srv.URL, smtp.Host, smtp.Port))
	e.apply(managerEnrollment + onCall)
	request, err := e.engine.RequestProfile(e.as("alice"), "oncall", "I join the on-call rota next week")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewNotifier(e.engine, 0).RunOnce(context.Background()); err != nil {
		t.Fatalf("notifier: %v", err)
	}
	var mail *smtptest.Message
	for _, m := range smtp.To("raj@example.com") {
		if strings.Contains(m.Subject, "On-call tooling") {
			mail = &m
		}
	}
	if mail == nil || mail.HTML == "" {
		t.Fatalf("no HTML email to raj about alice's request; caught %d messages", len(smtp.Messages()))
	}
	w := e.waiting("raj")

	// The email, on a phone.
	raj := newBrowser(t, e)
	raj.signIn(e.token("raj"))
	if loc := raj.location(); !strings.HasSuffix(loc, "/inbox") {
		t.Errorf("after sign-in raj is at %s, want his inbox", loc)
	}
	raj.phone()
	raj.open(fmt.Sprintf("/demo/mail/%d", mail.ID))
	raj.want("#mail-subject", "Alice Chen", "On-call tooling")
	raj.click("#mail-html")
	raj.want("body", "Alice Chen, Engineer, Engineering", "Enroll in On-call tooling", "I join the on-call rota next week",
		"GitHub: Organisation owner (high risk)", "Risk: high", "Approve or deny it")
	raj.screenshot(t.Name() + "-3-email-phone")
	// Its link opens the task, signed in: the email is another site, whose
	// links the session cookie (SameSite=Strict) does not follow at once.
	raj.click("a")
	raj.do(chromedp.WaitVisible(chromedp.CSS("#subject")))
	if loc := raj.location(); loc != fmt.Sprintf("%s/tasks/%d", e.srv.URL, request.ID) {
		t.Errorf("the email's link led to %s, want task %d", loc, request.ID)
	}
	raj.want("h1", "Enroll Alice Chen in On-call tooling")

	// The inbox, on a desktop: five tasks, two approved at once.
	raj.do(chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	raj.open("/")
	raj.want("#nav-inbox", "Waiting for me", "5")
	if n := raj.count("#to-decide li"); n != 5 {
		t.Errorf("raj's inbox lists %d tasks to decide, want 5", n)
	}
	raj.want("#to-decide", "Enroll Alice Chen in On-call tooling", "high risk", "Alice Chen asked for it",
		"Bob Martin matches the rule of Engineering onboarding: holds okta/engineering")
	// A denial without a reason decides nothing.
	raj.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#pick-%d", w["dmitri"]))))
	raj.click("#deny-selected")
	raj.want("#flash", "a denial needs a reason", "nothing was decided")
	if n := raj.count("#to-decide li"); n != 5 {
		t.Errorf("after a denial without a reason raj's inbox lists %d tasks, want 5", n)
	}
	raj.do(
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#pick-%d", w["bob"]))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#pick-%d", w["carlos"]))),
		chromedp.SendKeys(chromedp.CSS("#bulk-comment"), "Welcome to the team"),
	)
	raj.click("#approve-selected")
	raj.want("#flash", "2 approved.")
	raj.want("#nav-inbox", "3")
	if n := raj.count("#to-decide li"); n != 3 {
		t.Errorf("after approving two, raj's inbox lists %d tasks, want 3", n)
	}
	raj.screenshot(t.Name() + "-1-inbox")

	// Alice's request on a phone: who she is, what the profile gives and
	// what she holds already; he denies it with a reason and goes on.
	raj.phone()
	raj.click(fmt.Sprintf(`#to-decide a[href="/tasks/%d"]`, request.ID))
	raj.want("h1", "Enroll Alice Chen in On-call tooling")
	raj.want("#subject", "Alice Chen", "Engineer", "Engineering", "Raj Patel")
	raj.want("#why", "Alice Chen asked for it", "I join the on-call rota next week")
	raj.want("#contents", "GitHub · Organisation owner", "high risk", "new", "GitHub · Organisation member", "already held")
	raj.want("#access", "Okta · Engineering department", "GitHub · Organisation member")
	// Nothing is wider than the phone's screen.
	if wide := raj.evalInt("document.documentElement.scrollWidth"); wide > 390 {
		t.Errorf("the task page is %dpx wide on a 390px phone", wide)
	}
	raj.screenshot(t.Name() + "-2-task-phone")
	raj.do(chromedp.SendKeys(chromedp.CSS("#comment"), "Not before the rota training"))
	raj.click("#deny")
	raj.want("#flash", fmt.Sprintf("Denied task %d", request.ID), "Next: task")
	if loc := raj.location(); strings.HasSuffix(loc, fmt.Sprintf("/tasks/%d", request.ID)) || !strings.Contains(loc, "/tasks/") {
		t.Errorf("after denying, raj is at %s, want the next task waiting on him", loc)
	}
}

// evalInt evaluates a JavaScript expression of the test (not of the page,
// which runs none) and returns its integer value.
func (b *browser) evalInt(expr string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return n
}

// TestBrowserMyTokens: a person creates an API token in the console, sees
// its value once, and revokes it.
func TestBrowserMyTokens(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, e)
	b.signIn(e.token("alice"))
	b.click(`.who a[href="/tokens"]`)
	b.want("#tokens", "this session")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#token-name"), "laptop CLI"),
		chromedp.SetValue(chromedp.CSS("#token-expires"), "30d"),
	)
	b.click("#create")
	b.want("#new-token", "shown only this once", "It expires 2026-04-01")
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#new-token-value")))
	if err != nil {
		t.Fatalf("read the new token: %v", err)
	}
	if !strings.HasPrefix(secret, "rst_") || e.api(secret, "/api/v1/me") != 200 {
		t.Fatalf("the token shown (%q) does not work against the API", secret)
	}
	b.want("#tokens", "laptop CLI")
	b.screenshot(t.Name())
	toks, err := e.engine.Tokens(e.as("alice"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Name == "laptop CLI" {
			b.do(chromedp.Click(chromedp.CSS("#revoke-" + tok.ID)))
			b.click("#confirm-revoke-" + tok.ID)
			b.want("#flash", "Revoked token "+tok.ID)
		}
	}
	if got := e.api(secret, "/api/v1/me"); got != 401 {
		t.Errorf("the revoked token: status %d from the API, want 401", got)
	}
	if n := b.count("#new-token"); n != 0 {
		t.Error("the token's value is shown again")
	}
}
