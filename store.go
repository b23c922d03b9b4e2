package roster

import (
	"context"
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

// Tx is one transaction. Lookups of a single object that does not exist return
// an *Error with code ENOTFOUND, never (nil, nil). Put methods insert or replace
// the whole object; the caller sets its timestamps. Lists are ordered by id
// (bytewise) unless said otherwise, and a page's Items is never nil. Times come
// back in UTC, truncated to the microsecond, so every store behaves alike.
type Tx interface {
	ConnectorStore

	// Settings returns the tenant settings, DefaultSettings when never saved.
	Settings(ctx context.Context) (*Settings, error)
	PutSettings(ctx context.Context, s *Settings) error

	User(ctx context.Context, id string) (*User, error)
	Users(ctx context.Context, f UserFilter) (*Page[User], error)
	// AllUsers returns every user, ordered by id.
	AllUsers(ctx context.Context) ([]User, error)
	PutUser(ctx context.Context, u *User) error
	// UsersOf returns those of ids that are users, in no particular order.
	UsersOf(ctx context.Context, ids []string) ([]User, error)
	// DisabledUsers returns those of ids whose status is not active, ordered.
	DisabledUsers(ctx context.Context, ids []string) ([]string, error)
	// Admins returns the ids of the active admins, ordered.
	Admins(ctx context.Context) ([]string, error)

	// PutToken stores an API token by the hash of its secret.
	PutToken(ctx context.Context, hash, user string, at time.Time) error
	// TokenUser returns the user a token hash belongs to.
	TokenUser(ctx context.Context, hash string) (string, error)

	App(ctx context.Context, id string) (*App, error)
	Apps(ctx context.Context) ([]App, error)
	PutApp(ctx context.Context, a *App) error

	Entitlement(ctx context.Context, id string) (*Entitlement, error)
	Entitlements(ctx context.Context, f EntitlementFilter) (*Page[Entitlement], error)
	PutEntitlement(ctx context.Context, e *Entitlement) error

	Policy(ctx context.Context, id string) (*Policy, error)
	Policies(ctx context.Context) ([]Policy, error)
	PutPolicy(ctx context.Context, p *Policy) error

	Grant(ctx context.Context, user, entitlement string) (*Grant, error)
	// Grants lists grants ordered by (user, entitlement).
	Grants(ctx context.Context, f GrantFilter) (*Page[Grant], error)
	// UserGrants returns every grant of one user, ordered by entitlement.
	UserGrants(ctx context.Context, user string) ([]Grant, error)
	// GrantsAmong returns the grants any of users holds of any of
	// entitlements, in no particular order: what an op reads at once of the
	// users a sync is about to enroll or unenroll.
	GrantsAmong(ctx context.Context, users, entitlements []string) ([]Grant, error)
	// BulkGrants prepares the transaction to record n grants, each with an
	// audit event, as fast as the store can; end must be called once they
	// are recorded, before the transaction's other work.
	BulkGrants(ctx context.Context, n int) (end func() error, err error)
	// GrantsOf returns every grant of any of users, in no particular order.
	GrantsOf(ctx context.Context, users []string) ([]Grant, error)
	// Holders returns the distinct ids of users holding any of the entitlements,
	// ordered.
	Holders(ctx context.Context, entitlements []string) ([]string, error)
	PutGrant(ctx context.Context, g *Grant) error
	// DeleteGrant removes a grant; removing a grant that does not exist is not
	// an error.
	DeleteGrant(ctx context.Context, user, entitlement string) error

	Profile(ctx context.Context, id string) (*Profile, error)
	Profiles(ctx context.Context) ([]Profile, error)
	PutProfile(ctx context.Context, p *Profile) error

	// Members returns a profile's members, ordered by user.
	Members(ctx context.Context, profile string) ([]Member, error)
	// Memberships returns the profiles a user is a member of, ordered by profile.
	Memberships(ctx context.Context, user string) ([]Member, error)
	// MembershipsOf returns the memberships of any of users, ordered by
	// (user, profile).
	MembershipsOf(ctx context.Context, users []string) ([]Member, error)
	PutMember(ctx context.Context, m *Member) error
	// DeleteMember removes a membership; removing one that does not exist is
	// not an error.
	DeleteMember(ctx context.Context, profile, user string) error

	// CreateTask inserts a task and sets its ID. It fails with ECONFLICT when an
	// open task for the same (user, entitlement, kind) exists.
	CreateTask(ctx context.Context, t *Task) error
	UpdateTask(ctx context.Context, t *Task) error
	Task(ctx context.Context, id int64) (*Task, error)
	// Tasks lists tasks ordered by id.
	Tasks(ctx context.Context, f TaskFilter) (*Page[Task], error)
	// OpenTasks returns every open task of an entitlement, ordered by id.
	OpenTasks(ctx context.Context, entitlement string) ([]Task, error)
	// OpenTaskRefs returns the id, kind, user and origin of every open task
	// of an entitlement, ordered by id: OpenTasks without the cost of whole
	// tasks, for planning.
	OpenTaskRefs(ctx context.Context, entitlement string) ([]OpenTask, error)
	// UserOpenTasks returns every open task of a user, ordered by id.
	UserOpenTasks(ctx context.Context, user string) ([]Task, error)
	// OpenTasksAmong returns the id, kind, user, origin and entitlement of
	// every open task of any of users on any of entitlements, in no
	// particular order.
	OpenTasksAmong(ctx context.Context, users, entitlements []string) ([]OpenTask, error)
	// OpenTask returns the open task for (user, entitlement, kind).
	OpenTask(ctx context.Context, user, entitlement string, kind TaskKind) (*Task, error)

	// Denials returns a profile's denials ordered by (user, kind).
	Denials(ctx context.Context, profile string) ([]Denial, error)
	PutDenial(ctx context.Context, d *Denial) error
	DeleteDenial(ctx context.Context, profile, user string, kind TaskKind) error

	// AddRemoval records that automation removed (or started removing) a user
	// from a profile, for the safeguard's rolling hour.
	AddRemoval(ctx context.Context, profile, user string, at time.Time) error
	// CountRemovals counts removals from a profile at or after since.
	CountRemovals(ctx context.Context, profile string, since time.Time) (int, error)

	// ScanSync streams to s's callbacks what planning the syncs of s.Profiles
	// needs (see SyncScan), in a few queries: a whole organisation in one
	// read, without holding its rows.
	ScanSync(ctx context.Context, s *SyncScan) error

	// AppendEvent appends an audit event and sets its ID.
	AppendEvent(ctx context.Context, e *Event) error
	// AppendEvents appends events in order, in few statements, and sets
	// their IDs.
	AppendEvents(ctx context.Context, evs []*Event) error
	// Events lists events ordered by id.
	Events(ctx context.Context, f EventFilter) (*Page[Event], error)

	// EnqueueNotification stores an outgoing notification and sets its ID.
	EnqueueNotification(ctx context.Context, n *Notification) error
	// DueNotifications returns undelivered notifications whose NextAt is at or
	// before now, oldest first.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	UpdateNotification(ctx context.Context, n *Notification) error

	// RuleProfiles returns the ids of the profiles whose automation rule
	// (any_entitlement) names any of the entitlements, ordered. PutProfile keeps
	// the index it reads.
	RuleProfiles(ctx context.Context, entitlements []string) ([]string, error)
	// TriggerProfiles marks profiles for a sync because something their rule
	// depends on changed; marking a marked profile is harmless.
	TriggerProfiles(ctx context.Context, profiles []string) error
	// TriggeredProfiles returns up to limit marked profiles, ordered.
	TriggeredProfiles(ctx context.Context, limit int) ([]string, error)
	// ClearTrigger removes a profile's mark.
	ClearTrigger(ctx context.Context, profile string) error

	// AcquireLease takes or renews the named lease for holder until now+ttl,
	// and reports whether holder holds it: a lease held by another holder
	// that has not expired is not taken. Replicas use it to elect the one that
	// runs periodic work.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}
