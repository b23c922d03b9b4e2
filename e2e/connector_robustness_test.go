package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// TestAStuckConnectorDoesNotStallTheOthers is issue 14's tenth finding: a
// connector whose system does not answer held up the connector loop for
// minutes. Each call now has a deadline (sync_timeout, provision_timeout).
func TestAStuckConnectorDoesNotStallTheOthers(t *testing.T) {
	hang := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(hang) })
	t.Setenv("ROSTER_SECRET_TEST_SCIM_TOKEN", "scim-test-token")
	e := start(t)
	if err := os.WriteFile(filepath.Join(e.data, "people.csv"), []byte("id,name\nalice,Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.apply(fmt.Sprintf(`
connectors:
  - id: crm
    type: scim
    app: crm
    settings: {url: %s, token_env: ROSTER_SECRET_TEST_SCIM_TOKEN, insecure: true, sync_timeout: 1s}
  - id: hr
    type: csv
    app: hr
    users: true
    settings: {path: people.csv}
`, stuck.URL))
	began := time.Now()
	n, err := e.srv.Connectors.RunOnce(context.Background())
	if took := time.Since(began); err != nil || n != 2 || took > 10*time.Second {
		t.Fatalf("RunOnce: %d synced in %s, %v", n, took, err)
	}
	var u roster.User
	e.json(&u, roster.AdminUser, "user", "show", "alice")
	var crm roster.Connector
	e.json(&crm, roster.AdminUser, "connector", "show", "crm")
	if crm.Status.LastRun == nil || !strings.Contains(crm.Status.LastRun.Error, "the sync did not finish within 1s (settings.sync_timeout)") {
		t.Fatalf("the stuck connector's last run: %+v", crm.Status.LastRun)
	}
}

// TestClearTextConnectionsNeedInsecure: a SCIM provider over http:// and an
// LDAP server over ldap:// without StartTLS would see the token or password
// in clear text; apply refuses them unless the connector says insecure: true.
func TestClearTextConnectionsNeedInsecure(t *testing.T) {
	e := start(t)
	e.applyFails("settings.url: http:// sends the token in clear text: use https://, or set insecure: true", roster.AdminUser, `
connectors:
  - id: crm
    type: scim
    app: crm
    settings: {url: "http://127.0.0.1:1/scim", token_env: ROSTER_SECRET_CRM}
`)
	e.applyFails("settings.url: ldap:// without start_tls sends the password in clear text: use ldaps:// or start_tls: true, or set insecure: true", roster.AdminUser, `
connectors:
  - id: corp-ldap
    type: ldap
    app: ldap
    settings: {url: "ldap://127.0.0.1:1", bind_dn: "cn=roster,dc=example,dc=org", bind_password_env: ROSTER_SECRET_LDAP, user_base_dn: "dc=example,dc=org"}
`)
	e.apply(`
connectors:
  - id: crm
    type: scim
    app: crm
    settings: {url: "https://127.0.0.1:1/scim", token_env: ROSTER_SECRET_CRM}
  - id: corp-ldap
    type: ldap
    app: ldap
    settings: {url: "ldap://127.0.0.1:1", start_tls: true, bind_dn: "cn=roster,dc=example,dc=org", bind_password_env: ROSTER_SECRET_LDAP, user_base_dn: "dc=example,dc=org"}
`)
}
