package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster"
)

// ssoLogin signs in at the test provider's login form as username, and
// waits for the page the console answers.
func (b *browser) ssoLogin(username string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := b.location(); !strings.Contains(loc, "/login/username") {
		b.t.Fatalf("the SSO link led to %s, want the provider's login form", loc)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), ssoPassword),
	)
	b.click(`button[type="submit"]`)
}

// TestBrowserSSO signs in through the test OpenID provider in Chromium: a
// user lands where they were going, signed in as themselves, and signs out;
// a disabled user and an unknown email are refused with the reason on the
// sign-in page; a forged state and a replayed callback are refused.
func TestBrowserSSO(t *testing.T) {
	var p *ssoProvider
	e := newEnv(t, withSSO(t, &p))
	e.apply(`
users:
  - {id: george, email: george@example.com, name: George Okoro, manager: raj, department: Engineering, title: Contractor, status: disabled}
`)
	b := newBrowser(t, e)

	// A page behind sign-in leads to the sign-in page, whose SSO link leads
	// to the provider and, once signed in there, back to the page.
	b.open("/tasks")
	b.do(chromedp.WaitVisible(chromedp.CSS("#sso")))
	b.want("#sso", "Sign in with SSO")
	b.click("#sso")
	b.ssoLogin("alice")
	b.do(chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
	if loc := b.location(); loc != e.srv.URL+"/tasks" {
		t.Errorf("after SSO the browser is at %s, want %s/tasks", loc, e.srv.URL)
	}
	b.want(".who", "Alice Chen", "alice")
	if ev := e.lastEvent(); ev.Action != roster.ActionUserSignedIn || ev.Actor != "alice" || ev.ObjectID != "alice" {
		t.Errorf("last event %+v, want user.signed_in by alice", ev)
	}
	b.screenshot(t.Name() + "-1-signed-in")
	callback := p.lastCallback()

	// Signing out ends the session.
	b.click(".who button")
	b.do(chromedp.WaitVisible(chromedp.CSS("#sso")))
	b.open("/profiles")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	if n := b.count(`nav[aria-label="Main"]`); n != 0 {
		t.Error("signed out, yet the console shows its navigation")
	}

	// The same callback again is refused: its flow was used.
	b.open(strings.TrimPrefix(callback, e.srv.URL))
	b.want("#error", "SSO sign-in refused", "no SSO sign-in in progress")

	// A disabled user and an unknown email are refused, with the reason.
	for _, tc := range []struct{ username, reason string }{
		{"george", "user george (george@example.com) is disabled"},
		{"mallory", "no Roster user has the email address mallory@example.com"},
	} {
		b.open("/signin?next=/tasks")
		b.click("#sso")
		b.ssoLogin(tc.username)
		b.do(chromedp.WaitVisible(chromedp.CSS("#error")))
		b.want("#error", "SSO sign-in refused", tc.reason)
		if n := b.count(`nav[aria-label="Main"]`); n != 0 {
			t.Errorf("%s was refused, yet is signed in", tc.username)
		}
		if ev := e.lastEvent(); ev.Action != roster.ActionSignInRefused || !strings.Contains(ev.Reason, tc.reason) {
			t.Errorf("%s: last event %+v, want user.sign_in_refused: %s", tc.username, ev, tc.reason)
		}
	}
	b.screenshot(t.Name() + "-2-refused")

	// A callback whose state is not the one this browser's flow holds is
	// refused, and so is the flow's own callback after it.
	b.open("/signin")
	b.click("#sso")
	b.do(chromedp.WaitVisible(chromedp.CSS("#username")))
	b.open("/auth/oidc/callback?code=forged-code&state=forged-state")
	b.want("#error", "SSO sign-in refused", "its state does not match")
	b.open("/tasks")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
}
