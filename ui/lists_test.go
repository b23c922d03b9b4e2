package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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
