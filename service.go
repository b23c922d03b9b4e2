package roster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Service is everything a caller can ask of Roster. The engine implements it on
// the server; the http package's Client implements it for the CLI. Every call acts
// as the user in the context (see NewContext).
type Service interface {
	// Apply validates a declarative file as a whole and, unless req.DryRun,
	// applies it in one transaction.
	Apply(ctx context.Context, req ApplyRequest) (*ApplyResult, error)
	// Plan says what applying a declarative file would do now, changing
	// nothing (admins).
	Plan(ctx context.Context, req ApplyRequest) (*ChangePlan, error)

	// Sync syncs one profile now and returns what it started.
	Sync(ctx context.Context, profile string) (*SyncResult, error)
	// SyncAll syncs every profile whose automation is enabled.
	SyncAll(ctx context.Context) ([]SyncResult, error)
	// Resume applies the staged plan of a paused profile that still holds.
	Resume(ctx context.Context, profile string) (*SyncResult, error)

	// Profile returns a profile's view: its members and pending tasks,
	// those the caller may see (everything for admins and auditors, their
	// own for others).
	Profile(ctx context.Context, id string) (*ProfileView, error)
	// Profiles returns the views of the profiles f selects, with what f
	// asks of them and the caller may see.
	Profiles(ctx context.Context, f ProfileFilter) ([]ProfileView, error)
	// ProfileMembers lists a profile's members a page at a time: all of
	// them for admins and auditors, the caller's own membership for others.
	ProfileMembers(ctx context.Context, profile string, f MemberFilter) (*Page[MemberView], error)
	// Enroll starts manual enrollments (admins).
	Enroll(ctx context.Context, profile string, users []string, comment string) ([]Task, error)
	// Unenroll starts manual unenrollments (admins).
	// Unenroll starts manual unenrollments. A member the profile's rule still
	// matches is refused (ECONFLICT: the next sync would enroll them again)
	// unless exclude, which also adds them to the rule's excluded users.
	Unenroll(ctx context.Context, profile string, users []string, comment string, exclude bool) ([]Task, error)
	// RequestProfile requests a profile for the caller.
	RequestProfile(ctx context.Context, profile string, comment string) (*Task, error)

	Task(ctx context.Context, id int64) (*Task, error)
	// TaskView returns a task with what a person needs to decide on it:
	// the subject, what is asked by name, why, and the subject's access.
	TaskView(ctx context.Context, id int64) (*TaskView, error)
	Tasks(ctx context.Context, f TaskFilter) (*Page[Task], error)
	ApproveTask(ctx context.Context, id int64, comment string) (*Task, error)
	DenyTask(ctx context.Context, id int64, comment string) (*Task, error)
	ProvisionTask(ctx context.Context, id int64, comment string) (*Task, error)
	CancelTask(ctx context.Context, id int64, comment string) (*Task, error)
	// RetryTask puts a failed task back to its connector (admins).
	RetryTask(ctx context.Context, id int64, comment string) (*Task, error)

	// Connectors lists connectors with their last run (admins and auditors).
	Connectors(ctx context.Context) ([]Connector, error)
	Connector(ctx context.Context, id string) (*Connector, error)
	// SyncConnector reads a connector's system now and applies what changed,
	// unless the delete threshold holds it (admins).
	SyncConnector(ctx context.Context, id string) (*ConnectorSyncResult, error)
	// ResumeConnector carries out a held connector sync (admins).
	ResumeConnector(ctx context.Context, id string) (*ConnectorSyncResult, error)

	// Webhooks lists the outbound webhooks with the outcome of the message
	// each tried last (admins and auditors).
	Webhooks(ctx context.Context) ([]WebhookStatus, error)
	// TestWebhook sends a webhook.test message to a webhook now and reports
	// the endpoint's answer (admins).
	TestWebhook(ctx context.Context, id string) (*WebhookTestResult, error)

	Grants(ctx context.Context, f GrantFilter) (*Page[Grant], error)
	AddGrant(ctx context.Context, user, entitlement string) (*Grant, error)
	RemoveGrant(ctx context.Context, user, entitlement string) error

	User(ctx context.Context, id string) (*User, error)
	// Why explains a user's access to one entitlement (admins, auditors and
	// the user themself).
	Why(ctx context.Context, user, entitlement string) (*Explanation, error)
	Users(ctx context.Context, f UserFilter) (*Page[User], error)
	Apps(ctx context.Context) ([]App, error)
	Entitlements(ctx context.Context, f EntitlementFilter) (*Page[Entitlement], error)
	Policies(ctx context.Context) ([]Policy, error)
	Settings(ctx context.Context) (*Settings, error)
	Events(ctx context.Context, f EventFilter) (*Page[Event], error)
	// VerifyAudit recomputes the audit chain, a page at a time, and names
	// the first event that does not match (admins and auditors).
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
	// ExportEvents calls fn with every event at or after since (every event
	// when since is zero), in chain order, a page at a time (admins and
	// auditors). An error from fn stops it and is returned.
	ExportEvents(ctx context.Context, since time.Time, fn func(*Event) error) error

	// CreateToken issues an API token: for the caller, or, by an admin, for
	// a user who is not an admin. The answer holds the secret, once.
	CreateToken(ctx context.Context, req TokenRequest) (*Token, error)
	// Tokens lists API tokens, never their secrets: the caller's own (those
	// of user "" or the caller, and those the caller issued), or, for admins
	// and auditors, user's.
	Tokens(ctx context.Context, user string) ([]Token, error)
	// RevokeToken revokes a token: the caller's own or one they issued, or,
	// by an admin, anyone's.
	RevokeToken(ctx context.Context, id string) (*Token, error)
	// Sessions lists the console sessions that have not ended: the caller's
	// own, or, for admins and auditors, user's ("*": everyone's).
	Sessions(ctx context.Context, user string) ([]Session, error)
	// RevokeSession ends a console session: the caller's own, or, by an
	// admin, anyone's.
	RevokeSession(ctx context.Context, id string) (*Session, error)
	// Changes lists change requests, newest first (admins and auditors).
	Changes(ctx context.Context, f ChangeFilter) ([]ChangeRequest, error)
	// Change returns one change request (admins and auditors).
	Change(ctx context.Context, id int64) (*ChangeRequest, error)
	// ApproveChange applies a change request, planned against the state of
	// now (admins other than its author).
	ApproveChange(ctx context.Context, id int64, comment string) (*ChangeRequest, error)
	// DenyChange closes a change request unapplied: another admin, with a
	// reason, or its author, withdrawing it.
	DenyChange(ctx context.Context, id int64, comment string) (*ChangeRequest, error)

	// Delegate names req.Delegate to decide in user's place until
	// req.Until, replacing the delegation user had: the user themself or an
	// admin.
	Delegate(ctx context.Context, user string, req DelegationRequest) (*Delegation, error)
	// EndDelegation ends user's delegation at once (the user themself or an
	// admin) and returns it; ENOTFOUND when none is in force.
	EndDelegation(ctx context.Context, user string) (*Delegation, error)
	// Delegations returns whom user named to decide in their place and for
	// whom they decide (the user themself, admins and auditors).
	Delegations(ctx context.Context, user string) (*UserDelegations, error)
	// Whoami returns the caller.
	Whoami(ctx context.Context) (*User, error)
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	// Total counts the items of every page, when the filter asked for it.
	Total *int `json:"total,omitempty"`
}

