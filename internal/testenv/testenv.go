// Package testenv decides what a test does when something it talks to is not
// on the machine: a PostgreSQL server, Debian's Chromium, OpenLDAP's slapd.
//
// On a developer's machine such a test skips, saying what to install or
// start, so that `go test ./...` passes on a laptop with nothing but Go. With
// ROSTER_TEST_REQUIRE_ALL=1 in the environment — scripts/test.sh sets it
// when CI is set — a missing piece fails the test instead: CI runs every test,
// and a piece missing there is a red build, never a silent skip.
//
// Where each piece is looked for:
//
//   - PostgreSQL: ROSTER_TEST_DATABASE_URL, or
//     postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; the server
//     must accept a connection.
//   - Chromium: ROSTER_TEST_CHROMIUM, or chromium on PATH.
//   - slapd: ROSTER_TEST_SLAPD, or /usr/sbin/slapd; and ldapmodify (from
//     ldap-utils) on PATH.
package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireAllEnv is the environment variable that turns a missing piece from
// a skip into a failure: any value strconv.ParseBool reads as true, or one it
// cannot read (so that a typo does not skip silently). "0", "false" or unset
// let tests skip.
const RequireAllEnv = "ROSTER_TEST_REQUIRE_ALL"

// PostgresEnv names the PostgreSQL server the tests use; PostgresDefaultURL
// is the server when it is not set: a local PostgreSQL with trust
// authentication for the postgres user.
const (
	PostgresEnv        = "ROSTER_TEST_DATABASE_URL"
	PostgresDefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// ChromiumEnv names the Chromium binary the browser tests start; unset, it
// is chromium on PATH.
const ChromiumEnv = "ROSTER_TEST_CHROMIUM"

// SlapdEnv names the slapd binary the LDAP tests start; unset, it is
// SlapdDefaultPath, where Debian's slapd package puts it.
const (
	SlapdEnv         = "ROSTER_TEST_SLAPD"
	SlapdDefaultPath = "/usr/sbin/slapd"
)

// RequireAll reports whether RequireAllEnv asks for every test to run.
func RequireAll() bool {
	v := os.Getenv(RequireAllEnv)
	if v == "" {
		return false
	}
	on, err := strconv.ParseBool(v)
	return on || err != nil
}

// missing ends the test because a piece of its environment is missing: a
// skip whose message says what to do, or a failure under RequireAllEnv.
func missing(t testing.TB, need string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s; %s is set, so a test may not skip", need, RequireAllEnv)
	}
	t.Skipf("skipping: %s", need)
}

// PostgresURL returns the URL of the test server: PostgresEnv, or
// PostgresDefaultURL. Tests that connect call RequirePostgres instead.
func PostgresURL() string {
	if u := os.Getenv(PostgresEnv); u != "" {
		return u
	}
	return PostgresDefaultURL
}

// RequirePostgres returns the URL of the test PostgreSQL server once it has
// accepted a connection (tried once per URL and test binary). When it does
// not, the test skips, or fails under RequireAllEnv.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	server := PostgresURL()
	if err := reachPostgres(server); err != nil {
		missing(t, fmt.Sprintf("needs PostgreSQL at %s: start one or set %s "+
			"(apt-get install postgresql; pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n%v",
			redact(server), PostgresEnv, err))
	}
	return server
}

var (
	reachedMu sync.Mutex
	reached   = map[string]error{}
)

// reachPostgres connects to server and closes the connection, remembering
// the outcome for later tests of the same binary.
func reachPostgres(server string) error {
	reachedMu.Lock()
	defer reachedMu.Unlock()
	if err, ok := reached[server]; ok {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err == nil {
		conn.Close(ctx)
	}
	reached[server] = err
	return err
}

// RequireChromium returns the path of the Chromium binary for the browser
// tests. When there is none, the test skips, or fails under RequireAllEnv.
func RequireChromium(t testing.TB) string {
	t.Helper()
	name := os.Getenv(ChromiumEnv)
	if name == "" {
		name = "chromium"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, fmt.Sprintf("needs Chromium (apt-get install chromium, or set %s to its binary): %v", ChromiumEnv, err))
	}
	return path
}

// AxeEnv names axe-core's axe.min.js, which the console's browser tests
// inject into every screen; unset, it is AxeDefaultPath under the user's
// cache directory, where scripts/test.sh installs it with npm.
const (
	AxeEnv         = "ROSTER_TEST_AXE"
	AxeDefaultPath = "roster-test/node_modules/axe-core/axe.min.js"
)

// RequireAxe returns the source of axe-core's axe.min.js. When it is not
// there, the test skips, or fails under RequireAllEnv.
func RequireAxe(t testing.TB) string {
	t.Helper()
	path := os.Getenv(AxeEnv)
	if path == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			missing(t, fmt.Sprintf("needs axe-core, and there is no cache directory to look in (set %s to axe.min.js): %v", AxeEnv, err))
		}
		path = cache + "/" + AxeDefaultPath
	}
	src, err := os.ReadFile(path)
	if err != nil {
		missing(t, fmt.Sprintf("needs axe-core (npm install --prefix \"$HOME/.cache/roster-test\" axe-core@4, as scripts/test.sh does, or set %s to axe.min.js): %v", AxeEnv, err))
	}
	return string(src)
}

// RequireSlapd returns the path of OpenLDAP's slapd once it and ldapmodify
// are found. When either is missing, the test skips, or fails under
// RequireAllEnv.
func RequireSlapd(t testing.TB) string {
	t.Helper()
	name := os.Getenv(SlapdEnv)
	if name == "" {
		name = SlapdDefaultPath
	}
	path, err := exec.LookPath(name)
	if err == nil {
		_, err = exec.LookPath("ldapmodify")
	}
	if err != nil {
		missing(t, fmt.Sprintf("needs OpenLDAP's slapd and ldapmodify (apt-get install slapd ldap-utils, or set %s to slapd's binary): %v", SlapdEnv, err))
	}
	return path
}

// keywordPassword matches the password of a key=value connection string.
var keywordPassword = regexp.MustCompile(`password\s*=\s*('[^']*'|\S+)`)

// redact returns a connection string with its password, if any, replaced.
func redact(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		return keywordPassword.ReplaceAllString(server, "password=xxxxx")
	}
	if u.User == nil {
		return server
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
