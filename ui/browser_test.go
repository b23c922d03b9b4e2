package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/testenv"
)

// The browser tests drive the console in Debian's Chromium, headless, against
// the real engine on SQLite. Each saves a full-page screenshot of the screen
// it ends on to <test>.png in screenshotDir, for a reviewer to look at.

// browser is one Chromium with its own profile directory: one person's
// browser session.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newBrowser starts a Chromium for the env's server.
func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	chromiumPath := testenv.RequireChromium(t)
	dir := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v — install it with `apt-get update && apt-get install -y chromium`", chromiumPath, err)
	}
	return &browser{t: t, ctx: ctx, base: e.srv.URL}
}

// do runs steps with a timeout.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// open loads a page of the console.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// click clicks sel and waits for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do(
		chromedp.SetAttributeValue(chromedp.CSS("body"), "data-stale", "1"),
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitReady(chromedp.CSS("body:not([data-stale])")),
	)
}

// text returns the text of sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v (at %s)", sel, err, b.location())
	}
	return s
}

// want checks that sel shows every one of wants.
func (b *browser) want(sel string, wants ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range wants {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s at %s says %q, want %q in it", sel, b.location(), got, w)
		}
	}
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// signIn signs in with an API token through the sign-in form.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/signin")
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token))
	b.click("#signin")
	b.do(chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
}

// screenshotDir is where screenshots go: testdata/screenshots, which the
// README shows, when ROSTER_UPDATE_SCREENSHOTS is set (whoever changes the
// console refreshes them on purpose); otherwise a directory of the
// machine's temporary one, so that running the tests does not rewrite the
// committed ones with renders that differ by a few pixels.
func screenshotDir() string {
	if os.Getenv("ROSTER_UPDATE_SCREENSHOTS") != "" {
		return filepath.Join("testdata", "screenshots")
	}
	return filepath.Join(os.TempDir(), "roster-ui-screenshots")
}

// screenshot saves a full-page PNG of the current page as <name>.png in
// screenshotDir.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.screenshotOf(name, chromedp.FullScreenshot(100))
}

// viewScreenshot saves what the window shows, not the whole page: the
// first screen of a long list.
func (b *browser) viewScreenshot(name string) {
	b.t.Helper()
	b.screenshotOf(name, chromedp.CaptureScreenshot())
}

func (b *browser) screenshotOf(name string, take chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, take)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	b := newBrowser(t, e)

	// A page behind sign-in sends the browser to the form, and back after.
	b.open("/tasks")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), "wrong-token"))
	b.click("#signin")
	b.want("#error", "Sign-in failed", "the API token is not valid")
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), adminToken))
	b.click("#signin")
	if loc := b.location(); !strings.HasSuffix(loc, "/tasks") {
		t.Errorf("after sign-in the browser is at %s, want /tasks", loc)
	}
	b.want(".who", "Administrator", "admin")

	// Sign out, then in again to the profiles.
	b.click(".who button")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	b.open("/profiles")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), adminToken))
	b.click("#signin")
	b.want("#profiles", "Engineering onboarding")
	b.screenshot(t.Name())
}