// DefaultPageSize is the page size when a filter gives none; MaxPageSize caps it.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// ApplyRequest carries a declarative file.
type ApplyRequest struct {
	// Filename is used in error messages only.
	Filename string `json:"filename"`
	Document []byte `json:"document"`
	DryRun   bool   `json:"dry_run"`
	// ConfirmOver, when set, refuses the apply (nothing is applied) if more
	// than this many people would lose access by it and the syncs it sets
	// off; these syncs then run in the apply's own transaction, so what was
	// checked is what is committed.
	ConfirmOver *int `json:"confirm_over,omitempty"`
	// Summary asks a plan for counts, not lists (ChangePlan.Summary): what
	// `roster apply` prints first, of a file that may create millions of
	// tasks. An apply ignores it.
	Summary bool `json:"summary,omitempty"`
}

// ApplyResult lists what an apply changed (or, on a dry run, would change),
// one line per object, such as "created user alice".
type ApplyResult struct {
	DryRun  bool     `json:"dry_run"`
	Changes []string `json:"changes"`
	// ChangeRequest is the change request that holds the file's changes to
	// settings, policies, profiles, connectors and webhooks when change
	// approval is on; Held lists those changes. Changes are then what
	// applied at once (users, apps, entitlements, grants), and nothing when
	// HeldWhole: the file's other parts refer to what the held ones create,
	// so the whole file waits.
	ChangeRequest int64    `json:"change_request,omitempty"`
	Held          []string `json:"held,omitempty"`
	HeldWhole     bool     `json:"held_whole,omitempty"`
	// Plan is what the change request would do, planned when it was made.
	Plan *ChangePlan `json:"plan,omitempty"`
	// Synced lists the outcome of the syncs the apply started, for profiles
	// saved with their automation enabled.
	Synced []SyncResult `json:"synced,omitempty"`
}

