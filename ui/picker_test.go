package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// The Entitlements tab adds entitlements through a searchable picker: a
// search by name, code or app lists the matches as checkboxes, the ticked
// ones come back as chips when searching again, and adding says how many
// requests it started for the current members.
func TestEntitlementPicker(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)

	res, body := admin.get("/profiles/eng/entitlements")
	wantStatus(t, res, body, http.StatusOK)
	if strings.Contains(body, "<select") || strings.Contains(body, "<option") {
		t.Fatal("the Entitlements tab still lists the catalog in a select")
	}
	wantBody(t, body, `id="ents-q"`, `id="ents-find"`)

	// A search by name finds the entitlement, not the others.
	res, body = admin.get("/profiles/eng/entitlements?q=owner")
	wantStatus(t, res, body, http.StatusOK)
	found := section(t, body, `id="ents-found"`, "</div>\n")
	wantBody(t, found, `value="github/admin"`, "Organisation owner", "GitHub", "high risk")
	if strings.Contains(found, "okta/engineering") {
		t.Fatalf("the search for owner found okta/engineering:\n%s", found)
	}

	// Searching again keeps the ticked entitlement as a chip.
	res, body = admin.post("/profiles/eng/entitlements", url.Values{"op": {"add"}, "picker": {"ents"}, "q": {"employees"}, "entitlement": {"github/admin"}})
	wantStatus(t, res, body, http.StatusOK)
	chosen := section(t, body, `id="ents-chosen"`, "</ul>")
	wantBody(t, chosen, `value="github/admin" checked`, "Organisation owner")
	wantBody(t, section(t, body, `id="ents-found"`, "</div>\n"), `value="okta/employees"`)
	if p := e.profile("eng"); len(p.Entitlements) != 2 {
		t.Fatalf("a search changed the profile: %v", p.Entitlements)
	}

	// Adding both starts a request of each for each of the four members.
	res, body = admin.post("/profiles/eng/entitlements", url.Values{"op": {"add"}, "entitlement": {"github/admin", "okta/employees"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get("/profiles/eng/entitlements")
	wantBody(t, body, "Saved. Added 2 entitlements: started 8 requests for the profile's 4 members")
	if p := e.profile("eng"); strings.Join(p.Entitlements, ",") != "github/org-member,slack/eng,github/admin,okta/employees" {
		t.Fatalf("entitlements after adding: %v", p.Entitlements)
	}
}

// The Controls tab's rule and excluded users are searchable pickers: the
// chosen ones are chips, Find shows the form again as posted with the
// matches (saving nothing), and saving keeps what was ticked.
func TestControlsPickers(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)

	res, body := admin.get("/profiles/eng/controls")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="rule-chosen"`, "</ul>"), `value="okta/engineering" checked`, "Engineering department")
	wantBody(t, section(t, body, `id="excluded-chosen"`, "</ul>"), `value="george" checked`, "George Okoro")

	// Find people to exclude, with the form's other edits kept.
	form := url.Values{"name": {"Engineering (renamed)"}, "allow_enrollment_requests": {"on"}, "enrollment_policy": {"auto"}, "enrollment_bypass": {"on"},
		"unenrollment_policy": {"auto"}, "access": {"revoke_unjustified"}, "unenrollment_bypass": {"on"}, "automation_enabled": {"on"},
		"mode": {"sync_and_act"}, "any_entitlement": {"okta/engineering"}, "excluded_user": {"george"}, "safeguard": {"on"},
		"excluded_q": {"dmitri"}, "picker": {"excluded"}}
	res, body = admin.post("/profiles/eng/controls/find", form)
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `value="Engineering (renamed)"`)
	wantBody(t, section(t, body, `id="excluded-found"`, "</div>\n"), `value="dmitri"`, "Dmitri Volkov")
	if p := e.profile("eng"); p.Name != "Engineering onboarding" {
		t.Fatalf("Find saved the form: %+v", p.Name)
	}

	// Find entitlements for the rule.
	form.Set("rule_q", "employees")
	form.Set("picker", "rule")
	res, body = admin.post("/profiles/eng/controls/find", form)
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="rule-found"`, "</div>\n"), `value="okta/employees"`, "All employees")

	// Save with dmitri ticked and a rule of both: the chips become the lists.
	form.Del("picker")
	form["excluded_user"] = []string{"george", "dmitri"}
	form["any_entitlement"] = []string{"okta/engineering", "okta/employees"}
	res, body = admin.post("/profiles/eng/controls", form)
	wantStatus(t, res, body, http.StatusSeeOther)
	p := e.profile("eng")
	if strings.Join(p.Automation.ExcludedUsers, ",") != "dmitri,george" || strings.Join(p.Automation.AnyEntitlement, ",") != "okta/engineering,okta/employees" {
		t.Fatalf("saved: excluded %v, rule %v", p.Automation.ExcludedUsers, p.Automation.AnyEntitlement)
	}
	// Unticking george (his chip not posted) removes him.
	form["excluded_user"] = []string{"dmitri"}
	res, body = admin.post("/profiles/eng/controls", form)
	wantStatus(t, res, body, http.StatusSeeOther)
	if p := e.profile("eng"); strings.Join(p.Automation.ExcludedUsers, ",") != "dmitri" {
		t.Fatalf("after unticking george: excluded %v", p.Automation.ExcludedUsers)
	}
}

