package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// pausedEng applies eng with a safeguard that pauses removing 2 of its 4
// members, takes okta/engineering from bob and carlos and runs the sync,
// which the safeguard pauses.
func pausedEng(t *testing.T, e *env) {
	t.Helper()
	e.apply("settings:\n  safeguard: {min_members: 2, max_removal_percent: 20}\n" + engProfile)
	for _, u := range []string{"bob", "carlos"} {
		if err := e.engine.RemoveGrant(e.as(roster.AdminUser), u, "okta/engineering"); err != nil {
			t.Fatalf("remove %s's okta/engineering: %v", u, err)
		}
	}
	e.clock.Advance(time.Minute)
	res, err := e.engine.Sync(e.as(roster.AdminUser), "eng")
	if err != nil || !res.Paused {
		t.Fatalf("sync eng: %+v, %v; want a pause", res, err)
	}
}

// The review of a paused sync states its verdict in figures, names each
// staged person with why they are staged and the access they would lose,
// filters them without JavaScript, and asks before resuming.
func TestReviewExplainsThePause(t *testing.T) {
	e := newEnv(t)
	pausedEng(t, e)
	// carlos keeps #eng from another source: he would lose only GitHub.
	if _, err := e.engine.AddGrant(e.as(roster.AdminUser), "carlos", "slack/eng"); err != nil {
		t.Fatal(err)
	}

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/profiles/eng/review")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `id="verdict"`, "would remove 2 of 4 members (50%)",
		"the limit is 20% of profiles over 2 members", "no other removals in the past hour")
	staged := section(t, body, `id="staged-unenroll"`, "</table>")
	wantBody(t, staged, "Bob Martin", "Carlos Mendes", "Engineering", "lost okta/engineering")
	bob := section(t, staged, `id="staged-bob"`, "</tr>")
	wantBody(t, bob, "Organisation member", "#eng")
	carlos := section(t, staged, `id="staged-carlos"`, "</tr>")
	wantBody(t, carlos, "Organisation member")
	if strings.Contains(carlos, "#eng") {
		t.Errorf("carlos holds #eng directly too, yet the review says he would lose it: %s", carlos)
	}
	// Resume is behind a confirmation that states the count; Go back lands on the rule.
	wantBody(t, body, `id="resume-confirm"`, "Remove 2 people", `href="/profiles/eng/controls#rule"`, `class="action-bar"`)

	// The search filters the staged people on the server.
	res, body = admin.get("/profiles/eng/review?" + url.Values{"q": {"mendes"}}.Encode())
	wantStatus(t, res, body, http.StatusOK)
	staged = section(t, body, `id="staged-unenroll"`, "</table>")
	wantBody(t, staged, "Carlos Mendes")
	if strings.Contains(staged, "Bob Martin") {
		t.Errorf("searching for mendes still lists Bob: %s", staged)
	}
	wantBody(t, body, "1 of 2 staged removals match")

	// Bob is given okta/engineering back: the review says he matches again.
	if _, err := e.engine.AddGrant(e.as(roster.AdminUser), "bob", "okta/engineering"); err != nil {
		t.Fatal(err)
	}
	_, body = admin.get("/profiles/eng/review")
	wantBody(t, section(t, body, `id="staged-bob"`, "</tr>"), "matches the rule again")

	// Resume removes carlos only and says so in words.
	res, body = admin.post("/profiles/eng/resume", nil)
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "Resumed the sync", "1 unenrollment")
	if strings.Contains(body, "(s)") {
		t.Errorf("the notice says (s): %s", section(t, body, `id="flash"`, "</"))
	}
}

// section returns body from the first from up to the next to after it.
func section(t *testing.T, body, from, to string) string {
	t.Helper()
	i := strings.Index(body, from)
	if i < 0 {
		t.Fatalf("no %s in the page:\n%s", from, body)
	}
	j := strings.Index(body[i:], to)
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}
