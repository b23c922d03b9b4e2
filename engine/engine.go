package engine

// The Engine and its op: one unit of work in one transaction, with the
// permission checks, audit events and the marking of profiles to sync that
// every service method shares; the leases of periodic work; API tokens.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine/internal/syncview"
	"github.com/rosterhq/roster/rule"
)

// Config configures an Engine. Store is required; the rest have defaults.
type Config struct {
	Store    roster.Store
	Clock    roster.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// ConnectorAccess says which environment variables and files
	// connectors' settings may name (and settings.notifications.email's
	// *_env settings).
	ConnectorAccess connector.Access
	// BaseURL is the console's address (roster serve --base-url), used in
	// messages' links when settings.base_url is unset.
	BaseURL string
	// SlackAPIURL is where Slack's Web API is (default DefaultSlackAPIURL);
	// tests point it at their own server.
	SlackAPIURL string
	// SyncChunk bounds the work one transaction of a sync does (default
	// DefaultSyncChunk): a sync that enrolls or unenrolls more commits it
	// in parts, so that its memory does not grow with the tasks it creates.
	// Tests set it low to put commits between the parts.
	SyncChunk int
	// SessionIdle ends a console session unused this long (default
	// DefaultSessionIdle); SessionLifetime ends it however much it is used
	// (default DefaultSessionLifetime).
	SessionIdle, SessionLifetime time.Duration
}

// Engine implements roster.Service.
type Engine struct {
	store roster.Store
	// lockKeys is how many keys a transaction may lock on a store whose
	// writers lock keys (roster.KeyLockingStore); 0 on one that runs one
	// writer at a time.
	lockKeys int
	clock    roster.Clock
	logger   *slog.Logger
	metrics  *metrics
	// replica names this process when it competes for leases.
	replica string
	mu      sync.Mutex
	leases  map[string]lease
	// marked wakes the change-driven sync when this process commits a change
	// that marked profiles, so the leader need not wait for its next tick.
	marked chan struct{}
	// provision wakes the connector provisioner when this process commits a
	// task that a connector should carry out.
	provision chan struct{}
	// notify wakes the notifier when this process commits a change that
	// enqueued messages.
	notify chan struct{}
	// seal wakes the Sealer when this process commits a change that
	// queued audit events.
	seal  chan struct{}
	conns connectors
	// access is what connectors' settings may reach (Config.ConnectorAccess).
	access connector.Access
	// baseURL is Config.BaseURL.
	baseURL string
	// slackAPI is Config.SlackAPIURL.
	slackAPI string
	// sessionIdle and sessionLifetime end console sessions (Config).
	sessionIdle, sessionLifetime time.Duration
	// touched remembers when this process last recorded the use of a token
	// or session, by id, so that a busy one is written at most once a
	// minute.
	touched sync.Map
	touches atomic.Int64
	// matches keeps what profiles' expressions matched from one sync to
	// the next (syncview.Matches).
	matches *syncview.Matches
	// kept are the plan inputs of profiles' last syncs (kept.go).
	kept keptInputs
	// claims are the profiles whose first syncs a call is running (claims.go).
	claims claims
	// views is the view of the last pass of many profiles' syncs (kept.go).
	views keptView
	// syncChunk is Config.SyncChunk.
	syncChunk int
}

// DefaultSyncChunk is the work one transaction of a sync does at most by
// default, in tasks created and users enrolled, unenrolled or whose task is
// cancelled: a few seconds of writing, tens of megabytes of pages.
const DefaultSyncChunk = 16384

var _ roster.Service = (*Engine)(nil)

// New returns an engine over cfg.Store.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = roster.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.SyncChunk <= 0 {
		cfg.SyncChunk = DefaultSyncChunk
	}
	lockKeys := 0
	if s, ok := cfg.Store.(roster.KeyLockingStore); ok {
		lockKeys = s.MaxLockKeys()
	}
	return &Engine{lockKeys: lockKeys, store: cfg.Store, clock: cfg.Clock, logger: cfg.Logger, metrics: newMetrics(cfg.Registry), replica: newToken()[4:16], leases: map[string]lease{}, marked: make(chan struct{}, 1), provision: make(chan struct{}, 1), notify: make(chan struct{}, 1), seal: make(chan struct{}, 1), access: cfg.ConnectorAccess, baseURL: cfg.BaseURL, slackAPI: cfg.SlackAPIURL,
		sessionIdle: cfg.SessionIdle, sessionLifetime: cfg.SessionLifetime, matches: syncview.NewMatches(), syncChunk: cfg.SyncChunk}
}