// SyncResult is what one sync of one profile started.
type SyncResult struct {
	Profile      string   `json:"profile"`
	Enrolled     []string `json:"enrolled"`
	Unenrolled   []string `json:"unenrolled"`
	Cancelled    []int64  `json:"cancelled"`
	TasksCreated int      `json:"tasks_created"`
	Paused       bool     `json:"paused"`
	// Errors counts the users for whom the profile's expression could not
	// be evaluated (a missing attribute, say): each counts as not matching.
	Errors int       `json:"errors"`
	At     time.Time `json:"at"`
}

// Summary returns the result in figures.
func (r *SyncResult) Summary() *SyncSummary {
	return &SyncSummary{At: r.At, Enrolled: len(r.Enrolled), Unenrolled: len(r.Unenrolled),
		Cancelled: len(r.Cancelled), TasksCreated: r.TasksCreated, Paused: r.Paused, Errors: r.Errors}
}

// ProfileView is a profile with its members, pending enrollments and automation
// state, as `roster profile show` prints it.
type ProfileView struct {
	ID                      string       `json:"id"`
	Name                    string       `json:"name"`
	Description             string       `json:"description"`
	Entitlements            []string     `json:"entitlements"`
	AllowEnrollmentRequests bool         `json:"allow_enrollment_requests"`
	Enrollment              Enrollment   `json:"enrollment"`
	Unenrollment            Unenrollment `json:"unenrollment"`
	Members                 []MemberView `json:"members"`
	// MemberCount is how many members the caller may see: all of them for
	// admins and auditors, 0 or 1 (themselves) for others.
	MemberCount          int            `json:"member_count"`
	PendingEnrollments   []PendingTask  `json:"pending_enrollments"`
	PendingUnenrollments []PendingTask  `json:"pending_unenrollments"`
	Automation           AutomationView `json:"automation"`
}

// MemberView is one member as listed by a profile view.
type MemberView struct {
	User   string       `json:"user"`
	Source MemberSource `json:"source"`
	Since  time.Time    `json:"since"`
	// Name and Department are the member's, for people to read.
	Name       string `json:"name,omitempty"`
	Department string `json:"department,omitempty"`
	// Pending lists the profile's entitlements the member does not hold yet:
	// their grant tasks are still open.
	Pending []string `json:"pending,omitempty"`
}

// PendingTask is an open enrollment or unenrollment task of a profile.
type PendingTask struct {
	User   string    `json:"user"`
	Task   int64     `json:"task"`
	Origin Origin    `json:"origin"`
	State  TaskState `json:"state"`
}