// Enroll users is a picker too: Find posts the form and shows the people
// already ticked as chips beside the new matches.
func TestEnrollPickerKeepsChosenPeople(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.post("/profiles/eng/enroll", url.Values{"picker": {"enroll"}, "pick": {"grace"}, "find": {"raj"}, "comment": {"new lead"}})
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="enroll-chosen"`, "</ul>"), `value="grace" checked`, "Grace Kim")
	wantBody(t, section(t, body, `id="enroll-found"`, "</div>\n"), `value="raj"`, "Raj Patel")
	wantBody(t, body, `value="new lead"`)
	if _, err := e.engine.Tasks(e.as(roster.AdminUser), roster.TaskFilter{User: "grace", Entitlement: "access-profiles/eng"}); err != nil {
		t.Fatal(err)
	}
	page, _ := e.engine.Tasks(e.as(roster.AdminUser), roster.TaskFilter{User: "grace", Entitlement: "access-profiles/eng"})
	if len(page.Items) != 0 {
		t.Fatalf("Find enrolled grace: %+v", page.Items)
	}
}

// The task list's person filters take a name as well as an id: one match
// filters on that person, shown as a chip to remove; several are offered to
// choose from.
func TestTaskFiltersFindPeopleByName(t *testing.T) {
	e := newEnv(t)
	e.apply(strings.Replace(engProfile, "enrollment: {policy: auto, bypass_entitlement_policies: true}", "enrollment: {policy: manager}", 1))
	admin := e.client()
	admin.signIn(e, roster.AdminUser)

	res, body := admin.get("/tasks?view=all&user=alice+chen")
	wantStatus(t, res, body, http.StatusOK)
	chip := section(t, body, `id="f-user-chosen"`, "</p>")
	wantBody(t, chip, "Alice Chen", "(alice)", `href="/tasks?view=all"`)
	list := section(t, body, `id="task-list"`, "</table>")
	wantBody(t, list, "alice")
	for _, other := range []string{">bob<", ">carlos<"} {
		if strings.Contains(list, other) {
			t.Errorf("filtering on Alice Chen lists %s:\n%s", other, list)
		}
	}

	// "Raj" waits on every enrollment: by name too.
	res, body = admin.get("/tasks?view=all&approver=raj+patel")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="f-approver-chosen"`, "</p>"), "Raj Patel")
	wantBody(t, section(t, body, `id="task-list"`, "</table>"), "alice", "bob")

	// Several match: the list is not filtered on a guess, the matches are offered.
	res, body = admin.get("/tasks?view=all&user=example.com")
	wantStatus(t, res, body, http.StatusOK)
	which := section(t, body, `id="f-user-choices"`, "</ul>")
	wantBody(t, which, "Alice Chen", `href="/tasks?user=alice&view=all"`, "Bob Martin")
}

// The users list's Manager filter takes the manager's name too.
func TestUsersManagerFilterByName(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/users?manager=raj+patel")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="f-manager-chosen"`, "</p>"), "Raj Patel")
	list := section(t, body, "<table", "</table>")
	wantBody(t, list, "Alice Chen", "Dmitri Volkov")
	if strings.Contains(list, "Grace Kim") {
		t.Errorf("Grace, whose manager is not Raj, is listed:\n%s", list)
	}
}

// Adding to a profile without members says that no request was started.
func TestAddingToAnEmptyProfileSaysSo(t *testing.T) {
	e := newEnv(t)
	e.apply("profiles:\n  - {id: empty, name: Empty}\n")
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.post("/profiles/empty/entitlements", url.Values{"op": {"add"}, "entitlement": {"slack/eng"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get("/profiles/empty/entitlements")
	wantBody(t, body, "Added 1 entitlement; the profile has no members yet, so no request was started.")
	wantBody(t, section(t, body, `id="contents"`, "</table>"), "#eng", "slack/eng")
}

// The user list names each user's manager, with the id secondary.
func TestUsersListNamesManagers(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/users?q=alice")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="user-alice"`, "</tr>"), `>Raj Patel</a> <span class="muted">(raj)</span>`)
}

// The audit log's actor filter takes a name too: one match filters on that
// person, shown as a chip; a name that matches nobody (the system) is used
// as typed.
func TestEventsActorFilterByName(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	if _, err := e.engine.RequestProfile(e.as("bob"), "eng", "please"); err != nil && roster.ErrorCode(err) != roster.ECONFLICT {
		t.Fatal(err)
	}
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/events?actor=administrator")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, section(t, body, `id="f-actor-chosen"`, "</p>"), "Administrator")
	byName := section(t, body, "<tbody", "</tbody>")
	res, body = admin.get("/events?actor=admin")
	wantStatus(t, res, body, http.StatusOK)
	if byID := section(t, body, "<tbody", "</tbody>"); byName != byID {
		t.Errorf("the admin's events by name:\n%s\nby id:\n%s", byName, byID)
	}
	res, body = admin.get("/events?actor=bob+martin")
	wantStatus(t, res, body, http.StatusOK)
	if strings.Contains(body, byName) {
		t.Error("bob's events are the admin's")
	}
}