// LeaseTTL is how long a replica holds the lease for periodic work without
// renewing it; a replica that dies hands over within this time.
const LeaseTTL = time.Minute

// leaseRetry is how long a replica that is not the leader waits before it
// asks for a lease again.
const leaseRetry = 5 * time.Second

// lease is what this replica knows of one lease.
type lease struct {
	until   time.Time // held until then
	nextTry time.Time // not held: ask again then
}

// lead reports whether this replica holds (or has now taken) the named lease,
// so that periodic work runs on one replica at a time. It asks the database
// only when the lease it holds is past half its time, or, when it does not
// hold it, every leaseRetry.
func (e *Engine) lead(ctx context.Context, name string) (bool, error) {
	now := e.clock.Now()
	e.mu.Lock()
	l := e.leases[name]
	e.mu.Unlock()
	if l.until.After(now.Add(LeaseTTL / 2)) {
		return true, nil
	}
	if !l.until.After(now) && now.Before(l.nextTry) {
		return false, nil
	}
	var held bool
	err := e.store.Update(ctx, func(tx roster.Tx) (err error) {
		held, err = tx.AcquireLease(ctx, name, e.replica, now, LeaseTTL)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	l = lease{nextTry: now.Add(leaseRetry)}
	if held {
		l.until = now.Add(LeaseTTL)
	}
	e.mu.Lock()
	e.leases[name] = l
	e.mu.Unlock()
	return held, nil
}

// ReleaseLeases gives up every lease this replica holds, so that another
// replica, or this server started again, takes over the periodic work at
// once rather than when the leases expire. Call it once the workers have
// stopped: a worker that runs afterwards takes its lease again. A lease
// that expired meanwhile and was taken by another replica is left to it.
func (e *Engine) ReleaseLeases(ctx context.Context) error {
	e.mu.Lock()
	var names []string
	for name, l := range e.leases {
		if !l.until.IsZero() {
			names = append(names, name)
		}
	}
	e.leases = map[string]lease{}
	e.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	err := e.store.Update(ctx, func(tx roster.Tx) error {
		for _, name := range names {
			if err := tx.ReleaseLease(ctx, name, e.replica); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	return nil
}

// Actors that are not users.
const (
	// ActorAutomation is the actor of what membership automation starts.
	ActorAutomation = "automation"
	// ActorSystem is the actor of the scheduler and other background work.
	ActorSystem = roster.ActorSystem
)

// op is one unit of work inside one transaction: the transaction, the time it
// runs at, who acts, and what it did, reported after commit. Its methods are
// the workflow (workflow.go, membership.go, grants.go, sync.go,
// connector_sync.go); the mechanics that make it fast sit apart: the
// read-through cache it reads and writes through (cache.go), the memo of
// grants' audit data (memo.go), and the shared view of a pass of syncs
// (package syncview).
type op struct {
	ctx   context.Context
	tx    roster.Tx
	e     *Engine
	now   time.Time
	actor string
	// via is who acts in the op's context, with the token they act with:
	// its events name the token and its issuer while the op acts as via.User.
	via roster.Actor

	settings *roster.Settings
	// apps holds the apps read for messages' display names, and users the
	// users the op read (user).
	apps  map[string]*roster.App
	users map[string]*roster.User
	// subject is the subject of the task whose step was resolved last,
	// as read then: what the messages of that step say of them.
	subject *roster.User
	created int
	after   []func()
	// tally counts the tasks this op created and moved, for the metrics
	// after its commit: counted, not a closure each in after, since a
	// plan's one transaction may create millions.
	tally taskTally
	// changedEnts and changedUsers record what this op changed that a
	// profile's rule may depend on: grants created or removed, and users whose
	// status changed. Before commit they mark the profiles to sync.
	changedEnts, changedUsers map[string]bool
	// changedFields records the user fields (by their names in
	// expressions) whose value this op changed for some user.
	changedFields map[string]bool
	// journal records what the op's views taught the engine's matches
	// (syncview.Matches): undone if the transaction rolls back.
	journal syncview.Journal
	// keep says the op keeps the plan inputs of its syncs (kept.go).
	keep bool
	// lastChangedEnt is the entitlement grantChanged recorded last.
	lastChangedEnt string
	// marked is set when the op marked profiles to sync.
	marked bool
	// events holds the op's audit events until they are written together:
	// nothing reads events inside a read-write op.
	events []*roster.Event
	// outbox holds the op's outgoing messages until they are written
	// together (flushOutbox), and enqueued says it wrote some.
	outbox   []*roster.Notification
	enqueued bool
	// queued says the op queued audit events, for the Sealer to chain.
	queued bool
	// hooks are the webhooks events are posted to, compiled.
	hooks hooks
	// planned, when set, records what the op does for a plan (changeplan.go).
	planned *planRecorder
	// instant, while a task done the moment it was created is carried out
	// (createTask), holds it and its task.created event: the events its
	// carrying out records about the task's own grant and membership are
	// folded into that event (roster.Event.Effects).
	instant *instantTask
	// syncLocks are the keys a sync transaction holds on a store whose
	// writers lock keys; nil when it runs alone (synclock.go).
	syncLocks *syncLocks
	// delegs holds the delegations in force, by who set them, once read
	// (delegations).
	delegs map[string]roster.Delegation

	// Performance mechanics: what the op read and wrote, and the last
	// encoding of a grant's audit data.
	cache     cache
	grantData grantDataMemo
}

// eventBatch is how many audit events an op holds before writing them.
const eventBatch = 1024

// flushEvents writes the op's held audit events — appended to the chain,
// or queued for the Sealer (seal.go) — and then the messages they and the
// op enqueued (flushOutbox).
func (o *op) flushEvents() error {
	if len(o.events) > 0 {
		o.instant.release()
		queued, err := o.tx.QueueEvents(o.ctx, o.events)
		if err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		if queued {
			// Their webhook messages are enqueued as they are sealed.
			if !o.queued {
				o.queued = true
				o.after = append(o.after, o.e.wakeSealer)
			}
		} else if err := o.enqueueWebhooks(o.events); err != nil {
			return fmt.Errorf("enqueue webhook messages: %w", err)
		}
		o.events = o.events[:0]
	}
	return o.flushOutbox()
}

// enqueue puts n in the outbox with the op's change: held, and written
// with the others in a few statements (flushOutbox).
func (o *op) enqueue(n *roster.Notification) error {
	o.outbox = append(o.outbox, n)
	if len(o.outbox) >= eventBatch {
		return o.flushOutbox()
	}
	return nil
}

// flushOutbox writes the op's held messages, and wakes the notifier once
// the op has committed.
func (o *op) flushOutbox() error {
	if len(o.outbox) == 0 {
		return nil
	}
	if err := o.tx.EnqueueNotifications(o.ctx, o.outbox); err != nil {
		return fmt.Errorf("enqueue messages: %w", err)
	}
	clear(o.outbox)
	o.outbox = o.outbox[:0]
	if !o.enqueued {
		o.enqueued = true
		o.after = append(o.after, o.e.wakeNotifier)
	}
	return nil
}

// wakeNotifier tells the notifier messages are waiting.
func (e *Engine) wakeNotifier() {
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

// grantChanged records that a grant of entitlement was created or removed.
func (o *op) grantChanged(entitlement string) {
	if o.changedEnts == nil {
		o.changedEnts = map[string]bool{}
	}
	if entitlement != o.lastChangedEnt || len(o.changedEnts) == 0 {
		o.changedEnts[entitlement] = true
		o.lastChangedEnt = entitlement
	}
}

// userChanged records that a user's status changed.
func (o *op) userChanged(user string) {
	if o.changedUsers == nil {
		o.changedUsers = map[string]bool{}
	}
	o.changedUsers[user] = true
}

// fieldsChanged records that user old became u: the fields an expression
// reads that differ between them (every field for a new user, old nil).
func (o *op) fieldsChanged(old, u *roster.User) {
	fields := rule.Changed(old, u)
	if len(fields) == 0 {
		return
	}
	if o.changedFields == nil {
		o.changedFields = map[string]bool{}
	}
	for _, f := range fields {
		o.changedFields[f] = true
	}
}

// markChanged marks the profiles the op's changes so far can affect
// (triggerSyncs) and forgets those changes. A sync calls it before it
// clears its own profile's mark: in a transaction that syncs several
// profiles, what the syncs before it changed is what it sees, so it answers
// their marks on its profile too, and what it and later syncs change is
// marked at the next call or at commit.
func (o *op) markChanged() error {
	if err := o.triggerSyncs(); err != nil {
		return fmt.Errorf("mark profiles to sync: %w", err)
	}
	o.changedEnts, o.changedUsers, o.changedFields, o.lastChangedEnt = nil, nil, nil, ""
	return nil
}

// triggerSyncs marks, in the op's transaction, every profile whose membership
// the op's changes can affect: those whose rule names an entitlement whose
// grants changed, and for a user whose status changed, the profiles they are a
// member of or whose rule names something they hold.
func (o *op) triggerSyncs() error {
	if len(o.changedEnts) == 0 && len(o.changedUsers) == 0 && len(o.changedFields) == 0 {
		return nil
	}
	ents := make([]string, 0, len(o.changedEnts))
	for e := range o.changedEnts {
		ents = append(ents, e)
	}
	var profiles []string
	for u := range o.changedUsers {
		ms, err := o.memberships(u)
		if err != nil {
			return err
		}
		for _, m := range ms {
			profiles = append(profiles, m.Profile)
		}
		gs, err := o.tx.UserGrants(o.ctx, u)
		if err != nil {
			return err
		}
		for _, g := range gs {
			ents = append(ents, g.Entitlement)
		}
	}
	byRule, err := o.ruleProfiles(sortedUnique(ents))
	if err != nil {
		return err
	}
	profiles = append(profiles, byRule...)
	if len(o.changedFields) > 0 {
		fields := make([]string, 0, len(o.changedFields))
		for f := range o.changedFields {
			fields = append(fields, f)
		}
		byField, err := o.tx.FieldProfiles(o.ctx, sortedUnique(fields))
		if err != nil {
			return err
		}
		profiles = append(profiles, byField...)
	}
	profiles = sortedUnique(profiles)
	o.marked = o.marked || len(profiles) > 0
	return o.tx.TriggerProfiles(o.ctx, profiles)
}

// update runs fn in a read-write transaction as the actor in ctx, and runs the
// op's after-commit hooks once the transaction has committed.
func (e *Engine) update(ctx context.Context, fn func(o *op) error) error {
	return e.updateAs(ctx, roster.ActorFromContext(ctx), fn)
}

// newOp returns an op acting as actor in tx.
func (e *Engine) newOp(ctx context.Context, tx roster.Tx, actor string) *op {
	return &op{ctx: ctx, tx: tx, e: e, now: e.clock.Now(), actor: actor, via: roster.ActorOf(ctx)}
}

func (e *Engine) updateAs(ctx context.Context, actor string, fn func(o *op) error) error {
	var done, last *op
	err := e.store.Update(ctx, func(tx roster.Tx) error {
		if last != nil {
			last.journal.Undo() // a try before whose commit failed
		}
		o := e.newOp(ctx, tx, actor)
		last = o
		if err := fn(o); err != nil {
			// Undone before the rollback, while no other writer can give
			// the revs this transaction gave (and after it, should commit
			// fail).
			o.journal.Undo()
			return err
		}
		if err := o.triggerSyncs(); err != nil {
			return fmt.Errorf("mark profiles to sync: %w", err)
		}
		if err := o.flushEvents(); err != nil {
			return err
		}
		done = o
		return nil
	})
	if err != nil {
		if last != nil {
			last.journal.Undo()
		}
		return err
	}
	for _, f := range done.after {
		f()
	}
	done.tally.record(e.metrics)
	if done.marked {
		select {
		case e.marked <- struct{}{}:
		default: // already awake
		}
	}
	return nil
}

// view runs fn in a read-only transaction.
func (e *Engine) view(ctx context.Context, fn func(o *op) error) error {
	return e.store.View(ctx, func(tx roster.Tx) error {
		o := e.newOp(ctx, tx, roster.ActorFromContext(ctx))
		if err := fn(o); err != nil {
			return err
		}
		if len(o.events) > 0 {
			return fmt.Errorf("a read-only op recorded %d audit events (first: %s)", len(o.events), o.events[0].Action)
		}
		if len(o.outbox) > 0 {
			return fmt.Errorf("a read-only op enqueued %d messages", len(o.outbox))
		}
		return nil
	})
}

// Settings returns the tenant settings, read once per op.
func (o *op) tenant() (*roster.Settings, error) {
	if o.settings == nil {
		s, err := o.tx.Settings(o.ctx)
		if err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		o.settings = s
	}
	return o.settings, nil
}

// audit appends an event by the op's actor.
func (o *op) audit(action roster.AuditAction, objectType, objectID, reason string, data any) error {
	if o.planned != nil && o.planned.dry {
		return nil // a plan is rolled back: its events would never be read
	}
	var raw json.RawMessage
	if r, ok := data.(json.RawMessage); ok {
		raw = r
	} else if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("encode event data: %w", err)
		}
		raw = b
	}
	if o.instant.covers(action, objectType, objectID, data) {
		o.instant.fold(roster.Effect{Action: action, ObjectType: objectType, ObjectID: objectID, Reason: reason, Data: raw})
		return nil
	}
	ev := &roster.Event{At: o.now, Actor: o.actor, Action: action, ObjectType: objectType, ObjectID: objectID, Reason: reason, Data: raw}
	if o.actor != "" && o.actor == o.via.User {
		ev.Token, ev.Issuer = o.via.Token, o.via.Issuer
	}
	// The held events are written before the next is held, not after:
	// the last one stays in memory, where an instant task's effects are
	// folded into it.
	if len(o.events) >= eventBatch {
		if err := o.flushEvents(); err != nil {
			return err
		}
	}
	o.events = append(o.events, ev)
	return nil
}

// lastEvent returns the event the op held last, which audit keeps in
// memory until the next: nil when it holds none (a plan records none).
func (o *op) lastEvent() *roster.Event {
	if len(o.events) == 0 {
		return nil
	}
	return o.events[len(o.events)-1]
}

// caller returns the acting user, or EUNAUTHORIZED when there is none.
func (o *op) caller() (*roster.User, error) {
	if o.actor == "" {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "no user is signed in")
	}
	u, err := o.user(o.actor)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "user %q does not exist", o.actor)
	} else if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "user %q is disabled", o.actor)
	}
	return u, nil
}

