package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/smtptest"

	"github.com/rosterhq/roster/server"
)

// replica starts another server on e's database and clock, with its
// background work off.
func (e *env) replica(t *testing.T) *server.Server {
	t.Helper()
	return e.replicaWith(t, server.Config{SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1})
}

// replicaWith starts another server on e's database and clock, configured
// as cfg says otherwise.
func (e *env) replicaWith(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.DB, cfg.Addr, cfg.Clock = e.db, "127.0.0.1:0", e.clock
	s, err := server.Start(context.Background(), cfg)
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

// TestLeasesHandOverOnStopOrWithinTheirTTL checks section 5's leases with
// notifications: a server that stops gracefully hands its leases over, so
// the server started after it delivers at once rather than when the old
// lease would have expired; a replica that stops without handing over (a
// crash) holds them no longer than engine.LeaseTTL, after which another
// replica delivers.
func TestLeasesHandOverOnStopOrWithinTheirTTL(t *testing.T) {
	smtp := smtptest.Start(t)
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(emailSettings(smtp, "", ""))
	ctx := context.Background()
	e.ok("alice", "profile", "request", "eng")
	equal(t, "delivered by the first server", e.notify(), 1) // it holds the notifier's lease

	// Graceful: the server hands every lease it holds over — the
	// provisioner's and connectors', the change-driven sync's and the
	// schedules' too — and the next server delivers at once, the clock
	// unmoved.
	for _, w := range []interface {
		RunOnce(context.Context) (int, error)
	}{e.srv.Provisioner, e.srv.Connectors, e.srv.Changes, e.srv.Scheduler, e.srv.Reminders, e.srv.Delegations} {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	held := e.sqlCount(`SELECT count(*) FROM leases`)
	if held < 6 {
		t.Fatalf("the first server holds %d leases, want every worker's", held)
	}
	e.ok("dave", "profile", "request", "eng")
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.sqlCount(`SELECT count(*) FROM leases`); n != 0 {
		t.Fatalf("%d of its %d leases left held after a graceful stop", n, held)
	}
	next := e.replica(t)
	e.srv = next
	if n, err := next.Notifier.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("the server started after a graceful stop delivered %d (err %v) at once, want 1", n, err)
	}

	// Crashed: next holds the lease and stops running; another replica
	// waits for the lease to expire, and no longer.
	third := e.replica(t)
	e.ok("bob", "profile", "request", "eng")
	e.clock.Advance(engine.LeaseTTL / 2)
	if n, _ := third.Notifier.RunOnce(ctx); n != 0 {
		t.Fatal("a replica delivered while another held the notifier's live lease")
	}
	e.clock.Advance(engine.LeaseTTL/2 + time.Second)
	if n, err := third.Notifier.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("%v after the crashed replica's last renewal another delivered %d (err %v), want 1", engine.LeaseTTL+time.Second, n, err)
	}
	equal(t, "messages to carol", len(smtp.To("carol@example.com")), 3)
}

// A token is refused on every replica the moment it is revoked or its user is
// disabled on another, and works again on both once the user is enabled: each
// API call reads the token and its user as they are committed.
func TestReplicasRefuseARevokedTokenOrDisabledUserAtOnce(t *testing.T) {
	e := start(t)
	other := e.replica(t)
	e.apply(org)
	ctx := context.Background()
	tok, err := rosterhttp.NewClient(e.srv.URL, e.token(adminUser)).CreateToken(ctx, roster.TokenRequest{User: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	here, there := rosterhttp.NewClient(e.srv.URL, tok.Token), rosterhttp.NewClient(other.URL, tok.Token)
	works := func(when string, want bool, refusal string) {
		t.Helper()
		for _, c := range []*rosterhttp.Client{here, there} {
			u, err := c.Whoami(ctx)
			switch {
			case want && (err != nil || u.ID != "dave"):
				t.Fatalf("%s: whoami = %v, %v; want dave", when, u, err)
			case !want && (roster.ErrorCode(err) != roster.EUNAUTHORIZED || !strings.Contains(roster.ErrorMessage(err), refusal)):
				t.Fatalf("%s: whoami err %v; want 401 saying %q", when, err, refusal)
			}
		}
	}
	works("issued", true, "")
	disabled := strings.Replace(org, "{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering}",
		"{id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering, status: disabled}", 1)
	e.apply(disabled)
	works("dave disabled", false, `user "dave" is disabled`)
	e.apply(org)
	works("dave enabled again", true, "")
	if _, err := there.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	works("revoked on the other replica", false, "revoked")
}
