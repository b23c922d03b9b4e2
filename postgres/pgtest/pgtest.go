// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// NewDatabase connects to the server named by ROSTER_TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
// creates an empty database with a random name, drops it when the test ends,
// and returns its URL. A test that needs PostgreSQL fails, never skips, when
// the server cannot be reached: a skipped driver test passes silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable that names the test server.
const EnvURL = "ROSTER_TEST_DATABASE_URL"

// DefaultURL is the test server when EnvURL is not set: a local PostgreSQL
// with trust authentication for the postgres user.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// startHint tells a developer how to start the local server.
const startHint = "start the local server with\n" +
	"\tpg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n" +
	"or point " + EnvURL + " at a PostgreSQL server where the user may create databases"

// ServerURL returns the URL of the test server: EnvURL, or DefaultURL.
func ServerURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database named roster_test_<random hex> on
// the test server, registers a cleanup that drops it (closing any connection
// still open to it), and returns its URL. It fails the test when the server
// cannot be reached.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: cannot reach the test PostgreSQL server (%s, from %s or the default): %v\n%s",
			redact(server), EnvURL, err, startHint)
	}
	defer admin.Close(context.Background())

	var b [8]byte
	rand.Read(b[:])
	name := "roster_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+ident); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, server, name)
}

// withDatabase returns the server's connection string with its database
// replaced by name. It accepts postgres:// URLs and key=value strings.
func withDatabase(t testing.TB, server, name string) string {
	t.Helper()
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			t.Fatalf("pgtest: %s is not a valid URL: %v", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	// In a key=value string the last dbname wins.
	return server + " dbname=" + name
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
