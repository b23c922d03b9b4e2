package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/internal/testenv"
)

// axeViolation is one rule axe-core found broken on a screen.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkA11y runs axe-core on the current screen and fails the test on any
// serious or critical violation, naming the rule and the elements.
func (b *browser) checkA11y(axe string) {
	b.t.Helper()
	for _, v := range b.axeViolations(axe) {
		b.t.Errorf("%s: %s", b.location(), v)
	}
}

// axeViolations runs axe-core on the current screen and describes its
// serious and critical violations.
func (b *browser) axeViolations(axe string) []string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	loc := b.location()
	// The page runs no JavaScript of its own; axe runs in the test's, and
	// its asynchronous result is read back once it is there.
	start := axe + `;window.__axe = "";axe.run(document, {resultTypes: ["violations"]}).then(r => { window.__axe = JSON.stringify(r.violations) }, e => { window.__axe = JSON.stringify({error: String(e)}) }); true`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](start)); err != nil {
		b.t.Fatalf("start axe-core on %s: %v", loc, err)
	}
	var out string
	for out == "" {
		var err error
		if out, err = chromedp.Run(ctx, chromedp.Evaluate[string](`window.__axe`)); err != nil {
			b.t.Fatalf("read axe-core's result on %s: %v", loc, err)
		}
		if out == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe-core on %s: %s", loc, out)
	}
	var found []string
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, strings.Trim(strings.ReplaceAll(strings.TrimSpace(jsonString(n.Target)), `"`, ""), "[]"))
		}
		found = append(found, fmt.Sprintf("%s violation %s (%s) at %s", v.Impact, v.ID, v.Help, strings.Join(where, "; ")))
	}
	return found
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBrowserAccessibility runs axe-core on the console's screens, on a
// desktop and on a phone, as an admin and as an approver: no serious or
// critical violation.
func TestBrowserAccessibility(t *testing.T) {
	axe := testenv.RequireAxe(t)
	e := newEnv(t)
	pausedEng(t, e)
	admin := newBrowser(t, e)
	admin.signIn(adminToken)
	// The check finds what it must: a button without a name is critical.
	admin.open("/profiles")
	admin.evalInt(`document.querySelector("main").append(document.createElement("button")); 1`)
	if vs := admin.axeViolations(axe); len(vs) == 0 || !strings.Contains(strings.Join(vs, "\n"), "button-name") {
		t.Fatalf("axe-core does not report a button without a name: %v", vs)
	}
	screens := []string{"/profiles", "/profiles/eng", "/profiles/eng/entitlements", "/profiles/eng/controls", "/profiles/eng/review",
		"/profiles/eng/history", "/profiles/eng?find=a", "/profiles/eng/entitlements?q=git", "/profiles/eng/controls?rule_q=okta&excluded_q=a",
		"/users/george", "/users?q=a", "/users?manager=raj+patel", "/tasks?view=all&user=example.com", "/tasks?view=all&approver=raj", "/apps?q=git", "/inbox", "/tasks", "/request", "/users", "/users/alice", "/apps", "/events", "/changes", "/tokens", "/new-profile"}
	for _, s := range screens {
		admin.open(s)
		admin.checkA11y(axe)
	}
	admin.open("/profiles/eng")
	admin.screenshot(t.Name() + "-members")
	admin.phone()
	for _, s := range []string{"/profiles", "/profiles/eng", "/profiles/eng/controls", "/profiles/eng/review", "/users", "/apps", "/tasks"} {
		admin.open(s)
		admin.checkA11y(axe)
		if w := admin.evalInt(`document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone", s, w)
		}
	}
	admin.open("/profiles/eng/review")
	admin.screenshot(t.Name() + "-review-phone")

	// The auditor reads Controls and the review, read-only.
	grace := newBrowser(t, e)
	grace.signIn(e.token("grace"))
	for _, s := range []string{"/profiles/eng", "/profiles/eng/controls", "/profiles/eng/review", "/users/george", "/events"} {
		grace.open(s)
		grace.checkA11y(axe)
	}
	grace.open("/profiles/eng/controls")
	grace.screenshot(t.Name() + "-auditor-controls")

	raj := newBrowser(t, e)
	raj.signIn(e.token("raj"))
	for _, s := range []string{"/inbox", "/tasks", "/request", "/profiles"} {
		raj.open(s)
		raj.checkA11y(axe)
	}
}