// AutomationView is a profile's automation with its runtime state.
type AutomationView struct {
	Automation
	State    string       `json:"state"`
	Staged   Staged       `json:"staged"`
	PausedAt *time.Time   `json:"paused_at,omitempty"`
	LastSync *SyncSummary `json:"last_sync,omitempty"`
}

// Token is an API token. Its secret is shown once, in Token, when it is
// created; the store keeps only its hash. ID names it in lists, events and
// revocations and is not derived from the secret.
type Token struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// Token is the secret, set only in the answer to CreateToken.
	Token string `json:"token,omitempty"`
	Name  string `json:"name,omitempty"`
	// Issuer is who created the token: its user, or an admin who issued it
	// for them. An action taken with it counts as both (see Actor).
	Issuer     string     `json:"issuer"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Valid reports why the token no longer works at now ("" when it does):
// it was revoked or it expired.
func (t *Token) Valid(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return fmt.Sprintf("the API token %s was revoked", t.ID)
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return fmt.Sprintf("the API token %s expired at %s", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return ""
}

// TokenRequest asks for a new API token.
type TokenRequest struct {
	// User is who the token acts as; "" is the caller.
	User string `json:"user,omitempty"`
	Name string `json:"name,omitempty"`
	// Expires is how long the token lasts, such as "90d" or "24h"
	// (ParseLifetime); "" never expires.
	Expires string `json:"expires,omitempty"`
}

// ParseLifetime reads a lifetime such as "90d", "24h" or "1h30m": a whole
// number of days, or a Go duration. It must be positive.
func ParseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, Errorf(EINVALID, "lifetime %q: want a number of days such as 90d, or hours such as 24h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, Errorf(EINVALID, "lifetime %q: want a number of days such as 90d, or hours such as 24h", s)
		}
		d = v
	}
	if d <= 0 {
		return 0, Errorf(EINVALID, "lifetime %q: must be more than nothing", s)
	}
	return d, nil
}

// Delegation names someone who decides in a person's place until a time:
// while it is in force, Delegate may approve or deny the tasks whose current
// step waits on User, checked like an approver (never on their own access),
// and each decision is recorded as Delegate's for User.
type Delegation struct {
	User     string `json:"user"`
	Delegate string `json:"delegate"`
	// Until is when the delegation ends.
	Until time.Time `json:"until"`
	// SetBy is who set it: User, or an admin.
	SetBy string    `json:"set_by"`
	SetAt time.Time `json:"set_at"`
}

// InForce reports whether the delegation is in force at now.
func (d *Delegation) InForce(now time.Time) bool { return now.Before(d.Until) }

// DelegationRequest asks that Delegate decide in a person's place until Until.
type DelegationRequest struct {
	Delegate string    `json:"delegate"`
	Until    time.Time `json:"until"`
}

// UserDelegations is what a user's delegations are now: whom they named to
// decide in their place, and for whom they decide.
type UserDelegations struct {
	User string `json:"user"`
	// Delegate is the delegation the user set that is in force, if any.
	Delegate *Delegation `json:"delegate,omitempty"`
	// DecidesFor lists the delegations in force that name the user, ordered
	// by the user who set them.
	DecidesFor []Delegation `json:"decides_for"`
}

// Session is a signed-in console session. The browser holds its secret in
// a cookie; the store keeps only its hash.
type Session struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// Method says how the user signed in: "token" or "sso".
	Method string `json:"method"`
	// Token and Issuer name the API token the user signed in with, and who
	// issued it when not the user: the session's actions count as theirs too.
	Token      string    `json:"token,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	// ExpiresAt is when the session ends however much it is used.
	ExpiresAt time.Time `json:"expires_at"`
}

// Ways of signing in (Session.Method).
const (
	SignInToken = "token"
	SignInSSO   = "sso"
)

// NewSession is a session just started, with its secret, which only the
// browser keeps.
type NewSession struct {
	Session
	Secret string `json:"-"`
}

