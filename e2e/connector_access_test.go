package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/internal/testenv"
	"github.com/rosterhq/roster/server"
)

// csvConnector is a declarative file with one csv connector reading path.
func csvConnector(path string) string {
	return fmt.Sprintf(`
connectors:
  - id: hr
    type: csv
    app: hr
    users: true
    settings: {path: %q}
`, path)
}

// ldapSecretConnector is a declarative file with one LDAP connector whose
// bind password is given by the setting key: value.
func ldapSecretConnector(key, value string) string {
	return fmt.Sprintf(`
connectors:
  - id: corp-ldap
    type: ldap
    app: ldap
    settings:
      url: ldaps://127.0.0.1:1
      bind_dn: cn=roster,dc=example,dc=org
      %s: %q
      user_base_dn: ou=people,dc=example,dc=org
`, key, value)
}

// noLeak fails the test when secret shows in the connector's status, the
// audit log, the server's log or any of texts.
func (e *env) noLeak(secret, connectorID string, log *testenv.Buffer, texts ...string) {
	e.t.Helper()
	texts = append(texts,
		e.ok(roster.AdminUser, "connector", "show", connectorID, "-o", "json"),
		e.ok(roster.AdminUser, "event", "list", "-o", "json"),
		log.String())
	for _, s := range texts {
		if strings.Contains(s, secret) {
			e.t.Fatalf("the secret leaked: %s", s)
		}
	}
}

// TestConnectorSettingsCannotReachTheServersSecrets is issue 14's first
// finding: a connector's settings named the server's own environment
// (ROSTER_SESSION_KEY as a bind password) and files (/proc/self/environ as an
// HR feed, whose header the error then echoed).
func TestConnectorSettingsCannotReachTheServersSecrets(t *testing.T) {
	const sessionKey = "session-key-that-must-never-leave-the-server"
	t.Setenv("ROSTER_SESSION_KEY", sessionKey)
	var log testenv.Buffer
	e := startWith(t, server.Config{BootstrapToken: adminToken, Logger: slog.New(slog.NewTextHandler(&log, nil))})

	// Refused at apply, with the reason.
	e.applyFails(`settings.path: /proc/self/environ is not under the data directory `+e.data, roster.AdminUser, csvConnector("/proc/self/environ"))
	e.applyFails(`settings.path: ../roster.db is not under the data directory`, roster.AdminUser, csvConnector("../roster.db"))
	e.applyFails(`settings.bind_password_env: ROSTER_SESSION_KEY does not start with ROSTER_SECRET_`, roster.AdminUser,
		ldapSecretConnector("bind_password_env", "ROSTER_SESSION_KEY"))
	e.applyFails(`settings.bind_password_file: /proc/self/environ is not under the secrets directory `+e.secrets, roster.AdminUser,
		ldapSecretConnector("bind_password_file", "/proc/self/environ"))
	if err := os.Symlink("/proc/self/environ", filepath.Join(e.data, "environ.csv")); err != nil {
		t.Fatal(err)
	}
	e.applyFails(`settings.path: environ.csv leads outside the data directory`, roster.AdminUser, csvConnector("environ.csv"))
	if err := syscall.Mkfifo(filepath.Join(e.data, "fifo.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.applyFails(`settings.path: fifo.csv is not a regular file`, roster.AdminUser, csvConnector("fifo.csv"))

	// A link made after the apply is refused when the file is read, and
	// nothing of what it points at shows anywhere.
	e.apply(csvConnector("people.csv"))
	if err := os.Symlink("/proc/self/environ", filepath.Join(e.data, "people.csv")); err != nil {
		t.Fatal(err)
	}
	stderr := e.fails("people.csv leads outside the data directory", roster.AdminUser, "connector", "sync", "hr")
	e.noLeak(sessionKey, "hr", &log, stderr)

	// So is a FIFO, at once: reading it would wait for a writer forever.
	if err := os.Remove(filepath.Join(e.data, "people.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(e.data, "people.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	e.fails("people.csv is not a regular file", roster.AdminUser, "connector", "sync", "hr")
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("the sync of a FIFO took %s", took)
	}

	// A file in the data directory that is not an HR feed: the errors name
	// the line and column, never the file's text.
	if err := os.Remove(filepath.Join(e.data, "people.csv")); err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(e.data, "people.csv"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ file, want string }{
		{"ROSTER_SESSION_KEY=" + sessionKey + "\n", `the header has no id column "id"`},
		{"id,start_date\nalice," + sessionKey + "\n", `people.csv:2: column start_date: not a date in the format 2006-01-02`},
		{"id\n" + sessionKey + "\n" + sessionKey + "\n", `people.csv:3: column id: duplicate id (the same person as on line 2)`},
		{"id,name\nalice,\"" + sessionKey + "\n", `people.csv:2:`},
	} {
		write(tc.file)
		stderr := e.fails(tc.want, roster.AdminUser, "connector", "sync", "hr")
		if _, err := e.srv.Connectors.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.noLeak(sessionKey, "hr", &log, stderr)
	}
	// A file that is in order is read.
	write("id,name\nalice,Alice\n")
	equal(t, "sync", counts(e.connectorSync("hr")), "users +1 ~0 -0 ents +0 -0 grants +0 -0 held=false")
}

// TestConnectorFilesNeedTheServersDirectories: a server started without
// --secrets-dir or --data-dir accepts no *_file setting and no csv path; a
// server with another --secret-env-prefix accepts only variables with it.
func TestConnectorFilesNeedTheServersDirectories(t *testing.T) {
	e := startWith(t, server.Config{BootstrapToken: adminToken, ConnectorAccess: connector.Access{EnvPrefix: "ACME_ROSTER_"}})
	e.applyFails("settings.path: the server has no data directory: start roster serve with --data-dir", roster.AdminUser, csvConnector("/tmp/people.csv"))
	e.applyFails("settings.bind_password_file: the server has no secrets directory: start roster serve with --secrets-dir", roster.AdminUser,
		ldapSecretConnector("bind_password_file", "/tmp/password"))
	e.applyFails("settings.bind_password_env: ROSTER_SECRET_LDAP does not start with ACME_ROSTER_", roster.AdminUser,
		ldapSecretConnector("bind_password_env", "ROSTER_SECRET_LDAP"))
	e.apply(ldapSecretConnector("bind_password_env", "ACME_ROSTER_LDAP"))

	// A prefix that lets connectors read the server's own variables is
	// refused at start-up.
	for _, prefix := range []string{"ROSTER_", "ROSTER_S"} {
		_, err := server.Start(context.Background(), server.Config{DB: filepath.Join(t.TempDir(), "roster.db"), Addr: "127.0.0.1:0",
			ConnectorAccess: connector.Access{EnvPrefix: prefix}})
		if err == nil || !strings.Contains(err.Error(), "--secret-env-prefix "+prefix+" would let connectors read ROSTER_") {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
	}
	_, err := server.Start(context.Background(), server.Config{DB: filepath.Join(t.TempDir(), "roster.db"), Addr: "127.0.0.1:0",
		ConnectorAccess: connector.Access{DataDir: "/nonexistent/data"}})
	if err == nil || !strings.Contains(err.Error(), "--data-dir /nonexistent/data") {
		t.Fatalf("a missing data directory: %v", err)
	}
}
