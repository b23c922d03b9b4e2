package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// The user list searches by name, email or id on the server and pages with
// previous, next and the total.
func TestUsersSearchAndPaging(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)

	for q, want := range map[string]string{"mendes": "carlos", "BOB@EXAMPLE": "bob", "dmit": "dmitri"} {
		res, body := admin.get("/users?" + url.Values{"q": {q}}.Encode())
		wantStatus(t, res, body, http.StatusOK)
		list := section(t, body, `id="users"`, "</table>")
		if n := strings.Count(list, "<tr id=\"user-"); n != 1 || !strings.Contains(list, `id="user-`+want+`"`) {
			t.Errorf("searching users for %q lists %d rows, want only %s:\n%s", q, n, want, list)
		}
		wantBody(t, body, "1 user matches")
	}

	// Three at a time: 8 users (the admin and the organisation's 7) in three pages.
	res, body := admin.get("/users?limit=3")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `id="paging"`, "1–3 of 8")
	if strings.Contains(body, `rel="prev"`) {
		t.Error("the first page links to a previous one")
	}
	next := attr(t, body, `rel="next"`)
	_, body = admin.get(next)
	wantBody(t, body, "4–6 of 8", `rel="prev"`)
	_, body = admin.get(attr(t, body, `rel="next"`))
	wantBody(t, body, "7–8 of 8")
	if strings.Contains(body, `rel="next"`) {
		t.Error("the last page links to a next one")
	}
	_, body = admin.get(attr(t, body, `rel="prev"`))
	wantBody(t, body, "4–6 of 8")
	_, body = admin.get(attr(t, body, `rel="prev"`))
	wantBody(t, body, "1–3 of 8")
}

// attr returns the href of the link marked by mark, unescaped.
func attr(t *testing.T, body, mark string) string {
	t.Helper()
	i := strings.Index(body, mark)
	if i < 0 {
		t.Fatalf("no %s link in:\n%s", mark, body)
	}
	a := strings.LastIndex(body[:i], "<a ")
	tag := body[a : i+strings.Index(body[i:], ">")]
	h := strings.Index(tag, `href="`)
	if h < 0 {
		t.Fatalf("no href in %s", tag)
	}
	href := tag[h+6:]
	href = href[:strings.Index(href, `"`)]
	return strings.ReplaceAll(href, "&amp;", "&")
}

// Profiles and apps search by name or id and page with previous, next and
// the total; the apps page lists entitlements a page at a time.
func TestProfilesAndAppsSearchAndPaging(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile + strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(engProfile, "\nprofiles:\n"), "id: eng", "id: sre"), "Engineering onboarding", "SRE on call"))
	admin := e.client()
	admin.signIn(e, roster.AdminUser)

	res, body := admin.get("/profiles?q=on+call")
	wantStatus(t, res, body, http.StatusOK)
	list := section(t, body, `id="profiles"`, "</table>")
	if !strings.Contains(list, "SRE on call") || strings.Contains(list, "Engineering onboarding") {
		t.Errorf("searching profiles for 'on call':\n%s", list)
	}
	_, body = admin.get("/profiles?limit=1")
	wantBody(t, body, "1–1 of 2", `rel="next"`)
	_, body = admin.get(attr(t, body, `rel="next"`))
	wantBody(t, body, "2–2 of 2", `rel="prev"`)

	// Entitlements: 5 in the catalog and 4 built into the two profiles; search by name or code.
	res, body = admin.get("/apps?q=owner")
	wantStatus(t, res, body, http.StatusOK)
	ents := section(t, body, `id="entitlements"`, "</table>")
	if !strings.Contains(ents, "github/admin") || strings.Contains(ents, "github/org-member") {
		t.Errorf("searching entitlements for 'owner':\n%s", ents)
	}
	_, body = admin.get("/apps?limit=2")
	wantBody(t, body, `id="apps"`, "GitHub", "1–2 of 9")
	_, body = admin.get(attr(t, body, `rel="next"`))
	wantBody(t, body, "3–4 of 9")
}

// The task list says what a profile's built-in entitlements mean, by the
// profile's name linking to it, and stacks into cards on a phone.
func TestTaskListNamesBuiltinEntitlements(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/tasks?view=all&origin=exclusion")
	wantStatus(t, res, body, http.StatusOK)
	list := section(t, body, `id="task-list"`, "</table>")
	wantBody(t, list, "stack-on-phone", `<a href="/profiles/eng">Excluded from Engineering onboarding</a>`, `data-label="Entitlement"`)
}

// A refused form names the field in words, not the declarative document's
// path ("profiles[0].id").
func TestErrorsNameFieldsNotPaths(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	admin.get("/new-profile")
	res, body := admin.post("/new-profile", url.Values{"id": {"Not An Id!"}, "name": {"x"}})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	msg := section(t, body, `class="flash error"`, "</div>")
	if strings.Contains(msg, "profiles[") {
		t.Errorf("the error shows the document's path:\n%s", msg)
	}
	wantBody(t, msg, "Id")
}

// Enroll users finds people by name on the server and enrolls the ticked
// ones, with no JavaScript.
func TestEnrollUsersFindsPeopleByName(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile)
	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/eng?find=kim")
	wantStatus(t, res, body, http.StatusOK)
	found := section(t, body, `id="enroll-found"`, "</fieldset>")
	wantBody(t, found, "Grace Kim", `value="grace"`, "Finance")
	if strings.Contains(found, "raj") {
		t.Errorf("searching for kim lists raj:\n%s", found)
	}
	res, body = admin.post("/profiles/eng/enroll", url.Values{"pick": {"grace"}, "users": {""}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "Started 1 enrollment.", "enroll grace")
}

// The inbox says how long each task has waited beside when it started.
func TestInboxShowsRelativeAges(t *testing.T) {
	e := newEnv(t)
	e.apply(`
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/admin]
    enrollment: {policy: manager}
    automation: {enabled: true, mode: sync_and_act, any_entitlement: [okta/engineering], safeguard: false}
`)
	e.clock.Advance(3*24*time.Hour + time.Hour)
	raj := e.client()
	raj.signIn(e, "raj")
	res, body := raj.get("/inbox")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "waiting 3 days", "(since <time")
}
