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
		DB: filepath.Join(e.dir, "roster.db"), Addr: "127.0.0.1:0", Out: &again, SchedulerTick: -1, NotifierTick: -1,
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
