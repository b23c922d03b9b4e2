package ui

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// A user's page links each grant to the explanation of it: the profile
// behind it, how its rule sees the person, the task that granted it and
// what would happen if the rule stopped matching. A manager reads their
// report's; someone else may not.
func TestUserPageExplainsAccess(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/users/alice")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `href="/users/alice/why?entitlement=github%2forg-member"`)
	if strings.Contains(body, "why?entitlement=access-profiles/") {
		t.Fatal("a membership links to an explanation of itself")
	}
	res, body = admin.get("/users/alice/why?entitlement=github/org-member")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "Engineering onboarding", "Rule matches:", "<code>okta/engineering</code>", "this profile justifies the access",
		"If the rule stopped matching:", "a revoke task takes the access back", "github/org-member")

	raj := e.client() // alice's manager
	raj.signIn(e, "raj")
	res, body = raj.get("/users/alice/why?entitlement=github/org-member")
	wantStatus(t, res, body, http.StatusOK)
	bob := e.client()
	bob.signIn(e, "bob")
	res, body = bob.get("/users/alice/why?entitlement=github/org-member")
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = admin.get("/users/alice/why")
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
}

// The Controls page's sync panel says when automation is off instead of a
// state, and says a sync_and_act sync started enrollments, not made members.
func TestSyncPanelTellsTheTruth(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	_, body := admin.get("/profiles/eng/controls")
	wantBody(t, body, "enrollments started", "tasks created")
	if strings.Contains(body, "(s)") {
		t.Fatal("the Controls page still writes plurals as (s)")
	}
	e.apply(strings.Replace(engProfile, "      enabled: true\n", "      enabled: false\n", 1))
	_, body = admin.get("/profiles/eng/controls")
	wantBody(t, body, `id="automation-off"`, "Automation is off")
	if strings.Contains(body, "State: <span") {
		t.Fatal("the Controls page gives a sync state for automation that is off")
	}
}
