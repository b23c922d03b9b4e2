package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// outcome is how a Require function ended a test it was given.
type outcome struct {
	skipped, failed bool
	msg             string
}

// recorder is a testing.TB whose Skipf and Fatalf record the outcome and
// end the goroutine, as the real ones do; everything else is the real test's.
type recorder struct {
	testing.TB
	out outcome
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.out = outcome{skipped: true, msg: fmt.Sprintf(format, args...)}
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.out = outcome{failed: true, msg: fmt.Sprintf(format, args...)}
	runtime.Goexit()
}

// require runs f on a recorder in its own goroutine and returns what f
// returned and how it ended the test.
func require(t *testing.T, f func(testing.TB) string) (string, outcome) {
	t.Helper()
	r := &recorder{TB: t}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = f(r)
	}()
	<-done
	return got, r.out
}

// executable writes an empty executable file named name in a new directory
// and returns its path.
func executable(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// check asserts a missing piece's outcome: a skip starting "skipping:" with
// hint in its message without RequireAllEnv, a failure naming RequireAllEnv
// with it set.
func check(t *testing.T, f func(testing.TB) string, hint string) {
	t.Helper()
	t.Setenv(RequireAllEnv, "")
	_, out := require(t, f)
	if !out.skipped || out.failed || !strings.HasPrefix(out.msg, "skipping: ") || !strings.Contains(out.msg, hint) {
		t.Errorf("without %s: %+v, want a skip saying %q", RequireAllEnv, out, hint)
	}
	t.Setenv(RequireAllEnv, "1")
	_, out = require(t, f)
	if !out.failed || out.skipped || !strings.Contains(out.msg, hint) || !strings.Contains(out.msg, RequireAllEnv) {
		t.Errorf("with %s=1: %+v, want a failure saying %q", RequireAllEnv, out, hint)
	}
}

func TestRequireChromium(t *testing.T) {
	t.Setenv(ChromiumEnv, filepath.Join(t.TempDir(), "no-chromium"))
	check(t, RequireChromium, "apt-get install chromium")

	t.Setenv(ChromiumEnv, "")
	t.Setenv("PATH", t.TempDir())
	check(t, RequireChromium, "apt-get install chromium")

	bin := executable(t, "chromium")
	t.Setenv("PATH", filepath.Dir(bin))
	if got, out := require(t, RequireChromium); out != (outcome{}) || got != bin {
		t.Errorf("chromium on PATH: %q, %+v; want %q and the test going on", got, out, bin)
	}
	t.Setenv("PATH", t.TempDir())
	other := executable(t, "my-chromium")
	t.Setenv(ChromiumEnv, other)
	if got, out := require(t, RequireChromium); out != (outcome{}) || got != other {
		t.Errorf("%s=%s: %q, %+v; want it and the test going on", ChromiumEnv, other, got, out)
	}
}

func TestRequireSlapd(t *testing.T) {
	ldapmodify := executable(t, "ldapmodify")
	t.Setenv("PATH", filepath.Dir(ldapmodify))
	t.Setenv(SlapdEnv, filepath.Join(t.TempDir(), "no-slapd"))
	check(t, RequireSlapd, "apt-get install slapd ldap-utils")

	slapd := executable(t, "slapd")
	t.Setenv(SlapdEnv, slapd)
	if got, out := require(t, RequireSlapd); out != (outcome{}) || got != slapd {
		t.Errorf("slapd and ldapmodify there: %q, %+v; want %q and the test going on", got, out, slapd)
	}

	// slapd without ldap-utils cannot be seeded with LDIF.
	t.Setenv("PATH", t.TempDir())
	check(t, RequireSlapd, "apt-get install slapd ldap-utils")
}

func TestRequirePostgres(t *testing.T) {
	// Port 1 on the loopback interface refuses at once.
	t.Setenv(PostgresEnv, "postgres://nobody:secret-pw@127.0.0.1:1/x?sslmode=disable")
	check(t, RequirePostgres, "start one or set "+PostgresEnv)
	_, out := require(t, RequirePostgres)
	if strings.Contains(out.msg, "secret-pw") || !strings.Contains(out.msg, "127.0.0.1:1") {
		t.Errorf("message %q: want the server named without its password", out.msg)
	}
}

func TestRequireAll(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true} {
		t.Setenv(RequireAllEnv, v)
		if got := RequireAll(); got != want {
			t.Errorf("%s=%q: RequireAll() = %v, want %v", RequireAllEnv, v, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"postgres://u:secret@h/db", "postgres://u:xxxxx@h/db"},
		{"host=h password=secret user=u", "host=h password=xxxxx user=u"},
		{"postgres://u@h/db", "postgres://u@h/db"},
	} {
		if got := redact(tc.server); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}
