package roster

import (
	"context"
	"strconv"
	"time"
)

// Store is Roster's storage. The sqlite and postgres packages implement it, and
// the storetest package holds the conformance suite both must pass.
//
// All reads and writes happen inside a transaction: Update runs fn in a
// read-write transaction that commits when fn returns nil and rolls back
// otherwise, so a change is applied whole or not at all; View runs fn in a
// read-only transaction.
//
// A store may run fn more than once, when a transaction conflicts with a
// concurrent one and is retried; fn must therefore not accumulate results
// outside the transaction across runs.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// LooseReader is a Store that can also run reads outside any transaction:
// each statement reads what is committed when it runs, with no snapshot
// across them, and a write fails. For a read of a statement or two whose
// answers need not agree with each other's instant — who an API token is,
// asked by every call — it spares a transaction's BEGIN and COMMIT, two of
// a PostgreSQL read's four round trips. A store without it reads in View.
type LooseReader interface {
	ReadLoose(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction: what a store must do, one interface per aggregate.
//
// Lookups of a single object that does not exist return an *Error with code
// ENOTFOUND, never (nil, nil). Put methods insert or replace the whole
// object; the caller sets its timestamps. Lists are ordered by id (bytewise)
// unless said otherwise, and a page's Items is never nil. Times come back in
// UTC, truncated to the microsecond, so every store behaves alike.
//
// Beside the plain reads and writes, some methods exist only to be fast: a
// sync or an apply reads what thousands of users need in one query (the
// methods that take a list of ids), or streams a whole organisation without
// holding its rows (ScanSync), or writes in bulk (AppendEvents, BulkGrants).
// Each says so in its comment; their results are those of the plain
// methods, read differently.
type Tx interface {
	UserStore
	CatalogStore
	GrantStore
	TaskStore
	ProfileStore
	EventStore
	ConnectorStore
	LeaseStore
	SyncViewStore
	ChangeStore
	LockStore
	FlushStore
	AccessLogStore
}

// AccessLogStore tells which users' access changed since a mark: whose
// grants, memberships, tasks or denials were written, or whose status
// changed. A sync keeps its profile's plan input from one sync to the next
// and reads again only what concerns those users. The store logs them
// itself, in the same transaction as the change (triggers), so no write
// can be missed, and gives marks in commit order.
type AccessLogStore interface {
	// AccessMark returns a mark of the changes committed so far. Called
	// before the reads it dates, it makes AccessChangedSince find every
	// change those reads may have missed: what commits after it, and what
	// this transaction writes.
	AccessMark(ctx context.Context) (int64, error)
	// AccessChangedSince returns, sorted and without duplicates, the users
	// of every change committed after mark was taken (and perhaps others,
	// including this transaction's own). ok is false when the log no
	// longer reaches back to mark (see PruneAccessLog): everything must
	// then be read again.
	AccessChangedSince(ctx context.Context, mark int64) (users []string, ok bool, err error)
	// PruneAccessLog forgets the changes logged before mark:
	// AccessChangedSince refuses an older one.
	PruneAccessLog(ctx context.Context, mark int64) error
}

// FlushStore lets a transaction whose loss would do no harm commit without
// waiting for the database to flush it to disk.
type FlushStore interface {
	// SkipFlush says that losing what this transaction writes, should the
	// database crash just after it commits, does no harm: the commit does
	// not wait for its flush (PostgreSQL: synchronous_commit off for it).
	// The database stays consistent either way; only the transaction may
	// be lost. A store whose commits do not wait for a flush does nothing.
	SkipFlush(ctx context.Context) error
}

// LockStore lets the transactions a store could run beside one another say
// what they change. A store that runs one writer at a time (SQLite) has
// nothing to do. One that runs several (PostgreSQL, many replicas) runs a
// read-write transaction alone unless, before its first statement, it calls
// Lock: it then runs beside the other transactions that locked, unless they
// locked the same keys, and never beside one that did not lock.
//
// A transaction must lock before it reads what it will write: at READ
// COMMITTED, what it read before is already stale.
type LockStore interface {
	// Lock takes keys until the transaction ends. Called before any other
	// statement of the transaction, it lets the transaction run beside
	// others, as above. Called again in such a transaction, it takes more
	// keys — out of the one order the first call keeps, so it may meet a
	// deadlock, which the store resolves by running the transaction again.
	// Called in a transaction that runs alone, it does nothing. A
	// transaction whose keys would pass the store's bound
	// (KeyLockingStore) runs alone instead.
	Lock(ctx context.Context, keys ...LockKey) error
}

// KeyLockingStore is a Store whose read-write transactions that lock keys
// (LockStore) run beside one another: PostgreSQL. A writer that must learn
// its keys before its transaction starts (a sync of many profiles plans
// them in a view first, to know the users it will change) does so only on
// such a store.
type KeyLockingStore interface {
	Store
	// MaxLockKeys is how many keys a transaction may hold: one that would
	// hold more runs alone, as one that locks nothing does.
	MaxLockKeys() int
}

// LockKey names what a transaction changes, for LockStore.Lock.
type LockKey struct {
	// Kind is what is locked: "user", "profile", or "task" — which stands
	// for its subject (exclusive) and, when the task belongs to a
	// profile, that profile (shared; exclusive for an exclusion task,
	// whose denial changes the profile) — or "events": the transaction only
	// seals queued audit events (SealEvents), and runs beside every
	// other, even those that lock nothing.
	Kind string
	// ID is the user's or profile's id, or the task's id in decimal.
	ID string
	// Shared keys are held by many transactions at once; an exclusive
	// one by one, and by no shared holder meanwhile.
	Shared bool
}

// LockTask is the key of a decision on task id: the task's subject, whose
// grants, tasks and memberships the decision changes, and its profile,
// shared, so that whatever changes the whole profile waits — exclusive for
// an exclusion task, whose denial takes the subject out of the profile's
// excluded users.
func LockTask(id int64) LockKey { return LockKey{Kind: "task", ID: strconv.FormatInt(id, 10)} }

// LockEvents is the key of a transaction that only seals audit events.
var LockEvents = LockKey{Kind: "events"}

// ChangeStore keeps the change requests of four-eyes change approval.
type ChangeStore interface {
	// CreateChange stores a new change request and sets its ID.
	CreateChange(ctx context.Context, c *ChangeRequest) error
	// Change returns one change request; ENOTFOUND when there is none.
	Change(ctx context.Context, id int64) (*ChangeRequest, error)
	// Changes lists the change requests f selects, newest first.
	Changes(ctx context.Context, f ChangeFilter) ([]ChangeRequest, error)
	// UpdateChange stores a change request's new state.
	UpdateChange(ctx context.Context, c *ChangeRequest) error
}

// UserStore keeps users, the API tokens that act as them and their console
// sessions.
type UserStore interface {
	User(ctx context.Context, id string) (*User, error)
	Users(ctx context.Context, f UserFilter) (*Page[User], error)
	PutUser(ctx context.Context, u *User) error
	// Admins returns the ids of the active admins, ordered.
	Admins(ctx context.Context) ([]string, error)

	// AllUsers returns every user, ordered by id: what a connector's sync
	// compares its snapshot with, in one read instead of page by page.
	AllUsers(ctx context.Context) ([]User, error)
	// UsersOf returns those of ids that are users, in no particular order:
	// an apply reads the users it is about to put in one query.
	UsersOf(ctx context.Context, ids []string) ([]User, error)
	// DisabledUsers returns those of ids whose status is not active,
	// ordered: a sync reads the status of the users its plan concerns in
	// one query.
	DisabledUsers(ctx context.Context, ids []string) ([]string, error)

	// CreateToken stores a new API token with the hash of its secret; the
	// token's secret (Token.Token) is not stored. ECONFLICT when its id or
	// hash exists.
	CreateToken(ctx context.Context, t *Token, hash string) error
	// Token returns the token with this id.
	Token(ctx context.Context, id string) (*Token, error)
	// TokenByHash returns the token whose secret has this hash.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// TokenAndUser returns the token whose secret has this hash and its
	// user (nil when no such user exists): what every API call reads, in
	// one statement. ENOTFOUND when no token has this hash.
	TokenAndUser(ctx context.Context, hash string) (*Token, *User, error)
	// Tokens lists the tokens whose user or issuer is user (every token
	// when user is ""), ordered by creation, then id.
	Tokens(ctx context.Context, user string) ([]Token, error)
	// TouchToken records that a token was used at at.
	TouchToken(ctx context.Context, id string, at time.Time) error
	// RevokeToken marks a token revoked at at, unless it already is.
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// CreateSession stores a new console session with the hash of its
	// secret. ECONFLICT when its id or hash exists.
	CreateSession(ctx context.Context, s *Session, hash string) error
	// Session returns the session with this id.
	Session(ctx context.Context, id string) (*Session, error)
	// SessionByHash returns the session whose secret has this hash.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// Sessions lists the sessions of user (every session when user is ""),
	// ordered by creation, then id.
	Sessions(ctx context.Context, user string) ([]Session, error)
	// TouchSession records that a session was used at at.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSessions ends sessions: the one with id, or every session of
	// user, or every session signed in with token — whichever of the three
	// is set — and returns the ids it ended, ordered.
	DeleteSessions(ctx context.Context, id, user, token string) ([]string, error)
	// PutDelegation stores d, replacing the delegation d.User had.
	PutDelegation(ctx context.Context, d *Delegation) error
	// DeleteDelegation removes user's delegation; removing none is not an
	// error.
	DeleteDelegation(ctx context.Context, user string) error
	// Delegation returns the delegation user set, in force or not.
	Delegation(ctx context.Context, user string) (*Delegation, error)
	// DelegationsInForce returns the delegations in force at now (Until
	// after now), ordered by user: few, read once by an op that resolves
	// approvers.
	DelegationsInForce(ctx context.Context, now time.Time) ([]Delegation, error)
	// DelegationsEnded returns the delegations still stored whose time is
	// over at now (Until at or before now), ordered by user.
	DelegationsEnded(ctx context.Context, now time.Time) ([]Delegation, error)

	// Around returns at once what a decision on a task reads of the task's
	// subject and profile (Around): on PostgreSQL one round trip, where
	// asking for each costs one.
	Around(ctx context.Context, user, profile, entitlement string, now time.Time) (*Around, error)

	// DeleteStaleSessions removes the sessions last used before usedBefore
	// or expired at now, and reports how many.
	DeleteStaleSessions(ctx context.Context, usedBefore, now time.Time) (int, error)
}

// CatalogStore keeps what access is requested from: apps, their
// entitlements, the approval policies, and the tenant's settings.
type CatalogStore interface {
	// Settings returns the tenant settings, DefaultSettings when never saved.
	Settings(ctx context.Context) (*Settings, error)
	PutSettings(ctx context.Context, s *Settings) error

	App(ctx context.Context, id string) (*App, error)
	Apps(ctx context.Context) ([]App, error)
	PutApp(ctx context.Context, a *App) error

	Entitlement(ctx context.Context, id string) (*Entitlement, error)
	Entitlements(ctx context.Context, f EntitlementFilter) (*Page[Entitlement], error)
	PutEntitlement(ctx context.Context, e *Entitlement) error

	Policy(ctx context.Context, id string) (*Policy, error)
	Policies(ctx context.Context) ([]Policy, error)
	PutPolicy(ctx context.Context, p *Policy) error
}

// GrantStore keeps grants: who holds which entitlement, and why (its
// sources).
type GrantStore interface {
	Grant(ctx context.Context, user, entitlement string) (*Grant, error)
	// Grants lists grants ordered by (user, entitlement).
	Grants(ctx context.Context, f GrantFilter) (*Page[Grant], error)
	// UserGrants returns every grant of one user, ordered by entitlement.
	UserGrants(ctx context.Context, user string) ([]Grant, error)
	// Holders returns the distinct ids of users holding any of the entitlements,
	// ordered.
	Holders(ctx context.Context, entitlements []string) ([]string, error)
	PutGrant(ctx context.Context, g *Grant) error
	// DeleteGrant removes a grant; removing a grant that does not exist is not
	// an error.
	DeleteGrant(ctx context.Context, user, entitlement string) error

	// GrantsAmong returns the grants any of users holds of any of
	// entitlements, in no particular order: what an op reads at once of the
	// users a sync is about to enroll or unenroll, instead of a Grant per
	// pair.
	GrantsAmong(ctx context.Context, users, entitlements []string) ([]Grant, error)
	// GrantsOf returns every grant of any of users, in no particular order:
	// UserGrants of many users in one query.
	GrantsOf(ctx context.Context, users []string) ([]Grant, error)
	// BulkGrants prepares the transaction to record n grants, each with an
	// audit event, as fast as the store can (a first apply of millions of
	// grants spends its time in index upkeep); end must be called once they
	// are recorded, before the transaction's other work.
	BulkGrants(ctx context.Context, n int) (end func() error, err error)
}

// TaskStore keeps tasks, the requests to grant or revoke an entitlement as
// they go through approval and provisioning (see doc.go).
type TaskStore interface {
	// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
	// open task for the same (user, entitlement, kind) exists.
	CreateTask(ctx context.Context, t *Task) error
	// UpdateTask replaces a task. It fails with ENOTFOUND when no task has
	// its ID and with ECONFLICT when it would reopen a task that has an open
	// twin.
	UpdateTask(ctx context.Context, t *Task) error
	Task(ctx context.Context, id int64) (*Task, error)
	// Tasks lists tasks ordered by id.
	Tasks(ctx context.Context, f TaskFilter) (*Page[Task], error)
	// OpenTasks returns every open task of an entitlement, ordered by id.
	OpenTasks(ctx context.Context, entitlement string) ([]Task, error)
	// UserOpenTasks returns every open task of a user, ordered by id.
	UserOpenTasks(ctx context.Context, user string) ([]Task, error)
	// OpenTask returns the open task for (user, entitlement, kind).
	OpenTask(ctx context.Context, user, entitlement string, kind TaskKind) (*Task, error)

	// OpenTaskRefs returns the id, kind, user and origin of every open task
	// of an entitlement, ordered by id: OpenTasks without the cost of whole
	// tasks, for planning.
	OpenTaskRefs(ctx context.Context, entitlement string) ([]OpenTask, error)
	// OpenTasksAmong returns the id, kind, user, origin and entitlement of
	// every open task of any of users on any of entitlements, in no
	// particular order: what an op reads at once, with GrantsAmong, of the
	// users a sync is about to enroll or unenroll.
	OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]OpenTask, error)
	// OpenTaskRefsOf returns the id, kind, user, origin, state and
	// entitlement of every open task of any of entitlements, ordered by
	// (entitlement, id): OpenTaskRefs of many entitlements in one query,
	// which the list of profiles reads of every profile's enrollment
	// entitlement instead of a query per profile.
	OpenTaskRefsOf(ctx context.Context, entitlements []string) ([]OpenTask, error)
}

