package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// Times show in the viewer's time zone — the one their browser told the
// console (the tz cookie its script sets) or their timezone attribute — with
// a relative age beside each, on every page that shows one.
func TestTimesInTheViewersZoneWithAges(t *testing.T) {
	e := newEnv(t)
	e.apply(engProfile) // at 2026-03-02 09:00 UTC
	e.clock.Advance(2 * time.Hour)

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	// Without a zone: UTC, said so.
	_, body := admin.get("/profiles/eng")
	wantBody(t, section(t, body, `id="members"`, "</table>"), "2026-03-02 09:00 UTC", "(2 hours ago)")

	base, _ := url.Parse(e.srv.URL)
	admin.http.Jar.SetCookies(base, []*http.Cookie{{Name: "tz", Value: "America/New_York", Path: "/"}})
	pages := map[string]string{
		"/profiles/eng":   `id="members"`,
		"/users/alice":    `<main`,
		"/events":         `id="events"`,
		"/tasks?view=all": `<main`,
		"/tasks/1":        `<main`,
	}
	for path, from := range pages {
		res, body := admin.get(path)
		wantStatus(t, res, body, http.StatusOK)
		part := section(t, body, from, "</main>")
		wantBody(t, part, "2026-03-02 04:00 EST", "2 hours ago")
		if strings.Contains(part, "09:00 UTC") {
			t.Errorf("%s still shows a time in UTC:\n%s", path, part)
		}
	}
	// A zone the console does not know is ignored.
	admin.http.Jar.SetCookies(base, []*http.Cookie{{Name: "tz", Value: "Mars/Olympus", Path: "/"}})
	_, body = admin.get("/profiles/eng")
	wantBody(t, section(t, body, `id="members"`, "</table>"), "2026-03-02 09:00 UTC")

	// A person's timezone attribute wins over the browser's.
	e.apply("users:\n  - {id: grace, email: grace@example.com, name: Grace Kim, department: Finance, title: Auditor, role: auditor, attributes: {timezone: Asia/Tokyo}}\n")
	grace := e.client()
	grace.signIn(e, "grace")
	grace.http.Jar.SetCookies(base, []*http.Cookie{{Name: "tz", Value: "America/New_York", Path: "/"}})
	_, body = grace.get("/profiles/eng")
	wantBody(t, section(t, body, `id="members"`, "</table>"), "2026-03-02 18:00 JST", "(2 hours ago)")
}
