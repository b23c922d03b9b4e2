package pgtest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/testenv"
)

// databaseExists reports whether the test server holds a database named name.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.RequirePostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestNewDatabase(t *testing.T) {
	testenv.RequirePostgres(t) // so that the subtest's skip is this test's
	var name string
	t.Run("use", func(t *testing.T) {
		u := NewDatabase(t)
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(parsed.Path, "/")
		if !strings.HasPrefix(name, "roster_test_") {
			t.Fatalf("database %q, want a roster_test_ name", name)
		}
		// A connection left open does not keep the database from being dropped.
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		var current string
		if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&current); err != nil {
			t.Fatal(err)
		}
		if current != name {
			t.Fatalf("connected to %q, want %q", current, name)
		}
	})
	if name == "" {
		t.FailNow()
	}
	if databaseExists(t, name) {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/roster_test_x?sslmode=disable"},
		{"postgresql://u:p@h/", "postgresql://u:p@h/roster_test_x"},
		{"host=127.0.0.1 user=postgres dbname=postgres", "host=127.0.0.1 user=postgres dbname=postgres dbname=roster_test_x"},
	} {
		if got := withDatabase(t, tc.server, "roster_test_x"); got != tc.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}
