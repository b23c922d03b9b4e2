package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/internal/testenv"
)

// TestBrowserTourOfAGeneratedOrganisation walks every screen of the console
// on the generator's 2,000-person organisation (bench/gen's small preset:
// 200 entitlements, 50 profiles, synced, with its task history), as an admin
// on a desktop and on a 390 px phone: each screen passes axe-core, fits the
// phone's width, lists people by name, and leaves a screenshot of the first
// screen of each at both sizes in screenshotDir (issue 17, "How it is shown"). The demo's screens
// are TestBrowserAccessibility's.
func TestBrowserTourOfAGeneratedOrganisation(t *testing.T) {
	axe := testenv.RequireAxe(t)
	org := gen.Generate(gen.Small)
	e := newEnvOf(t, func(store roster.Store, clock roster.Clock) error {
		return org.LoadWith(context.Background(), store, clock, gen.LoadOptions{State: gen.Synced, History: true})
	})
	now := e.clock.Now()
	profile := "/profiles/" + org.Profile(0, now).ID
	user := org.User(1, now)
	screens := []struct{ name, path, shows string }{
		{"profiles", "/profiles", org.Profile(0, now).Name},
		{"members", profile, "Members"},
		{"entitlements", profile + "/entitlements", "Add entitlements"},
		{"controls", profile + "/controls", "Membership automation"},
		{"history", profile + "/history", "History"},
		{"users", "/users", "of 2001"},
		{"users-managers", "/users?q=u0000002", "User 0000001 (u0000001)"},
		{"users-search", "/users?q=" + strings.Fields(user.Name)[0], user.Name},
		{"user", "/users/" + user.ID, user.Name},
		{"apps", "/apps", "Apps"},
		{"tasks", "/tasks?view=all", "Tasks"},
		{"events", "/events", "Audit log"},
	}
	admin := newBrowser(t, e)
	admin.signIn(adminToken)
	for _, s := range screens {
		admin.open(s.path)
		if got := admin.text("main"); !strings.Contains(got, s.shows) {
			t.Errorf("%s does not show %q:\n%.600s", s.path, s.shows, got)
		}
		admin.checkA11y(axe)
		admin.viewScreenshot(t.Name() + "-" + s.name)
	}
	admin.phone()
	for _, s := range screens {
		admin.open(s.path)
		admin.checkA11y(axe)
		if w := admin.evalInt(`document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone", s.path, w)
		}
		admin.viewScreenshot(t.Name() + "-" + s.name + "-phone")
	}
}
