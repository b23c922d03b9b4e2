// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// NewDatabase connects to the server named by ROSTER_TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
// creates an empty database with a random name, drops it when the test ends,
// and returns its URL. When the server cannot be reached, the test skips and
// says how to start one, or fails with ROSTER_TEST_REQUIRE_ALL=1, as in CI
// (see internal/testenv).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/testenv"
)

// NewDatabase creates an empty database named roster_test_<random hex> on
// the test server, registers a cleanup that drops it (closing any connection
// still open to it), and returns its URL. It skips the test when the server
// cannot be reached (testenv.RequirePostgres).
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: connect to the test PostgreSQL server: %v", err)
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
			t.Fatalf("pgtest: %s is not a valid URL: %v", testenv.PostgresEnv, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	// In a key=value string the last dbname wins.
	return server + " dbname=" + name
}
