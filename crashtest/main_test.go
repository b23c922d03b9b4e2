// Package crashtest proves that a crash never loses or duplicates an access
// task: it starts the real roster binary, has it SIGKILL itself at a chosen
// read-write commit (internal/failpoint), restarts it on the same database,
// finishes the workload and checks the invariants against the store directly.
//
// Kill points are named like failpoint settings, "commit.before:N" or
// "commit.after:N": the server dies right before or right after its N-th
// read-write commit. Run chosen points only with
//
//	ROSTER_CRASH_POINTS=commit.after:37,commit.before:12 go test ./crashtest -run TestCrashSQLite
//
// and change how many points are spread over the workload with
// ROSTER_CRASH_COUNT (default 100).
package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/internal/testenv"
)

// rosterBin is the roster binary TestMain builds once for every test.
var rosterBin string

// TestMain builds cmd/roster from the module root into a temporary directory,
// runs the tests and removes the directory.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "roster-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	rosterBin = filepath.Join(dir, "roster")
	if err := testenv.BuildRoster(rosterBin); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	return m.Run()
}
