package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// controlsForm posts the Controls of eng as engProfile has them, with the
// rule and excluded users given.
func engControls(rule []string, excluded string) url.Values {
	return url.Values{
		"name": {"Engineering onboarding"}, "description": {"What every engineer gets on day one."}, "automation_enabled": {"on"},
		"mode": {"sync_and_act"}, "access": {"revoke_unjustified"}, "any_entitlement": rule, "excluded_users": {excluded},
		"safeguard": {"on"}, "enrollment_policy": {"auto"}, "enrollment_bypass": {"on"}, "unenrollment_policy": {"auto"},
		"unenrollment_bypass": {"on"}, "allow_enrollment_requests": {"on"},
	}
}

// TestPreviewControls: Preview shows what saving would do — the counts, the
// people by name with why, the access each would lose, the safeguard's
// verdict — and saves nothing; saving what the safeguard pauses says so
// instead of "Saved.".
func TestPreviewControls(t *testing.T) {
	e := newEnv(t)
	e.apply("settings:\n  safeguard: {min_members: 2, max_removal_percent: 30}\n" + engProfile)
	equal := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	equal("members", len(e.profile("eng").Members), 4)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	res, body := c.get("/profiles/eng/controls")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `id="preview-controls"`, `formaction="/profiles/eng/controls/preview"`)

	// One exclusion: Alice leaves, the safeguard lets one of four pass.
	res, body = c.post("/profiles/eng/controls/preview", engControls([]string{"okta/engineering"}, "george, alice"))
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Nothing has been saved.", "Automation", "+0 / −1", "Alice Chen", "excluded",
		"loses <code>github/org-member</code>", "loses <code>slack/eng</code>", "Safeguard: passes — 1 removal of 4 members")
	if strings.Contains(body, "Bob Martin") {
		t.Errorf("the preview names Bob, who stays:\n%s", body)
	}
	// The form keeps what was posted: both exclusions are chips.
	wantBody(t, section(t, body, `id="excluded-chosen"`, "</ul>"), `value="george" checked`, `value="alice" checked`)

	// A new rule nobody matches: all four would leave, and the safeguard
	// would pause.
	form := engControls([]string{"okta/employees"}, "george")
	res, body = c.post("/profiles/eng/controls/preview", form)
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "+0 / −4", "Bob Martin", "no longer matches: okta/engineering left the rule", "The safeguard would pause this sync",
		"it would remove 4 of 4 members")
	p := e.profile("eng")
	if len(p.Automation.AnyEntitlement) != 1 || p.Automation.AnyEntitlement[0] != "okta/engineering" || len(p.Automation.ExcludedUsers) != 1 || len(p.Members) != 4 {
		t.Fatalf("a preview changed the profile: %+v", p)
	}

	// Saving it: no green "Saved.", but the pause said plainly.
	res, body = c.post("/profiles/eng/controls", form)
	wantStatus(t, res, body, http.StatusSeeOther)
	res, body = c.get(res.Header.Get("Location"))
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `class="flash warn"`, "Saved, but the safeguard paused the sync", "would remove too many members of eng")
	if strings.Contains(body, "Saved.") {
		t.Errorf("a paused save says Saved.:\n%s", body)
	}
	if p := e.profile("eng"); p.Automation.State != roster.AutomationPaused {
		t.Errorf("state %q after the save, want paused", p.Automation.State)
	}
}

// TestPreviewControlsRefusesBadForms: a form the engine refuses shows the
// error, and a user who is not an admin cannot preview.
func TestPreviewControlsRefusesBadForms(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	c := e.client()
	c.signIn(e, roster.AdminUser)
	res, body := c.post("/profiles/eng/controls/preview", engControls(nil, "george"))
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	wantBody(t, body, "names neither any_entitlement nor an expression")
	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.post("/profiles/eng/controls/preview", engControls([]string{"okta/employees"}, ""))
	wantStatus(t, res, body, http.StatusForbidden)
}