func TestBrowserBuildProfileAndApproveEnrollment(t *testing.T) {
	e := newEnv(t)
	admin := newBrowser(t, e)
	admin.signIn(adminToken)

	// New profile.
	admin.want("main", "No access profiles yet")
	admin.click("#new-profile")
	admin.do(
		chromedp.SendKeys(chromedp.CSS("#id"), "eng"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Engineering onboarding"),
		chromedp.SendKeys(chromedp.CSS("#description"), "What every engineer gets on day one."),
	)
	admin.click("#create")
	admin.want("#flash", "Created profile eng", "created profile eng")

	// Entitlements tab: add two.
	for _, ent := range []string{"github/org-member", "slack/eng"} {
		admin.do(chromedp.Click(chromedp.CSS(`input[id="ents-` + ent + `"]`)))
		admin.click("#add")
		admin.want("#flash", "Saved.", "updated profile eng")
	}
	admin.want("#contents", "github/org-member", "slack/eng")
	admin.screenshot(t.Name() + "-1-entitlements")

	// Controls tab: enrollment by the manager, bypassing the entitlements'
	// policies; automation on, keyed on okta/engineering, George excluded.
	admin.click(`nav.tabs a[href="/profiles/eng/controls"]`)
	admin.do(
		chromedp.Click(chromedp.CSS("#allow-requests")),
		chromedp.SetValue(chromedp.CSS("#enrollment-policy"), "manager"),
		chromedp.Click(chromedp.CSS("#enrollment-bypass")),
		chromedp.SetValue(chromedp.CSS("#unenrollment-policy"), "auto"),
		chromedp.Click(chromedp.CSS("#access-revoke_unjustified")),
		chromedp.Click(chromedp.CSS("#unenrollment-bypass")),
		chromedp.Click(chromedp.CSS("#automation-enabled")),
		chromedp.Click(chromedp.CSS("#mode-sync_and_act")),
		chromedp.Click(chromedp.CSS(`input[name="any_entitlement"][value="okta/engineering"]`)),
		chromedp.SendKeys(chromedp.CSS("#excluded-users"), "george"),
	)
	admin.click("#save-controls")
	admin.want("#flash", "Saved.", "updated profile eng", "Synced eng: 4 enrollments")
	admin.want("#last-sync", "4 enrollment")
	admin.screenshot(t.Name() + "-2-controls")

	p := e.profile("eng")
	if !p.Automation.Enabled || p.Enrollment.Policy != "manager" || !p.Enrollment.BypassEntitlementPolicies ||
		p.Unenrollment.Policy != "auto" || !p.AllowEnrollmentRequests || !p.Automation.Safeguard ||
		strings.Join(p.Automation.ExcludedUsers, ",") != "george" || strings.Join(p.Automation.AnyEntitlement, ",") != "okta/engineering" {
		t.Fatalf("profile saved from the console: %+v", p)
	}

	// Members tab: four pending enrollments, nobody a member yet.
	admin.click(`nav.tabs a[href="/profiles/eng"]`)
	admin.want("#pending", "4 pending enrollments")
	admin.want("#pending-table", "Alice Chen", "Bob Martin", "Carlos Mendes", "Dmitri Volkov", "waiting")
	admin.want("#no-members", "No members")
	admin.click("#pending a")
	if n := admin.count("#task-list tbody tr"); n != 4 {
		t.Errorf("the pending enrollments link lists %d tasks, want 4", n)
	}
	admin.want("#task-list", "Member of Engineering onboarding", "Alice Chen (alice)", "Raj Patel")

	// The manager approves Alice's enrollment in a browser of his own.
	page, err := e.engine.Tasks(e.as("raj"), roster.TaskFilter{Approver: "raj", User: "alice", OpenOnly: true})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("alice's enrollment task: %v %+v", err, page)
	}
	task := page.Items[0].ID
	raj := newBrowser(t, e)
	raj.signIn(e.token("raj"))
	raj.open("/tasks")
	raj.want("nav.tabs", "My approvals 4") // four enrollments; George's exclusion is recorded at once
	raj.click(fmt.Sprintf(`#task-list a[href="/tasks/%d"]`, task))
	raj.want("#steps", "manager", "waiting on Raj Patel (raj)")
	raj.do(chromedp.SendKeys(chromedp.CSS("#comment"), "Welcome aboard"))
	raj.click("#approve")
	raj.want("#flash", fmt.Sprintf("Approved task %d", task), "done", "Next: task")
	raj.open(taskURL(task))
	raj.want("#history", "Raj Patel (raj)", "approved", "Welcome aboard")
	raj.screenshot(t.Name() + "-3-manager")

	// The admin sees Alice as a member, and her access with its source.
	admin.open("/profiles/eng")
	admin.want("#members", "alice", "automation")
	admin.want("#pending", "3 pending enrollments")
	admin.click(`#members a[href="/users/alice"]`)
	admin.want("#grants", "Member of Engineering onboarding", "github/org-member", "slack/eng", "profile:eng")
	admin.want("#user-profiles", "Engineering onboarding", "automation")
	admin.screenshot(t.Name())
}