// TaskFilter selects tasks. Empty fields match everything.
type TaskFilter struct {
	State       TaskState `json:"state,omitempty"`
	Kind        TaskKind  `json:"kind,omitempty"`
	User        string    `json:"user,omitempty"`
	Entitlement string    `json:"entitlement,omitempty"`
	Profile     string    `json:"profile,omitempty"`
	Origin      Origin    `json:"origin,omitempty"`
	// Approver selects open tasks whose current approvers or provisioners
	// include this user.
	Approver string `json:"approver,omitempty"`
	// OpenOnly selects pending_approval and pending_provisioning tasks.
	OpenOnly bool   `json:"open_only,omitempty"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// GrantFilter selects grants. Empty fields match everything.
type GrantFilter struct {
	User        string `json:"user,omitempty"`
	Entitlement string `json:"entitlement,omitempty"`
	App         string `json:"app,omitempty"`
	Cursor      string `json:"cursor,omitempty"`
	Limit       int    `json:"limit,omitempty"`
}

// ProfileFilter selects profiles and what their views list. Empty fields
// select every profile, with every member and pending task the caller may
// see.
type ProfileFilter struct {
	// ID selects one profile.
	ID string `json:"id,omitempty"`
	// User lists only this user's membership and pending tasks in each
	// view. Those who do not read everything see only their own in any case.
	User string `json:"user,omitempty"`
	// WithoutMembers leaves the members out of each view; MemberCount still
	// says how many there are.
	WithoutMembers bool `json:"without_members,omitempty"`
}

// MemberFilter pages a profile's members.
type MemberFilter struct {
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// UserFilter selects users.
type UserFilter struct {
	// Query keeps the users whose id, name or email contains it, ignoring
	// case.
	Query      string `json:"q,omitempty"`
	Status     string `json:"status,omitempty"`
	Department string `json:"department,omitempty"`
	Manager    string `json:"manager,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	// Total asks for the count of users the filter selects, all pages
	// together, in the page's Total.
	Total bool `json:"total,omitempty"`
}

// EntitlementFilter selects entitlements.
type EntitlementFilter struct {
	App    string `json:"app,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// EventFilter selects audit events.
type EventFilter struct {
	Action AuditAction `json:"action,omitempty"`
	// Actions selects events of any of these actions (with Action, of
	// that one too).
	Actions    []AuditAction `json:"actions,omitempty"`
	Actor      string        `json:"actor,omitempty"`
	ObjectType string        `json:"object_type,omitempty"`
	ObjectID   string        `json:"object_id,omitempty"`
	Since      time.Time     `json:"since,omitzero"`
	// Until selects events before this time.
	Until time.Time `json:"until,omitzero"`
	// Newest lists the newest events first.
	Newest bool   `json:"newest,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

type contextKey int

const actorKey contextKey = iota

// Actor is who acts in a call: the user, and the API token they act with.
// A token another person issued for the user (an admin's, for a service
// account) makes its issuer act too: for separation of duties the action
// counts as the user's and the issuer's, and its events name both.
type Actor struct {
	// User is the id of the user who acts.
	User string
	// Token is the id of the API token the call came with, directly or
	// through a console session signed in with it; "" for none.
	Token string
	// Issuer is who issued Token, when not User; "" otherwise.
	Issuer string
}

// Users returns the users the action counts as: User, and Issuer when set.
func (a Actor) Users() []string {
	if a.Issuer == "" || a.Issuer == a.User {
		return []string{a.User}
	}
	return []string{a.User, a.Issuer}
}

// NewContext returns a context in which user acts, with no token.
func NewContext(ctx context.Context, user string) context.Context {
	return WithActor(ctx, Actor{User: user})
}

// WithActor returns a context in which a acts.
func WithActor(ctx context.Context, a Actor) context.Context {
	if a.Issuer == a.User {
		a.Issuer = ""
	}
	return context.WithValue(ctx, actorKey, a)
}

// ActorOf returns who acts in ctx: the zero Actor when nobody does.
func ActorOf(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey).(Actor)
	return a
}

// ActorFromContext returns the id of the user who acts, or "".
func ActorFromContext(ctx context.Context) string {
	return ActorOf(ctx).User
}
