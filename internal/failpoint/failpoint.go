// Package failpoint lets the crash tests kill a Roster process at a named
// point in its work, to prove that a crash anywhere leaves all or nothing.
//
// A process started with ROSTER_FAILPOINT=NAME:N kills itself with SIGKILL
// the N-th time it reaches Inject(NAME). Without the variable Inject costs
// one comparison. The points are:
//
//   - commit.before: a read-write transaction is about to commit;
//   - commit.after: it has committed, and its caller has not yet heard;
//   - seal.before and seal.after: the same, for a transaction that seals
//     queued audit events (PostgreSQL), counted apart: sealing runs in the
//     background, and a workload's commits keep their numbers.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

var (
	armed  string
	target int64
	hits   atomic.Int64
)

func init() {
	name, n, ok := strings.Cut(os.Getenv("ROSTER_FAILPOINT"), ":")
	if !ok {
		return
	}
	if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
		armed, target = name, v
	}
}

// Inject kills the process when it is the armed point's N-th hit.
func Inject(name string) {
	if armed == "" || name != armed {
		return
	}
	if hits.Add(1) == target {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // wait for the signal
	}
}