func TestBrowserSafeguardReviewAndResume(t *testing.T) {
	e := newEnv(t)
	e.apply("settings:\n  safeguard: {min_members: 2, max_removal_percent: 20}\n" + engProfile)
	if n := len(e.profile("eng").Members); n != 4 {
		t.Fatalf("eng has %d members, want 4", n)
	}
	// Two engineers leave the Engineering group.
	for _, u := range []string{"bob", "carlos"} {
		if err := e.engine.RemoveGrant(e.as(roster.AdminUser), u, "okta/engineering"); err != nil {
			t.Fatalf("remove %s's okta/engineering: %v", u, err)
		}
	}
	e.clock.Advance(time.Minute)

	b := newBrowser(t, e)
	b.signIn(adminToken)
	b.open("/profiles/eng/controls")
	b.click("#sync-now")
	// Removing 2 of 4 is more than 20%: the sync is paused and shown for review.
	if loc := b.location(); !strings.HasSuffix(loc, "/profiles/eng/review") {
		t.Fatalf("after Sync now the browser is at %s, want the review", loc)
	}
	b.want("#flash", "paused by the safeguard")
	b.want("#staged-unenroll", "bob", "carlos")
	if p := e.profile("eng"); p.Automation.State != roster.AutomationPaused || len(p.Members) != 4 {
		t.Fatalf("after the paused sync: state %s, %d members", p.Automation.State, len(p.Members))
	}

	// The profiles list carries a banner that leads to the review.
	b.open("/profiles")
	b.want(".banner", "Sync paused", "Engineering onboarding")
	b.screenshot(t.Name() + "-1-banner")
	b.click(`.banner a[href="/profiles/eng/review"]`)
	b.want("#review-title", "Review the paused sync")

	// Go back leads to the membership automation; the plan stays staged.
	b.click("#go-back")
	b.do(chromedp.WaitVisible(chromedp.CSS("#rule")))
	if loc := b.location(); !strings.HasSuffix(loc, "/profiles/eng/controls#rule") {
		t.Errorf("Go back leads to %s, want the rule on the Controls page", loc)
	}
	b.want("#paused-banner", "Membership automation paused")
	b.click(`#paused-banner a`)
	b.screenshot(t.Name() + "-2-review")

	// Resume asks first, stating the count, then applies the staged unenrollments.
	b.want("#verdict", "would remove 2 of 4 members (50%)")
	b.want("#staged-unenroll", "Bob Martin", "lost okta/engineering")
	b.do(chromedp.Click(chromedp.CSS("#resume-confirm summary")), chromedp.WaitVisible(chromedp.CSS("#resume")))
	b.want("#resume", "Remove 2 people")
	b.click("#resume")
	b.want("#flash", "Resumed the sync", "2 unenrollments")
	b.want("#members", "alice", "dmitri")
	members := b.text("#members")
	if strings.Contains(members, "bob") || strings.Contains(members, "carlos") {
		t.Errorf("bob and carlos are still members after the resume: %s", members)
	}
	if n := b.count("#paused-banner"); n != 0 {
		t.Errorf("the paused banner is still shown after the resume")
	}
	if p := e.profile("eng"); p.Automation.State != roster.AutomationActive || len(p.Members) != 2 {
		t.Errorf("after the resume: state %s, members %+v", p.Automation.State, p.Members)
	}
	b.screenshot(t.Name())
}

