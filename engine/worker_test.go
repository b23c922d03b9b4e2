package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	_ "github.com/rosterhq/roster/connector/csv" // the HR feeds below
	"github.com/rosterhq/roster/sqlite"
)

// The background workers isolate their items' failures: one profile,
// notification, task or connector that fails is logged and counted, stays
// due for the next run, and does not keep the worker from the items after
// it. Each test makes the first item fail and checks the rest.

// TestSchedulerIsolatesFailures: p2's sync fails (its enrollment policy does
// not exist) inside the transaction it shares with p1 and p3.
func TestSchedulerIsolatesFailures(t *testing.T) {
	w := newWorkerEngine(t)
	w.profiles(t, 3, false)
	s := NewScheduler(w.e, time.Minute)
	n, err := s.RunOnce(context.Background())
	if n != 2 || err == nil || !strings.Contains(err.Error(), "p2") {
		t.Fatalf("RunOnce = %d, %v; want 2 synced and p2's failure", n, err)
	}
	w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2})
	w.failed(t, "scheduler", "p2", 1)
	for id, want := range map[string]bool{"p1": true, "p2": false, "p3": true} {
		if p := w.profile(t, id); (p.Sync.LastAt != nil) != want {
			t.Errorf("%s last synced at %v: recorded %v, want %v", id, p.Sync.LastAt, !want, want)
		}
	}
	// p2 alone is still due, and fails again.
	if n, err := s.RunOnce(context.Background()); n != 0 || err == nil || !strings.Contains(err.Error(), "p2") {
		t.Fatalf("second RunOnce = %d, %v; want p2's failure alone", n, err)
	}
	w.failed(t, "scheduler", "p2", 2)
}

// TestChangeSyncIsolatesFailures: p1, p2 and p3 are marked and p2's sync
// fails; p2 stays marked, and is tried once per run, not once per pass.
func TestChangeSyncIsolatesFailures(t *testing.T) {
	w := newWorkerEngine(t)
	w.profiles(t, 3, true)
	c := NewChangeSync(w.e, time.Minute)
	n, err := c.RunOnce(context.Background())
	if n != 2 || err == nil || !strings.Contains(err.Error(), "p2") {
		t.Fatalf("RunOnce = %d, %v; want 2 synced and p2's failure", n, err)
	}
	w.members(t, map[string]int{"p1": 2, "p2": 0, "p3": 2})
	w.failed(t, "changes", "p2", 1)
	var marked []string
	err = w.store.View(context.Background(), func(tx roster.Tx) (err error) {
		marked, err = tx.TriggeredProfiles(context.Background(), 10)
		return err
	})
	if err != nil || !slices.Equal(marked, []string{"p2"}) {
		t.Fatalf("marked after the run: %v, %v; want [p2]", marked, err)
	}
}

