package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"

	"github.com/rosterhq/roster/server"
)

// replica starts another server on e's database and clock.
func (e *env) replica(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(context.Background(), server.Config{
		DB: e.db, Addr: "127.0.0.1:0", Clock: e.clock, SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// Two replicas on one database: both serve the API; the scheduled sync runs
// on the one holding the lease, once per interval; when it stops renewing,
// the other takes over.
func TestReplicasShareOneSchedule(t *testing.T) {
	e := start(t)
	other := e.replica(t)
	e.apply(org + engProfile)
	ctx := context.Background()

	// A sync requested on one replica is visible on the other.
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	first := e.srv.URL
	e.srv.URL = other.URL
	e.sync("eng")
	e.srv.URL = first
	e.task("--user", "dave", "--entitlement", "access-profiles/eng")

	e.clock.Advance(time.Hour)
	if n, err := e.srv.Scheduler.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("leader synced %d (err %v), want 1", n, err)
	}
	if n, err := other.Scheduler.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("follower synced %d (err %v), want 0", n, err)
	}
	// Both tick every 30 seconds for an hour: the leader renews its lease and
	// runs the one sync that comes due; the follower runs nothing.
	synced := 0
	for i := 0; i < 120; i++ {
		e.clock.Advance(30 * time.Second)
		n, err := e.srv.Scheduler.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		synced += n
		if n, _ := other.Scheduler.RunOnce(ctx); n != 0 {
			t.Fatal("the follower ran the schedule while the leader's lease was live")
		}
	}
	equal(t, "syncs in the hour", synced, 1)
	// The leader stops: once its lease expires the other takes over.
	e.clock.Advance(time.Hour)
	if n, err := other.Scheduler.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("new leader synced %d (err %v), want 1", n, err)
	}
	if n, _ := e.srv.Scheduler.RunOnce(ctx); n != 0 {
		t.Fatal("the old leader ran the schedule after losing the lease")
	}
}

// Two approvers act on the same task through two replicas at once: one
// approval wins, the other gets 409 naming the task's new state, and the
// task is approved once.
func TestReplicasApproveTheSameTaskOnce(t *testing.T) {
	e := start(t)
	other := e.replica(t)
	e.apply(org + `
  - {user: dave, entitlement: okta/sales}
`)
	e.apply(`
policies:
  - id: either
    steps: [{approvers: users, users: [carol, sam]}]
profiles:
  - id: s
    name: Sales
    enrollment: {policy: either}
    automation: {enabled: true, any_entitlement: [okta/sales]}
`)
	task := e.task("--user", "dave", "--entitlement", "access-profiles/s")
	equal(t, "approvers", task.Approvers, []string{"carol", "sam"})
	clients := []*rosterhttp.Client{
		rosterhttp.NewClient(e.srv.URL, e.token("carol")),
		rosterhttp.NewClient(other.URL, e.token("sam")),
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { _, errs[i] = c.ApproveTask(context.Background(), task.ID, "") })
	}
	wg.Wait()
	won, lost := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case roster.ErrorCode(err) == roster.ECONFLICT && strings.Contains(roster.ErrorMessage(err), "not pending approval"):
			lost++
		default:
			t.Fatalf("approval failed otherwise: %v", err)
		}
	}
	equal(t, "won and lost", []int{won, lost}, []int{1, 1})
	equal(t, "approval events", len(e.events("--action", "task.approved", "--object-id", id(task))), 1)
	equal(t, "members", e.members("s"), []string{"dave:automation"})
}
