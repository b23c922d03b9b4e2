package ui

import (
	"net/http"
	"strings"
	"testing"
)

// An auditor sees everything read-only: a profile's Controls and the
// review of a paused sync render with their settings and figures, with the
// controls disabled and no form that would post; posting anyway is refused.
func TestAuditorSeesControlsAndReviewReadOnly(t *testing.T) {
	e := newEnv(t)
	pausedEng(t, e)
	grace := e.client()
	grace.signIn(e, "grace")

	res, body := grace.get("/profiles/eng")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, `href="/profiles/eng/controls"`, `href="/profiles/eng/review"`)

	res, body = grace.get("/profiles/eng/controls")
	wantStatus(t, res, body, http.StatusOK)
	main := section(t, body, "<main", "</main>")
	wantBody(t, main, "read-only", `value="Engineering onboarding"`, "Engineering department", "George Okoro", "disabled")
	for _, bad := range []string{`method="post"`, `name="csrf"`, `id="save-controls"`, `id="sync-now"`, `id="rule-find"`, `type="submit"`} {
		if strings.Contains(main, bad) {
			t.Errorf("the auditor's Controls page holds %s", bad)
		}
	}

	res, body = grace.get("/profiles/eng/review")
	wantStatus(t, res, body, http.StatusOK)
	main = section(t, body, "<main", "</main>")
	wantBody(t, main, `id="verdict"`, "would remove 2 of 4 members", "Bob Martin", "Carlos Mendes")
	for _, bad := range []string{`method="post"`, `name="csrf"`, `id="resume"`} {
		if strings.Contains(main, bad) {
			t.Errorf("the auditor's review page holds %s", bad)
		}
	}

	// A user who is neither admin nor auditor still gets 403.
	alice := e.client()
	alice.signIn(e, "alice")
	for _, path := range []string{"/profiles/eng/controls", "/profiles/eng/review"} {
		res, body := alice.get(path)
		wantStatus(t, res, body, http.StatusForbidden)
	}
}