// ProfileStore keeps access profiles and what their automation works from:
// members, denials, the removals the safeguard counts, and the profiles
// marked for a sync.
type ProfileStore interface {
	Profile(ctx context.Context, id string) (*Profile, error)
	Profiles(ctx context.Context) ([]Profile, error)
	PutProfile(ctx context.Context, p *Profile) error
	// PutProfileSyncs replaces the sync states alone of the profiles
	// named: what every sync records, without writing the rest of each
	// profile and its rule's indexes again, and, for a pass over many
	// profiles that found nothing to do, in one statement where the store
	// can. ENOTFOUND when one of them does not exist.
	PutProfileSyncs(ctx context.Context, syncs map[string]SyncState) error

	// Members returns a profile's members, ordered by user.
	Members(ctx context.Context, profile string) ([]Member, error)
	// EachMemberOf calls fn with each member of any of profiles, ordered by
	// (profile, user), and stops at fn's first error, which it returns:
	// Members of many profiles in one query, which the admin's list of
	// profiles with their members reads instead of a query per profile,
	// keeping no more of them than the list does. fn must not use the
	// transaction.
	EachMemberOf(ctx context.Context, profiles []string, fn func(Member) error) error
	// MembersPage returns a page of a profile's members, ordered by user:
	// the API's paged list of members.
	MembersPage(ctx context.Context, profile string, f MemberFilter) (*Page[Member], error)
	// MemberCounts returns how many members each profile has, for the
	// profiles that have any: the profile list's counts, without reading
	// the members.
	MemberCounts(ctx context.Context) (map[string]int, error)
	// Memberships returns the profiles a user is a member of, ordered by profile.
	Memberships(ctx context.Context, user string) ([]Member, error)
	// MembershipsOf returns the memberships of any of users, ordered by
	// (user, profile): Memberships of the users an op works on, in one
	// query.
	MembershipsOf(ctx context.Context, users []string) ([]Member, error)
	// MembershipsAmong returns the memberships of any of users in any of
	// profiles, ordered by (user, profile): what a sync reads of the users
	// it enrolls, about the few profiles that share an entitlement with the
	// one it syncs, instead of every membership they have.
	MembershipsAmong(ctx context.Context, users, profiles []string) ([]Member, error)
	PutMember(ctx context.Context, m *Member) error
	// DeleteMember removes a membership; removing one that does not exist is
	// not an error.
	DeleteMember(ctx context.Context, profile, user string) error

	// Denials returns a profile's denials ordered by (user, kind).
	Denials(ctx context.Context, profile string) ([]Denial, error)
	PutDenial(ctx context.Context, d *Denial) error
	// DeleteDenial removes a denial; removing one that does not exist is not
	// an error.
	DeleteDenial(ctx context.Context, profile, user string, kind TaskKind) error

	// AddRemoval records that automation removed (or started removing) a user
	// from a profile, for the safeguard's rolling hour.
	AddRemoval(ctx context.Context, profile, user string, at time.Time) error
	// CountRemovals counts removals from a profile at or after since.
	CountRemovals(ctx context.Context, profile string, since time.Time) (int, error)

	// RuleProfiles returns the ids of the profiles whose automation rule
	// names any of the entitlements (Automation.RuleEntitlements), ordered.
	// PutProfile keeps the index it reads.
	RuleProfiles(ctx context.Context, entitlements []string) ([]string, error)
	// FieldProfiles returns the ids of the profiles whose expression reads
	// any of the user fields (Automation.Reads.Fields), ordered. PutProfile
	// keeps the index it reads.
	FieldProfiles(ctx context.Context, fields []string) ([]string, error)
	// TriggerProfiles marks profiles for a sync because something their rule
	// depends on changed; marking a marked profile is harmless.
	TriggerProfiles(ctx context.Context, profiles []string) error
	// TriggeredProfiles returns up to limit marked profiles, ordered.
	TriggeredProfiles(ctx context.Context, limit int) ([]string, error)
	// ClearTrigger removes a profile's mark.
	ClearTrigger(ctx context.Context, profile string) error
}