// TestNotifierIsolatesFailures: recording the first notification's delivery
// fails; the second is still delivered, and the first is due again.
func TestNotifierIsolatesFailures(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
	}))
	defer hook.Close()
	w := newWorkerEngine(t)
	ctx := context.Background()
	var ids []int64
	err := w.store.Update(ctx, func(tx roster.Tx) error {
		ids = nil
		now := w.e.clock.Now()
		for _, text := range []string{"first", "second"} {
			n := &roster.Notification{At: now, Channel: "slack", Target: hook.URL, Payload: `{"text":"` + text + `"}`, NextAt: now}
			if err := tx.EnqueueNotification(ctx, n); err != nil {
				return err
			}
			ids = append(ids, n.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first := fmt.Sprint(ids[0])
	w.fail = func(call, key string) error {
		if call == "UpdateNotification" && key == first {
			return errors.New("disk full")
		}
		return nil
	}
	nt := NewNotifier(w.e, time.Minute)
	n, err := nt.RunOnce(ctx)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "notification "+first) {
		t.Fatalf("RunOnce = %d, %v; want 1 delivered and notification %s's failure", n, err, first)
	}
	mu.Lock()
	if posts != 2 {
		t.Errorf("%d posts, want 2", posts)
	}
	mu.Unlock()
	w.failed(t, "notifier", "notification "+first, 1)
	var due []roster.Notification
	err = w.store.View(ctx, func(tx roster.Tx) (err error) {
		due, err = tx.DueNotifications(ctx, w.e.clock.Now(), 10)
		return err
	})
	if err != nil || len(due) != 1 || due[0].ID != ids[0] {
		t.Fatalf("due after the run: %+v, %v; want notification %d alone", due, err, ids[0])
	}
	w.fail = nil
	if n, err := nt.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("second RunOnce = %d, %v; want notification %s delivered", n, err, first)
	}
}

// TestProvisionerIsolatesFailures: the HR feed cannot provision, so each
// task fails for good; recording the first task's attempt fails, and the
// second is still carried to its end.
func TestProvisionerIsolatesFailures(t *testing.T) {
	w := newWorkerEngine(t)
	ctx := context.Background()
	people := filepath.Join(w.data, "people.csv")
	if err := os.WriteFile(people, []byte("id,name\nalice,Alice\nbob,Bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.apply(t, `
policies: [{id: auto, steps: []}]
connectors: [{id: hr, type: csv, app: hr, settings: {path: `+people+`}}]
users: [{id: alice}, {id: bob}]
apps: [{id: hr, entitlements: [{id: badge, request_policy: auto, provisioning: connector}]}]
profiles: [{id: badge, name: badge, entitlements: [hr/badge], enrollment: {policy: auto}}]
`)
	if _, err := w.e.Enroll(w.admin, "badge", []string{"alice", "bob"}, ""); err != nil {
		t.Fatal(err)
	}
	due := w.dueTasks(t)
	if len(due) != 2 {
		t.Fatalf("%d tasks due, want 2", len(due))
	}
	first, second := due[0].ID, due[1].ID
	w.fail = func(call, key string) error {
		if call == "ProvisionAttempt" && key == fmt.Sprint(first) {
			return errors.New("disk full")
		}
		return nil
	}
	n, err := NewProvisioner(w.e, time.Minute).RunOnce(ctx)
	if n != 0 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("task %d", first)) {
		t.Fatalf("RunOnce = %d, %v; want task %d's failure", n, err, first)
	}
	w.failed(t, "provisioner", fmt.Sprintf("task %d", first), 1)
	if due := w.dueTasks(t); len(due) != 1 || due[0].ID != first {
		t.Fatalf("due after the run: %+v; want task %d alone", due, first)
	}
	err = w.store.View(ctx, func(tx roster.Tx) error {
		task, err := tx.Task(ctx, second)
		if err != nil {
			return err
		}
		if task.State != roster.StateFailed {
			return fmt.Errorf("task %d is %s, want failed", second, task.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConnectorSchedulerIsolatesFailures: recording hr1's run fails; hr2 is
// still synced, and hr1 is due again.
func TestConnectorSchedulerIsolatesFailures(t *testing.T) {
	w := newWorkerEngine(t)
	ctx := context.Background()
	doc := ""
	for _, id := range []string{"hr1", "hr2"} {
		people := filepath.Join(w.data, id+".csv")
		if err := os.WriteFile(people, []byte("id,name\n"+id+"-alice,Alice\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		doc += "  - {id: " + id + ", type: csv, app: " + id + ", users: true, settings: {path: " + people + "}}\n"
	}
	w.apply(t, "apps: [{id: hr1}, {id: hr2}]\nconnectors:\n"+doc)
	w.fail = func(call, key string) error {
		if call == "PutConnector" && key == "hr1" {
			return errors.New("disk full")
		}
		return nil
	}
	s := NewConnectorScheduler(w.e, time.Minute)
	n, err := s.RunOnce(ctx)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "connector hr1") {
		t.Fatalf("RunOnce = %d, %v; want hr2 synced and hr1's failure", n, err)
	}
	w.failed(t, "connectors", "connector hr1", 1)
	err = w.store.View(ctx, func(tx roster.Tx) error {
		for id, synced := range map[string]bool{"hr1": false, "hr2": true} {
			c, err := tx.Connector(ctx, id)
			if err != nil {
				return err
			}
			if (c.Status.LastRun != nil) != synced {
				return fmt.Errorf("%s's last run: %+v, want synced %v", id, c.Status.LastRun, synced)
			}
		}
		if _, err := tx.User(ctx, "hr2-alice"); err != nil {
			return fmt.Errorf("hr2's person: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.fail = nil
	if n, err := s.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("second RunOnce = %d, %v; want hr1 synced", n, err)
	}
}

// TestWorkerStartWakeStop: a started worker runs when woken (a committed
// change marks a profile) without waiting for its tick, and Stop waits for
// its run to end; a worker without a tick does not start, and stopping it
// does nothing.
func TestWorkerStartWakeStop(t *testing.T) {
	w := newWorkerEngine(t)
	w.apply(t, `policies: [{id: auto, steps: []}]
users: [{id: u1}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
profiles: [{id: p, name: p, enrollment: {policy: auto}, automation: {enabled: true, any_entitlement: [a/e1]}}]
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	off := NewChangeSync(w.e, 0)
	off.Start(ctx)
	off.Stop()
	c := NewChangeSync(w.e, time.Hour)
	c.Start(ctx)
	defer c.Stop()
	if _, err := w.e.AddGrant(w.admin, "u1", "a/e1"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, err := w.e.Profile(w.admin, "p")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change-driven sync did not wake for the grant")
		}
	}
	c.Stop()
	c.Stop()
}

// workerEnv is an engine on a new SQLite database, with its log and metrics
// kept for the test to read, a store whose calls fail where fail says, and a
// data directory for the connectors' files.
type workerEnv struct {
	e     *Engine
	store roster.Store
	admin context.Context
	log   *bytes.Buffer
	reg   *prometheus.Registry
	// data is the connectors' data directory.
	data string
	// fail, when set, is asked before each call failingTx wraps.
	fail func(call, key string) error
	// updates counts the store's read-write transactions.
	updates atomic.Int64
}

func newWorkerEngine(t *testing.T) *workerEnv {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &workerEnv{log: &bytes.Buffer{}, reg: prometheus.NewRegistry(), data: t.TempDir()}
	w.store = failingStore{db, w}
	w.e = New(Config{Store: w.store, Clock: roster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Logger: slog.New(slog.NewTextHandler(w.log, nil)), Registry: w.reg, ConnectorAccess: connector.Access{DataDir: w.data}})
	if _, err := w.e.Bootstrap(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	w.admin = roster.NewContext(context.Background(), roster.AdminUser)
	return w
}

func (w *workerEnv) apply(t *testing.T, doc string) {
	t.Helper()
	if _, err := w.e.Apply(w.admin, roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
}

// profiles makes n profiles p1, p2, … whose rule u1 and u2 match, with
// automation on, straight in the store, and p2's enrollment policy one that
// does not exist (apply refuses it), so that p2's sync fails. With marked,
// they are marked for the change-driven sync.
func (w *workerEnv) profiles(t *testing.T, n int, marked bool) {
	t.Helper()
	doc := `policies: [{id: auto, steps: []}]
users: [{id: u1}, {id: u2}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
grants: [{user: u1, entitlement: a/e1}, {user: u2, entitlement: a/e1}]
profiles:
`
	var ids []string
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprint("p", i))
	}
	for _, p := range ids {
		doc += "  - {id: " + p + ", name: " + p + ", entitlements: [], enrollment: {policy: auto}, automation: {enabled: false, mode: sync_and_act, any_entitlement: [a/e1]}}\n"
	}
	w.apply(t, doc)
	ctx := context.Background()
	err := w.store.Update(ctx, func(tx roster.Tx) error {
		for _, id := range ids {
			p, err := tx.Profile(ctx, id)
			if err != nil {
				return err
			}
			p.Automation.Enabled = true
			if id == "p2" {
				p.Enrollment.Policy = "missing"
			}
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
		}
		if marked {
			return tx.TriggerProfiles(ctx, ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// members checks how many members each profile has.
func (w *workerEnv) members(t *testing.T, want map[string]int) {
	t.Helper()
	for id, n := range want {
		p, err := w.e.Profile(w.admin, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Members) != n {
			t.Errorf("%s has %d members, want %d", id, len(p.Members), n)
		}
	}
}

func (w *workerEnv) profile(t *testing.T, id string) *roster.Profile {
	t.Helper()
	var p *roster.Profile
	err := w.store.View(context.Background(), func(tx roster.Tx) (err error) {
		p, err = tx.Profile(context.Background(), id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *workerEnv) dueTasks(t *testing.T) []roster.Task {
	t.Helper()
	var due []roster.Task
	err := w.store.View(context.Background(), func(tx roster.Tx) (err error) {
		due, err = tx.DueConnectorTasks(context.Background(), w.e.clock.Now(), 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return due
}

// failed checks that worker's failures counter reads n, and that the log
// names worker and item.
func (w *workerEnv) failed(t *testing.T, worker, item string, n int) {
	t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "roster_worker_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "worker" && l.GetValue() == worker {
					got = m.GetCounter().GetValue()
				}
			}
		}
	}
	if got != float64(n) {
		t.Errorf("roster_worker_failures_total{worker=%q} = %v, want %d", worker, got, n)
	}
	log := w.log.String()
	if !strings.Contains(log, "worker="+worker) || !strings.Contains(log, item) {
		t.Errorf("the log does not name worker %s and %s:\n%s", worker, item, log)
	}
}

// failingStore is the SQLite store with failingTx around its transactions.
type failingStore struct {
	roster.Store
	w *workerEnv
}

func (s failingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	s.w.updates.Add(1)
	return s.Store.Update(ctx, func(tx roster.Tx) error { return fn(failingTx{tx, s.w}) })
}

func (s failingStore) View(ctx context.Context, fn func(roster.Tx) error) error {
	return s.Store.View(ctx, func(tx roster.Tx) error { return fn(failingTx{tx, s.w}) })
}

// failingTx fails the calls the test's fail names, one item at a time.
type failingTx struct {
	roster.Tx
	w *workerEnv
}

func (tx failingTx) check(call, key string) error {
	if tx.w.fail == nil {
		return nil
	}
	return tx.w.fail(call, key)
}

func (tx failingTx) UpdateNotification(ctx context.Context, n *roster.Notification) error {
	if err := tx.check("UpdateNotification", fmt.Sprint(n.ID)); err != nil {
		return err
	}
	return tx.Tx.UpdateNotification(ctx, n)
}

// MarkNotificationsDelivered records deliveries as UpdateNotification
// would, and fails like it for each of ids.
func (tx failingTx) MarkNotificationsDelivered(ctx context.Context, ids []int64, at time.Time) error {
	for _, id := range ids {
		if err := tx.check("UpdateNotification", fmt.Sprint(id)); err != nil {
			return err
		}
	}
	return tx.Tx.MarkNotificationsDelivered(ctx, ids, at)
}

func (tx failingTx) ProvisionAttempt(ctx context.Context, task int64) (*roster.ProvisionAttempt, error) {
	if err := tx.check("ProvisionAttempt", fmt.Sprint(task)); err != nil {
		return nil, err
	}
	return tx.Tx.ProvisionAttempt(ctx, task)
}

// PutProfileSyncs fails like the test's fail says for any profile of
// syncs: it records the outcome of a sync.
func (tx failingTx) PutProfileSyncs(ctx context.Context, syncs map[string]roster.SyncState) error {
	for id := range syncs {
		if err := tx.check("PutProfileSyncs", id); err != nil {
			return err
		}
	}
	return tx.Tx.PutProfileSyncs(ctx, syncs)
}

func (tx failingTx) PutConnector(ctx context.Context, c *roster.Connector) error {
	if err := tx.check("PutConnector", c.ID); err != nil {
		return err
	}
	return tx.Tx.PutConnector(ctx, c)
}
