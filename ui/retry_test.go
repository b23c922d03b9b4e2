package ui

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	_ "github.com/rosterhq/roster/connector/csv" // the hr connector below
	"github.com/rosterhq/roster/engine"
)

// A task a connector cannot carry out fails with the system's error; admins
// find it under Failed and give it back to the connector with Retry.
func TestFailedTaskRetry(t *testing.T) {
	e := newEnv(t)
	people := filepath.Join(e.data, "people.csv")
	if err := os.WriteFile(people, []byte("id,name\nalice,Alice Chen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An HR feed cannot provision: every grant through it fails at once.
	e.apply(`
connectors:
  - id: hr
    type: csv
    app: hr
    settings: {path: ` + people + `}
apps:
  - id: hr
    entitlements:
      - {id: badge, request_policy: auto, provisioning: connector}
profiles:
  - id: badge
    entitlements: [hr/badge]
    enrollment: {policy: auto}
`)
	if _, err := e.engine.Enroll(e.as(roster.AdminUser), "badge", []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	prov := engine.NewProvisioner(e.engine, time.Second)
	if _, err := prov.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := e.engine.Tasks(e.as(roster.AdminUser), roster.TaskFilter{State: roster.StateFailed})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("failed tasks: %v %+v", err, page)
	}
	path := taskURL(page.Items[0].ID)

	admin := e.client()
	admin.signIn(e, roster.AdminUser)
	res, body := admin.get("/tasks?view=failed")
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "hr/badge", path)
	res, body = admin.get(path)
	wantStatus(t, res, body, http.StatusOK)
	wantBody(t, body, "cannot provision", `id="retry"`)

	// Not for users: no Retry, and the engine refuses.
	alice := e.client()
	alice.signIn(e, "alice")
	res, body = alice.get("/tasks?view=failed")
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = alice.post(path+"/retry", nil)
	wantStatus(t, res, body, http.StatusForbidden)

	res, body = admin.post(path+"/retry", url.Values{"comment": {"try again"}})
	wantStatus(t, res, body, http.StatusSeeOther)
	_, body = admin.get(res.Header.Get("Location"))
	wantBody(t, body, "Gave back to its connector", "pending provisioning", "try again")
}