// EventStore keeps the audit log and the outgoing notifications.
type EventStore interface {
	// AppendEvent appends an audit event and sets its ID.
	AppendEvent(ctx context.Context, e *Event) error
	// AppendEvents appends events in order, in few statements, and sets
	// their IDs: a sync or an apply records thousands at once. Events are
	// appended at the end of the audit chain: each gets the id after the
	// chain's head and its hash (ChainHash), and the head moves to the last;
	// its At is set to the time the store keeps (UTC, to the microsecond).
	// Transactions that append at once, on any replica, append one after
	// the other, so there is one chain and ids follow it.
	AppendEvents(ctx context.Context, evs []*Event) error
	// QueueEvents appends events in order like AppendEvents, or, on a store
	// where transactions that append run beside one another (PostgreSQL),
	// queues them: they are chained later, when SealEvents seals them —
	// after every event sealed before their transaction committed — and it
	// returns true. Queued
	// events have no id or hash yet, and Events does not list them until
	// they are sealed. Writing them does not wait for other transactions
	// that append, as AppendEvents does until they commit.
	QueueEvents(ctx context.Context, evs []*Event) (queued bool, err error)
	// SealEvents appends at most max of the queued events that committed
	// to the audit chain, oldest first, as AppendEvents would have, and
	// returns them with their ids and hashes; none when nothing waits (and
	// always none on a store that queues nothing). Transactions that seal
	// at once, on any replica, seal one after the other.
	SealEvents(ctx context.Context, max int) ([]*Event, error)
	// Events lists events ordered by id.
	Events(ctx context.Context, f EventFilter) (*Page[Event], error)
	// EventChainHead returns the audit chain's head, the id and hash of the
	// last event appended: 0 and GenesisHash when there is none.
	EventChainHead(ctx context.Context) (id int64, hash string, err error)

	// EnqueueNotification stores an outgoing notification and sets its ID; one
	// whose Key is already in the outbox is not stored again (its ID stays 0).
	EnqueueNotification(ctx context.Context, n *Notification) error
	// EnqueueNotifications stores outgoing notifications in as few
	// statements as it can: one whose Key is already in the outbox, or
	// twice in ns, is stored once. It does not set their IDs. A sync that
	// tells thousands of approvers writes their messages with it.
	EnqueueNotifications(ctx context.Context, ns []*Notification) error
	// MarkNotificationsDelivered records one more attempt of each of the
	// notifications ids, delivered at at, in one statement: the notifier
	// records a run's deliveries with it.
	MarkNotificationsDelivered(ctx context.Context, ids []int64, at time.Time) error
	// DueNotifications returns undelivered notifications whose NextAt is at or
	// before now, oldest first.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// UpdateNotification replaces a notification. It fails with ENOTFOUND
	// when no notification has its ID.
	UpdateNotification(ctx context.Context, n *Notification) error
	// LatestNotification returns the notification to target on channel
	// attempted last (the highest id with an attempt), or ENOTFOUND.
	LatestNotification(ctx context.Context, channel, target string) (*Notification, error)
}

