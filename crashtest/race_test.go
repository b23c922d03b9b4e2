package crashtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/testenv"
)

// replicas is how many servers TestReplicasRacePostgres runs on one
// database.
const replicas = 4

// TestReplicasRacePostgres runs the workload on four replicas of one
// PostgreSQL database at once, each with its own admin and approvers: every
// replica syncs every profile (`roster sync --all`), approves and provisions
// every open task it sees — the same tasks as the others, of the same
// profiles — removes the same grants and does it all again, while the
// change-driven sync runs on the lease holder. Decisions on different
// people's tasks run beside one another, so this is where a missing lock
// would show: two open tasks for one (user, entitlement, kind), a member
// without an approved enrollment, a done task without its grant or its
// removal or its event, a broken audit chain. Once the replicas are done,
// the state must satisfy the invariants and end as a run on one server
// does.
func TestReplicasRacePostgres(t *testing.T) {
	testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The outcome of the workload on one server.
	refDB := postgresBackend.newDB(t)
	p, err := startServer(ctx, refDB, "")
	if err != nil {
		t.Fatal(err)
	}
	ref := newWorkload()
	ref.attach(p)
	if err := ref.run(ctx); err != nil {
		t.Fatalf("one server: %v\nserver log:\n%s", err, p.stderr)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	want := mustState(t, ctx, postgresBackend, refDB, "one server").outcome()

	db := postgresBackend.newDB(t)
	var procs []*process
	for i := range replicas {
		// The change-driven sync on: it races the others' syncs too.
		p, err := startServerWith(ctx, db, "", "--sync-chunk=3")
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer p.kill()
		procs = append(procs, p)
	}
	first := newWorkload()
	first.attach(procs[0])
	if err := first.apply(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, p := range procs {
		wg.Go(func() {
			w := newWorkload()
			w.racing = true
			w.attach(p)
			errs[i] = w.race(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v\nserver log:\n%s", i, err, procs[i].stderr)
		}
	}
	// Whatever the race left open (a task created by one replica's sync
	// after another's last round), one replica finishes.
	first.racing = true
	if err := first.race(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.quiet(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		if err := p.stop(); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	s := mustState(t, ctx, postgresBackend, db, "after the race")
	if v := s.violations(); len(v) > 0 {
		t.Fatalf("%d replicas racing break the invariants:%s", replicas, indent(v))
	}
	if d := diffOutcome(want, s.outcome()); len(d) > 0 {
		t.Fatalf("%d replicas racing end otherwise than one server (- one server, + the race):%s", replicas, indent(d))
	}
	t.Logf("%d replicas: %d tasks, %d events, the chain's head at %d", replicas, len(s.tasks), len(s.events), s.headID)
}

// race is the workload after the apply, as one of several replicas runs
// it: sync every profile while acting on every open task, sync every
// profile again, act on every open task, remove the grants, and again.
func (w *workload) race(ctx context.Context) error {
	for round := range 2 {
		if round == 1 {
			for _, r := range removals {
				err := w.admin.RemoveGrant(ctx, r.user, r.entitlement)
				if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
					return fmt.Errorf("remove %s %s: %w", r.user, r.entitlement, err)
				}
			}
		}
		// The syncs of every profile race the decisions on their
		// tasks, on this replica as on the others: on PostgreSQL a sync
		// locks only its profile and the users its plan changes.
		var synced error
		var both sync.WaitGroup
		both.Go(func() {
			if _, err := w.admin.SyncAll(ctx); err != nil {
				synced = fmt.Errorf("sync --all beside the decisions: %w", err)
			}
		})
		err := w.processTasks(ctx)
		both.Wait()
		if err := errors.Join(err, synced); err != nil {
			return err
		}
		if _, err := w.admin.SyncAll(ctx); err != nil {
			return fmt.Errorf("sync --all: %w", err)
		}
		if err := w.processTasks(ctx); err != nil {
			return err
		}
	}
	return nil
}

// lostRace reports whether err is what acting on a task another replica
// acted on first gets: the task moved on (ECONFLICT), or its step is now
// another's to approve (EFORBIDDEN).
func lostRace(err error) bool {
	var re *roster.Error
	return errors.As(err, &re) && (re.Code == roster.ECONFLICT || re.Code == roster.EFORBIDDEN)
}
