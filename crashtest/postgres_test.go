package crashtest

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/postgres/pgtest"
)

// postgresBackend runs the server on a new database of the test PostgreSQL
// server (pgtest: ROSTER_TEST_DATABASE_URL, or the local default); the server
// migrates it when it starts.
var postgresBackend = backend{
	name: "postgres",
	newDB: func(t *testing.T) string {
		return pgtest.NewDatabase(t)
	},
	open: func(ctx context.Context, db string) (roster.Store, error) {
		return postgres.Open(ctx, db)
	},
	rerun: "go test ./crashtest -run TestCrashPostgres",
	seals: 10,
}

// TestCrashPostgres is TestCrashSQLite on PostgreSQL: 100 kill points over
// apply, sync and task processing, before and after the commit, each
// followed by a restart, the rest of the workload and the invariants — and
// 20 more before and after the first ten commits that seal audit events.
func TestCrashPostgres(t *testing.T) {
	testCrash(t, postgresBackend)
}