// ConnectorStore keeps connectors, the users they feed, the snapshot a held
// sync keeps and the attempts at provisioning through them.
type ConnectorStore interface {
	// Connector returns a connector; ENOTFOUND when there is none.
	Connector(ctx context.Context, id string) (*Connector, error)
	// Connectors lists every connector ordered by id.
	Connectors(ctx context.Context) ([]Connector, error)
	PutConnector(ctx context.Context, c *Connector) error
	// ConnectorUsers lists the users a connector with users: true feeds,
	// sorted; SetConnectorUsers replaces that list.
	ConnectorUsers(ctx context.Context, connector string) ([]string, error)
	SetConnectorUsers(ctx context.Context, connector string, users []string) error
	// StagedSnapshot returns the snapshot a held sync keeps for an admin to
	// review (ENOTFOUND when none); PutStagedSnapshot replaces it and nil data
	// deletes it.
	StagedSnapshot(ctx context.Context, connector string) ([]byte, error)
	PutStagedSnapshot(ctx context.Context, connector string, data []byte) error
	// DueConnectorTasks lists up to limit tasks in pending_provisioning whose
	// provisioning is "connector" and whose next attempt is due at now
	// (never tried, or retried at or before now), ordered by id.
	DueConnectorTasks(ctx context.Context, now time.Time, limit int) ([]Task, error)
	// ProvisionAttempt returns a task's attempts (zero when never tried).
	ProvisionAttempt(ctx context.Context, task int64) (*ProvisionAttempt, error)
	PutProvisionAttempt(ctx context.Context, a *ProvisionAttempt) error
	DeleteProvisionAttempt(ctx context.Context, task int64) error
}

