package crashtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
)

// sqliteBackend runs the server on a SQLite file in the test's temporary
// directory.
var sqliteBackend = backend{
	name: "sqlite",
	newDB: func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "roster.db")
	},
	open: func(ctx context.Context, db string) (roster.Store, error) {
		return sqlite.Open(ctx, db)
	},
	rerun: "go test ./crashtest -run TestCrashSQLite",
}

// TestCrashSQLite kills a server on SQLite at 100 commits spread over apply,
// sync and task processing, before and after the commit, and checks that a
// restarted server finishes the workload with every invariant holding and
// the same outcome as a run without a crash.
func TestCrashSQLite(t *testing.T) {
	testCrash(t, sqliteBackend)
}
