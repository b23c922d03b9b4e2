package engine

import (
	"slices"
	"sync"
)

// claims are the profiles whose first syncs a call in this process is
// about to run or running: an apply's, or an approved change request's,
// which sync the profiles they switched on right after their commit. The
// scheduler and the change-driven sync leave a claimed profile alone. It is
// due to them (never synced), and marked by the syncs before it, all the
// while the call works through its profiles; run beside the call, they
// synced each profile a second time, interleaved with the call's own
// syncs: dense20k's enablement by `roster serve` took 10 minutes and
// 2.2 GB, against 3.5 minutes and 0.87 GB with them off. A claim ends when
// the call's syncs end; what is still due or marked then is theirs again.
// Claims are this process's: another replica's scheduler does not see them.
type claims struct {
	mu sync.Mutex
	n  map[string]int
}

// swap claims ids in place of *held, which it sets to ids: a transaction
// that the store runs again claims what its last run saved.
func (c *claims) swap(held *[]string, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	for _, id := range *held {
		c.dropLocked(id)
	}
	for _, id := range ids {
		c.n[id]++
	}
	*held = slices.Clone(ids)
}

// release ends the claims of ids.
func (c *claims) release(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.dropLocked(id)
	}
}

func (c *claims) dropLocked(id string) {
	if c.n[id] <= 1 {
		delete(c.n, id)
	} else {
		c.n[id]--
	}
}

// unclaimed returns the profiles of ids that no call claims.
func (c *claims) unclaimed(ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) == 0 {
		return ids
	}
	return slices.DeleteFunc(ids, func(id string) bool { return c.n[id] > 0 })
}