// LeaseStore keeps the leases that elect, among replicas, the one that runs
// periodic work.
type LeaseStore interface {
	// AcquireLease takes or renews the named lease for holder until now+ttl,
	// and reports whether holder holds it: a lease held by another holder
	// that has not expired is not taken.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives up the named lease if holder holds it, so that
	// another holder may take it at once; a lease held by another holder is
	// left as it is.
	ReleaseLease(ctx context.Context, name, holder string) error
	// Leases returns the names, each without prefix, of the leases whose
	// names start with prefix and that are held at now, in order.
	Leases(ctx context.Context, prefix string, now time.Time) ([]string, error)
}

// SyncViewStore reads, for the syncs of many profiles at once, what the
// plain methods would read profile by profile.
type SyncViewStore interface {
	// ScanSync streams to s's callbacks what planning the syncs of s.Profiles
	// needs (see SyncScan), in a few queries: a whole organisation in one
	// read, without holding its rows.
	ScanSync(ctx context.Context, s *SyncScan) error
}

// SyncScan asks Tx.ScanSync for what planning the syncs of many profiles
// needs, and receives it row by row: the holders of the entitlements their
// rules name, their members, the open tasks of their enrollment
// entitlements, their denials and their recent removals, plus the users who
// are not active. Nothing is collected by the store, so a caller that keeps
// the rows compactly (user ids interned once) can plan a whole organisation
// from one read. The callbacks are called in the order of the fields below.
//
// Each callback receives the position of its entitlement or profile in
// Entitlements or Profiles. The strings it receives may be parts of a larger
// buffer of the store's (one row holding many ids), which keeping them keeps
// alive. A callback may be nil when its rows are not
// wanted; an error it returns stops the scan and is returned by ScanSync.
type SyncScan struct {
	// Entitlements lists the entitlements whose holders Holder receives.
	Entitlements []string
	// Profiles lists the profiles whose members, open enrollment and
	// unenrollment tasks, denials and removals are read.
	Profiles []string
	// RemovalsSince is the start of the safeguard's window: Removals counts
	// the removals at or after it.
	RemovalsSince time.Time

	// User receives the id of every user, in order.
	User func(id string) error
	// RevsAfter is the rev above which ChangedUser receives users.
	RevsAfter int64
	// ChangedUser, when set, receives the id and rev of each user whose rev
	// is above RevsAfter, in no particular order, after User has received
	// every user. A user's rev is a store-wide count, given in the order of
	// commits: every insert of a user and every change of a field an
	// expression can read takes a value above any given before (a user
	// whose rev did not move still matches as it did). Users are never
	// deleted, so the largest rev read, as RevsAfter of the next scan,
	// finds every user added or changed since.
	ChangedUser func(id string, rev int64) error
	// Disabled receives each user whose status is not active, in no
	// particular order.
	Disabled func(user string) error
	// Holder receives each user holding Entitlements[e], in no particular
	// order (runs in order of user are the cheapest to intern).
	Holder func(e int, user string) error
	// Member receives each member of Profiles[p], in no particular order.
	Member func(p int, m Member) error
	// OpenTask receives each open task (grant or revoke) of the enrollment
	// entitlement of Profiles[p], access-profiles/P, in the order of their
	// ids.
	OpenTask func(p int, t OpenTask) error
	// Denial receives each denial of Profiles[p], in no particular order.
	Denial func(p int, d Denial) error
	// Removals receives, for each of Profiles[p] with any, the number of
	// removals at or after RemovalsSince.
	Removals func(p int, n int) error
}

// Around is what deciding on a task of User in Profile for Entitlement
// reads, read at once by Tx.Around.
type Around struct {
	// Profile is the profile, nil when the task has none or it is gone.
	Profile *Profile
	// Entitlements are the task's entitlement and those the profile
	// contains, those that exist.
	Entitlements []Entitlement
	// Rules maps each of those entitlements, and the profile's enrollment
	// entitlement, to the profiles whose rule names it (empty when none
	// does), ordered.
	Rules map[string][]string
	// Memberships are the user's, ordered by profile.
	Memberships []Member
	// Grants are every grant of the user, OpenTasks every open task of the
	// user, ordered by id.
	Grants    []Grant
	OpenTasks []Task
	// Delegations are those in force at the time asked, ordered by user.
	Delegations []Delegation
}
