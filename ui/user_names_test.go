package ui

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// tags matches an HTML tag, to read a page's text.
var tags = regexp.MustCompile(`<[^>]*>`)

// A user's page names the profile a person is excluded from or a member
// of, not the built-in entitlement's id.
func TestUserPageNamesProfilesOfExclusions(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile) // george is excluded
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	for _, who := range []string{"george", "alice"} {
		res, body := admin.get("/users/" + who)
		wantStatus(t, res, body, http.StatusOK)
		text := tags.ReplaceAllString(section(t, body, "<main", "</main>"), "")
		if who == "george" {
			wantBody(t, text, "Excluded from Engineering onboarding")
		} else {
			wantBody(t, text, "Member of Engineering onboarding")
		}
		for _, id := range []string{"access-profiles/eng", "Excluded from eng ", "Membership of eng"} {
			if strings.Contains(text, id) {
				t.Errorf("%s's page shows %q:\n%s", who, id, text)
			}
		}
	}
}

// The task list names the profiles of exclusions and enrollments too.
func TestTaskListNamesProfiles(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/tasks?view=all&user=george")
	wantStatus(t, res, body, http.StatusOK)
	text := tags.ReplaceAllString(section(t, body, `id="task-list"`, "</table>"), "")
	wantBody(t, text, "Excluded from Engineering onboarding")
	if strings.Contains(text, "access-profiles/eng") {
		t.Errorf("the task list shows the built-in entitlement's id:\n%s", text)
	}
}

// The explanation of a grant and a person's own requests name the profiles
// of their tasks, not their ids.
func TestWhyAndRequestsNameProfiles(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile + `
  - id: tools
    name: Team tools
    entitlements: [slack/eng]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/users/alice/why?entitlement=github/org-member")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, tags.ReplaceAllString(section(t, body, `id="why-tasks"`, "</table>"), ""), "Engineering onboarding")

	if _, err := e.engine.RequestProfile(e.as("bob"), "tools", "for the team"); err != nil {
		t.Fatal(err)
	}
	bob := e.client()
	bob.signIn(e, "bob")
	res, body = bob.get("/request")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, tags.ReplaceAllString(section(t, body, `id="my-requests"`, "</table>"), ""), "Team tools")
}

// Task tables name the person each task is for and whom it waits on, the
// id secondary.
func TestTaskTablesNamePeople(t *testing.T) {
	e := newEnv(t)
	e.apply(`
profiles:
  - id: tools
    name: Team tools
    entitlements: [slack/eng]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	task, err := e.engine.RequestProfile(e.as("bob"), "tools", "for the team")
	if err != nil {
		t.Fatal(err)
	}
	approver, err := e.engine.User(e.as(roster.AdminUser), task.Approvers[0])
	if err != nil {
		t.Fatal(err)
	}
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/tasks?view=all&user=bob")
	wantStatus(t, res, body, http.StatusOK)
	row := tags.ReplaceAllString(section(t, body, `id="task-list"`, "</table>"), "")
	wantBody(t, row, "Bob Martin (bob)", approver.Name)
}
