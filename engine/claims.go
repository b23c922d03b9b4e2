package engine

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rosterhq/roster"
)

// claims are the profiles whose first syncs a call is about to run or
// running: an apply's, or an approved change request's, which sync the
// profiles they switched on right after their commit. The scheduler and
// the change-driven sync leave a claimed profile alone. It is due to them
// (never synced), and marked by the syncs before it, all the while the call
// works through its profiles; run beside the call, they synced each profile
// a second time, interleaved with the call's own syncs: dense20k's
// enablement by `roster serve` took 10 minutes and 2.2 GB, against 3.5
// minutes and 0.87 GB with them off. A claim ends when the call's syncs
// end; what is still due or marked then is theirs again.
//
// A claim is kept twice: counted here, for this process, and as a lease in
// the database (claimLease and the profile's id, held by this replica), for
// the scheduler and change-driven sync of the other replicas on the same
// database. The lease is taken in the call's transaction, so it commits
// with what makes the profile due; it is renewed every LeaseTTL/3 while
// this process holds the claim, and given up when the last of its calls
// claiming the profile ends. A replica that dies leaves its claims to
// expire within LeaseTTL.
type claims struct {
	mu sync.Mutex
	n  map[string]int
	// renewing says a goroutine renews this replica's claim leases.
	renewing bool
}

// claimLease prefixes the name of a claim's lease.
const claimLease = "claim/"

// claim claims ids for the op's call in place of *held, which it sets to
// ids: a transaction that the store runs again claims what its last run
// saved. It takes their leases in the op's transaction.
func (o *op) claim(held *[]string, ids []string) error {
	e := o.e
	start := e.claims.swap(held, ids)
	// In order, so that two calls claiming the same profiles on
	// PostgreSQL wait for one another rather than deadlock.
	for _, id := range slices.Sorted(slices.Values(ids)) {
		// A lease another replica holds is left to it: it is syncing
		// the profile too, and either keeps the others' schedulers off.
		if _, err := o.tx.AcquireLease(o.ctx, claimLease+id, e.replica, o.now, LeaseTTL); err != nil {
			return err
		}
	}
	if start {
		go e.renewClaims()
	}
	return nil
}

// unclaim ends the op's call's claims of ids, giving up the leases of those
// no other call of this process claims. A lease that cannot be given up
// expires within LeaseTTL.
func (e *Engine) unclaim(ids []string) {
	ended := slices.Sorted(slices.Values(e.claims.release(ids)))
	if len(ended) == 0 {
		return
	}
	ctx := context.Background()
	err := e.store.Update(ctx, func(tx roster.Tx) error {
		for _, id := range ended {
			if err := tx.ReleaseLease(ctx, claimLease+id, e.replica); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.logger.Warn("could not give up the claims of profiles; they expire", "profiles", len(ended), "within", LeaseTTL, "err", err)
	}
}

// renewClaims renews, every LeaseTTL/3, the leases of the profiles this
// process claims, until it claims none.
func (e *Engine) renewClaims() {
	t := time.NewTicker(LeaseTTL / 3)
	defer t.Stop()
	for range t.C {
		ids := e.claims.renewable()
		if ids == nil {
			return
		}
		ctx := context.Background()
		err := e.store.Update(ctx, func(tx roster.Tx) error {
			now := e.clock.Now()
			for _, id := range ids {
				if _, err := tx.AcquireLease(ctx, claimLease+id, e.replica, now, LeaseTTL); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			e.logger.Warn("could not renew the claims of profiles", "profiles", len(ids), "err", err)
		}
	}
}

// unclaimed returns the profiles of ids that no call claims, in this
// process or, by its lease read in tx at now, in another.
func (e *Engine) unclaimed(ctx context.Context, tx roster.Tx, now time.Time, ids []string) ([]string, error) {
	ids = e.claims.unclaimed(ids)
	if len(ids) == 0 {
		return ids, nil
	}
	leased, err := tx.Leases(ctx, claimLease, now)
	if err != nil || len(leased) == 0 {
		return ids, err
	}
	return slices.DeleteFunc(ids, func(id string) bool {
		_, found := slices.BinarySearch(leased, id)
		return found
	}), nil
}

// swap claims ids in place of *held, which it sets to ids, and reports
// whether a goroutine must start to renew the claims' leases.
func (c *claims) swap(held *[]string, ids []string) (startRenewing bool) {
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
	if len(c.n) > 0 && !c.renewing {
		c.renewing = true
		return true
	}
	return false
}

// release ends the claims of ids and returns those no call claims any more.
func (c *claims) release(ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ended []string
	for _, id := range ids {
		if c.dropLocked(id) {
			ended = append(ended, id)
		}
	}
	return ended
}

// dropLocked ends one claim of id and reports whether it was the last.
func (c *claims) dropLocked(id string) bool {
	if c.n[id] <= 1 {
		delete(c.n, id)
		return true
	}
	c.n[id]--
	return false
}

// renewable returns the claimed profiles, or nil, when there are none, after
// which the next claim starts a goroutine to renew them again.
func (c *claims) renewable() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) == 0 {
		c.renewing = false
		return nil
	}
	ids := make([]string, 0, len(c.n))
	for id := range c.n {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// unclaimed returns the profiles of ids that no call in this process
// claims.
func (c *claims) unclaimed(ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) == 0 {
		return ids
	}
	return slices.DeleteFunc(ids, func(id string) bool { return c.n[id] > 0 })
}