// requireActor returns the caller if they may act on tasks and requests:
// anyone but an auditor, who reads everything and changes nothing.
func (o *op) requireActor() (*roster.User, error) {
	u, err := o.caller()
	if err != nil {
		return nil, err
	}
	if u.Role == roster.RoleAuditor {
		return nil, roster.Errorf(roster.EFORBIDDEN, "auditors read everything and change nothing")
	}
	return u, nil
}

// requireAdmin returns the caller if they are an admin, and EFORBIDDEN otherwise.
func (o *op) requireAdmin(what string) (*roster.User, error) {
	u, err := o.caller()
	if err != nil {
		return nil, err
	}
	if u.Role != roster.RoleAdmin {
		return nil, roster.Errorf(roster.EFORBIDDEN, "only admins may %s", what)
	}
	return u, nil
}

// requireReader returns the caller if they may read everything (admins and
// auditors), and EFORBIDDEN otherwise.
func (o *op) requireReader(what string) (*roster.User, error) {
	u, err := o.caller()
	if err != nil {
		return nil, err
	}
	if u.Role != roster.RoleAdmin && u.Role != roster.RoleAuditor {
		return nil, roster.Errorf(roster.EFORBIDDEN, "only admins and auditors may %s", what)
	}
	return u, nil
}

func readsAll(u *roster.User) bool { return u.Role == roster.RoleAdmin || u.Role == roster.RoleAuditor }

// Whoami returns the caller.
func (e *Engine) Whoami(ctx context.Context) (*roster.User, error) {
	var u *roster.User
	err := e.view(ctx, func(o *op) (err error) {
		u, err = o.caller()
		return err
	})
	return u, err
}

// sortedUnique returns xs sorted without duplicates.
func sortedUnique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
