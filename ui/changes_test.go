package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// With change approval on, saving a profile's controls in the console says
// it waits as a change request; another admin approves it on the Changes
// page; its author cannot, and a denial needs a reason.
func TestChangeApprovalInTheConsole(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	e.apply("users:\n  - {id: nadia, email: nadia@example.com, name: Nadia Ali, role: admin}\nsettings:\n  change_approval: true\n")

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.post("/profiles/eng/controls", url.Values{
		"name": {"Engineering"}, "description": {"renamed"}, "allow_enrollment_requests": {"on"},
		"enrollment_policy": {"auto"}, "unenrollment_policy": {"auto"}, "access": {"revoke_unjustified"},
		"automation_enabled": {"on"}, "mode": {"sync_and_act"}, "any_entitlement": {"okta/engineering"},
		"excluded_users": {"george"}, "safeguard": {"on"},
	})
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusOK {
		t.Fatalf("save controls: %d\n%s", res.StatusCode, body)
	}
	if loc := res.Header.Get("Location"); loc != "" {
		_, body = admin.get(loc)
	}
	wantBody(t, body, "change request 1", "another admin must approve")
	if p := e.profile("eng"); p.Name != "Engineering onboarding" {
		t.Fatalf("the save applied at once: name %q", p.Name)
	}

	res, body = admin.get("/changes/1")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "updated profile eng", "id: eng", `id="withdraw"`)
	if strings.Contains(body, `id="approve"`) {
		t.Fatal("the author is offered to approve their own change request")
	}
	res, body = admin.post("/changes/1/approve", url.Values{})
	if loc := res.Header.Get("Location"); loc != "" {
		_, body = admin.get(loc)
	}
	wantBody(t, body, "cannot approve your own change request")

	nadia := e.client()
	nadia.signIn(e, "nadia")
	res, body = nadia.get("/changes")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `href="/changes/1"`, "updated profile eng")
	_, body = nadia.get("/changes/1")
	wantBody(t, body, `id="approve"`, `id="deny"`)
	res, _ = nadia.post("/changes/1/deny", url.Values{})
	_, body = nadia.get(res.Header.Get("Location"))
	wantBody(t, body, "say why you deny")
	res, _ = nadia.post("/changes/1/approve", url.Values{"comment": {"fine"}})
	_, body = nadia.get(res.Header.Get("Location"))
	wantBody(t, body, "Approved change request 1", "Applied at approval")
	if p := e.profile("eng"); p.Name != "Engineering" {
		t.Fatalf("the approved change did not apply: name %q", p.Name)
	}

	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.get("/changes")
	wantStatus(t, res, body, http.StatusForbidden)
}