func TestBrowserNonAdminCannotReachControls(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile + `
  - id: oncall
    name: On-call tooling
    description: Paging and the production dashboards, on request.
    entitlements: [github/admin]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	b := newBrowser(t, e)
	b.signIn(e.token("alice"))

	// Alice sees her own access and can request a profile.
	b.open("/request")
	b.want("#requestable", "Engineering onboarding", "Member", "On-call tooling")
	b.do(chromedp.SendKeys(chromedp.CSS("#comment-oncall"), "I join the rota next week"))
	b.click("#request-oncall")
	b.want("#flash", "Requested oncall", "pending approval")
	b.want("#my-requests", "Member of On-call tooling", "raj")

	// The profile shows no admin controls to her.
	b.open("/profiles/eng")
	if n := b.count(`a[href="/profiles/eng/controls"]`); n != 0 {
		t.Errorf("alice sees a link to the Controls")
	}
	if n := b.count("#enroll"); n != 0 {
		t.Errorf("alice sees the Enroll users form")
	}
	b.want("#members", "alice")

	// Typing the address gives a clear 403 page.
	b.open("/profiles/eng/controls")
	b.want("#error-title", "Admins and auditors only")
	b.want("#error-message", "Only admins and auditors may see a profile's controls", "alice")
	b.screenshot(t.Name())
}

func TestBrowserTasksCatalogAndAuditLog(t *testing.T) {
	e := newEnv(t)
	e.apply(strings.Replace(engProfile, "{policy: auto, bypass", "{policy: manager, bypass", 1))

	// The manager's approvals, and one task waiting on him.
	raj := newBrowser(t, e)
	raj.signIn(e.token("raj"))
	raj.open("/tasks")
	if n := raj.count("#task-list tbody tr"); n != 4 {
		t.Errorf("raj has %d approvals listed, want 4 (four enrollments; the exclusion is recorded at once)", n)
	}
	raj.click(`#task-list tbody tr:first-child a`)
	raj.want("#decide", "Approve", "Deny")
	raj.want("#steps", "waiting on Raj Patel (raj)")
	raj.screenshot(t.Name() + "-1-approval")

	// The admin filters every task by state and origin.
	admin := newBrowser(t, e)
	admin.signIn(adminToken)
	admin.open("/tasks?view=all")
	admin.do(
		chromedp.SetValue(chromedp.CSS("#f-state"), string(roster.StateDone)),
		chromedp.SetValue(chromedp.CSS("#f-origin"), string(roster.OriginExclusion)),
	)
	admin.click(`form.filters button[type="submit"]`)
	if n := admin.count("#task-list tbody tr"); n != 1 {
		t.Errorf("filtered task list has %d rows, want George's exclusion only", n)
	}
	admin.want("#task-list", "george", "Excluded from Engineering onboarding")

	admin.open("/apps")
	admin.want("main", "GitHub", "github/org-member", "Approval policies", "manager")
	admin.screenshot(t.Name() + "-2-apps")

	// The audit log, filtered by action.
	admin.open("/events")
	admin.do(chromedp.SendKeys(chromedp.CSS("#f-action"), "profile.created"))
	admin.click(`form.filters button[type="submit"]`)
	if n := admin.count("#events tbody tr"); n != 1 {
		t.Errorf("audit log filtered by profile.created has %d rows, want 1", n)
	}
	admin.want("#events", "profile.created", "eng", "admin")
	admin.open("/events?object_type=task")
	admin.want("#events", "task.created")
	admin.screenshot(t.Name())
}

func TestBrowserPreviewControls(t *testing.T) {
	e := newEnv(t)
	e.apply("settings:\n  safeguard: {min_members: 2, max_removal_percent: 30}\n" + engProfile)
	b := newBrowser(t, e)
	b.signIn(adminToken)
	b.open("/profiles/eng/controls")
	// The rule moves from the Engineering group to All employees, whom
	// nobody holds: untick one, tick the other, and Preview.
	b.do(
		chromedp.Click(chromedp.CSS(`input[id="rule-okta/engineering"]`)),
		chromedp.Click(chromedp.CSS(`input[id="rule-okta/employees"]`)),
	)
	b.click("#preview-controls")
	b.want("#preview", "Nothing has been saved.", "+0 / −4", "Alice Chen", "no longer matches: okta/engineering left the rule",
		"loses github/org-member", "The safeguard would pause this sync", "remove 4 of 4 members")
	b.want("#preview-safeguard-eng", "pause")
	b.screenshot(t.Name())
	if p := e.profile("eng"); p.Automation.AnyEntitlement[0] != "okta/engineering" || len(p.Members) != 4 {
		t.Fatalf("the preview changed the profile: %+v", p.Automation)
	}
	// The form keeps the edit: Save saves it, and says the sync paused.
	b.click("#save-controls")
	b.want("#flash", "Saved, but the safeguard paused the sync")
	if p := e.profile("eng"); p.Automation.State != roster.AutomationPaused {
		t.Errorf("after the save: state %s, want paused", p.Automation.State)
	}
}
