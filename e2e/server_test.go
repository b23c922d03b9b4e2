package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server"
)

// On an empty database without ROSTER_BOOTSTRAP_TOKEN the server generates the
// admin's token, prints it once, and it works; restarting prints nothing new.
func TestBootstrapTokenIsGeneratedOnce(t *testing.T) {
	var out bytes.Buffer
	e := startWith(t, server.Config{Out: &out})
	m := regexp.MustCompile(`admin's API token is (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token printed: %q", out.String())
	}
	e.tokens[adminUser] = m[1]
	var me struct{ ID, Role string }
	e.json(&me, adminUser, "whoami")
	equal(t, "whoami", me, struct{ ID, Role string }{"admin", "admin"})

	// A second server on the same database issues no new token.
	var again bytes.Buffer
	s2, err := server.Start(context.Background(), server.Config{
		DB: e.db, Addr: "127.0.0.1:0", Out: &again, SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again.String(), "token") {
		t.Fatalf("restart printed a token: %q", again.String())
	}
}

// roster backup copies a live server's SQLite database; a server started on
// the copy has the same organisation.
func TestBackupOfALiveDatabase(t *testing.T) {
	// Backups are for SQLite (PostgreSQL has pg_dump), whatever the suite runs on.
	e := startWith(t, server.Config{BootstrapToken: adminToken, DB: filepath.Join(t.TempDir(), "roster.db")})
	e.apply(org + engProfile)
	dest := filepath.Join(t.TempDir(), "backup.db")
	if out := e.ok(adminUser, "backup", "--db", e.db, dest); !strings.Contains(out, "backed up") {
		t.Fatalf("backup printed %q", out)
	}
	e.fails("exists", adminUser, "backup", "--db", e.db, dest)
	if out := e.ok(adminUser, "migrate", "--db", dest); !regexp.MustCompile(`version (\d+) of (\d+)`).MatchString(out) || !sameVersions(out) {
		t.Fatalf("migrate printed %q", out)
	}
	restored, err := server.Start(context.Background(), server.Config{DB: dest, Addr: "127.0.0.1:0", BootstrapToken: "x", SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close(context.Background())
	original := e.ok(adminUser, "task", "list", "-o", "json")
	e.srv.URL, restored.URL = restored.URL, e.srv.URL
	defer func() { e.srv.URL, restored.URL = restored.URL, e.srv.URL }()
	if got := e.ok(adminUser, "task", "list", "-o", "json"); got != original {
		t.Fatal("the restored database's tasks differ from the original's")
	}
}

// sameVersions reports whether "version A of B" has A equal to B.
func sameVersions(out string) bool {
	m := regexp.MustCompile(`version (\d+) of (\d+)`).FindStringSubmatch(out)
	return m != nil && m[1] == m[2]
}
