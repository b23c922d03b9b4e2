package roster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// User statuses and roles.
const (
	UserActive   = "active"
	UserDisabled = "disabled"

	RoleUser    = "user"
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"

	UserPerson  = "person"
	UserService = "service"

	// DateLayout is the layout of a user's start and end dates.
	DateLayout = "2006-01-02"

	// AdminUser is the built-in administrator that owns the bootstrap token.
	AdminUser = "admin"
)

// How a user is told that something waits on them (User.Notify).
const (
	NotifyEmail = "email"
	NotifySlack = "slack"
	NotifyNone  = "none"
)

// User is an identity whose access Roster governs.
type User struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Manager    string `json:"manager"`
	Department string `json:"department"`
	Title      string `json:"title,omitempty"`
	Location   string `json:"location,omitempty"`
	// EmploymentType is free text as the HR system says it ("employee",
	// "contractor", "intern").
	EmploymentType string `json:"employment_type,omitempty"`
	// StartDate and EndDate are civil dates, "YYYY-MM-DD", or empty.
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	Status    string `json:"status"`
	Role      string `json:"role"`
	// Kind is UserPerson or UserService (an integration's account).
	Kind       string            `json:"kind"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Notify says how the user is told that a task waits on them or that
	// their request was decided: NotifyEmail (the default, also when
	// empty), NotifySlack or NotifyNone.
	Notify    string    `json:"notify"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Notified returns how the user is told of what concerns them: Notify, or
// NotifyEmail when it is unset.
func (u *User) Notified() string {
	if u.Notify == "" {
		return NotifyEmail
	}
	return u.Notify
}

// Active reports whether the user is active.
func (u *User) Active() bool { return u.Status == UserActive }

// BuiltinApp is the app that holds every profile's enrollment and exclusion
// entitlements.
const BuiltinApp = "access-profiles"

// App is a system that holds access.
type App struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Owners    []string  `json:"owners"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Provisioning modes of an entitlement.
const (
	ProvisionAuto      = "auto"
	ProvisionManual    = "manual"
	ProvisionConnector = "connector"
)

// Risk levels of an entitlement.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Entitlement is one grantable permission in an app, identified as "APP/ENT".
type Entitlement struct {
	ID            string   `json:"id"`
	App           string   `json:"app"`
	Name          string   `json:"name"`
	RequestPolicy string   `json:"request_policy"`
	RevokePolicy  string   `json:"revoke_policy"`
	Provisioning  string   `json:"provisioning"`
	Provisioners  []string `json:"provisioners"`
	Risk          string   `json:"risk"`
	// Profile names the access profile a built-in entitlement belongs to.
	Profile   string    `json:"profile,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EntitlementID joins an app id and an entitlement's local id into "APP/ENT".
func EntitlementID(app, ent string) string { return app + "/" + ent }

// SplitEntitlementID splits "APP/ENT" into its app and local id. ok is false
// when either part is empty.
func SplitEntitlementID(id string) (app, ent string, ok bool) {
	app, ent, ok = strings.Cut(id, "/")
	return app, ent, ok && app != "" && ent != ""
}

// EnrollmentEntitlement is the id of profile p's enrollment entitlement.
func EnrollmentEntitlement(p string) string { return EntitlementID(BuiltinApp, p) }

// ExclusionEntitlement is the id of profile p's excluded-from-rule entitlement.
func ExclusionEntitlement(p string) string { return EntitlementID(BuiltinApp, p+".excluded") }

// Grant sources.
const SourceDirect = "direct"

// ProfileSource is the grant source that says profile p granted or justifies a grant.
func ProfileSource(p string) string { return "profile:" + p }

// Grant records that a user holds an entitlement, and why.
type Grant struct {
	User        string    `json:"user"`
	Entitlement string    `json:"entitlement"`
	Sources     []string  `json:"sources"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// HasSource reports whether s is among the grant's sources.
func (g *Grant) HasSource(s string) bool { return slices.Contains(g.Sources, s) }

// AddSource adds s to the grant's sources, keeping them sorted and unique. It
// reports whether the sources changed.
func (g *Grant) AddSource(s string) bool {
	if g.HasSource(s) {
		return false
	}
	g.Sources = append(g.Sources, s)
	slices.Sort(g.Sources)
	return true
}

// RemoveSource drops s from the grant's sources. A grant left with no source
// counts as direct, so it gets the direct source. It reports whether the
// sources changed.
func (g *Grant) RemoveSource(s string) bool {
	i := slices.Index(g.Sources, s)
	if i < 0 {
		return false
	}
	g.Sources = slices.Delete(g.Sources, i, i+1)
	if len(g.Sources) == 0 {
		g.Sources = []string{SourceDirect}
	}
	return true
}

// Approver kinds of a policy step.
const (
	ApproverManager            = "manager"
	ApproverAppOwner           = "app_owner"
	ApproverUsers              = "users"
	ApproverEntitlementMembers = "entitlement_members"
	ApproverSelf               = "self"
)

// ApproverKinds lists every valid approver kind.
var ApproverKinds = []string{ApproverManager, ApproverAppOwner, ApproverUsers, ApproverEntitlementMembers, ApproverSelf}

// Policy is an ordered list of approval steps. No steps approves at once.
type Policy struct {
	ID        string    `json:"id"`
	Steps     []Step    `json:"steps"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Step is one approval step of a policy.
type Step struct {
	Approvers   string   `json:"approvers"`
	Users       []string `json:"users,omitempty"`
	Entitlement string   `json:"entitlement,omitempty"`
	Fallback    []string `json:"fallback,omitempty"`
}

// TaskKind says whether a task grants or revokes its entitlement.
type TaskKind string

// Task kinds.
const (
	TaskGrant  TaskKind = "grant"
	TaskRevoke TaskKind = "revoke"
)

// TaskKinds lists every task kind.
var TaskKinds = []TaskKind{TaskGrant, TaskRevoke}

// TaskState is where a task stands in its workflow (see doc.go).
type TaskState string

// Task states. A task is open in the first two and closed in the others.
const (
	StatePendingApproval     TaskState = "pending_approval"
	StatePendingProvisioning TaskState = "pending_provisioning"
	StateDone                TaskState = "done"
	StateDenied              TaskState = "denied"
	StateCancelled           TaskState = "cancelled"
	StateFailed              TaskState = "failed"
)

// TaskStates lists every task state.
var TaskStates = []TaskState{StatePendingApproval, StatePendingProvisioning, StateDone, StateDenied, StateCancelled, StateFailed}

// Open reports whether a task in state s is still open.
func (s TaskState) Open() bool { return s == StatePendingApproval || s == StatePendingProvisioning }

// Origin says what set a task off.
type Origin string

// Task origins.
const (
	// OriginAutomation: a profile's sync enrolled or unenrolled the user.
	OriginAutomation Origin = "automation"
	// OriginManual: a person asked (a request, a manual enrollment, an admin).
	OriginManual Origin = "manual"
	// OriginEnrollment: an approved enrollment requests the profile's entitlements.
	OriginEnrollment Origin = "enrollment"
	// OriginUnenrollment: a confirmed unenrollment revokes what the profile justified.
	OriginUnenrollment Origin = "unenrollment"
	// OriginProfileContent: an entitlement added to a profile, requested for its members.
	OriginProfileContent Origin = "profile_content"
	// OriginContentRemoved: an entitlement removed from a profile, revoked from its members.
	OriginContentRemoved Origin = "content_removed"
	// OriginExclusion: a user excluded from (or readmitted to) a profile's rule.
	OriginExclusion Origin = "exclusion"
)

// Origins lists every task origin.
var Origins = []Origin{OriginAutomation, OriginManual, OriginEnrollment, OriginUnenrollment,
	OriginProfileContent, OriginContentRemoved, OriginExclusion}

// Task is one request (grant) or revocation (revoke) of one entitlement for one user.
type Task struct {
	ID          int64     `json:"id"`
	Kind        TaskKind  `json:"kind"`
	User        string    `json:"user"`
	Entitlement string    `json:"entitlement"`
	State       TaskState `json:"state"`
	Origin      Origin    `json:"origin"`
	Profile     string    `json:"profile"`
	// Policy and Steps are the snapshot of the policy the task runs under.
	Policy string `json:"policy"`
	Steps  []Step `json:"steps"`
	// Step is the index of the current approval step.
	Step int `json:"step"`
	// Approvers are the users who may act on the current step.
	Approvers []string `json:"approvers"`
	// Provisioning is the entitlement's provisioning mode, snapshotted.
	Provisioning string `json:"provisioning"`
	// Provisioners may complete a task in pending_provisioning.
	Provisioners []string `json:"provisioners"`
	// Bypass says why approval was skipped, when it was.
	Bypass      string       `json:"bypass,omitempty"`
	RequestedBy string       `json:"requested_by"`
	Reason      string       `json:"reason,omitempty"`
	Error       string       `json:"error,omitempty"`
	History     []TaskAction `json:"history"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	ClosedAt    *time.Time   `json:"closed_at,omitempty"`
}

// Open reports whether the task is still open.
func (t *Task) Open() bool { return t.State.Open() }

// ActorSystem is the actor of the scheduler and other background work, and
// of the provisioning of a task provisioned automatically.
const ActorSystem = "system"

// InstantHistory is the history of t were it done the moment it was
// created, under no approval step and provisioned automatically: created
// by whoever requested it, its approval bypassed when it was, and
// provisioned by the system, at its creation. A sync creates such tasks by
// the million; the stores keep a history that is exactly this as a mark,
// and make it again from the task's other fields when they read it.
func InstantHistory(t *Task) []TaskAction {
	h := make([]TaskAction, 0, 3)
	h = append(h, TaskAction{At: t.CreatedAt, Actor: t.RequestedBy, Action: HistoryCreated, Comment: t.Reason})
	if t.Bypass != "" {
		h = append(h, TaskAction{At: t.CreatedAt, Actor: t.RequestedBy, Action: HistoryApprovalBypassed, Comment: t.Bypass})
	}
	closed := t.CreatedAt
	if t.ClosedAt != nil {
		closed = *t.ClosedAt
	}
	return append(h, TaskAction{At: closed, Actor: ActorSystem, Action: HistoryProvisioned, Step: t.Step})
}

// TaskAction is one entry of a task's history: who did what, when, and why.
type TaskAction struct {
	At      time.Time     `json:"at"`
	Actor   string        `json:"actor"`
	Action  HistoryAction `json:"action"`
	Step    int           `json:"step"`
	Comment string        `json:"comment,omitempty"`
	// For names the person the actor decided for, as their delegate
	// (Delegation): "V for U".
	For string `json:"for,omitempty"`
}

// Unenrollment access settings.
const (
	AccessLeave             = "leave"
	AccessRevokeAll         = "revoke_all"
	AccessRevokeUnjustified = "revoke_unjustified"
)

// Automation modes and states.
const (
	ModeSyncMembersOnly = "sync_members_only"
	ModeSyncAndAct      = "sync_and_act"

	AutomationActive = "active"
	AutomationPaused = "paused"
)

// MemberSource says how a user became a profile's member.
type MemberSource string

// Member sources.
const (
	// MemberAutomation: the profile's rule enrolled the user.
	MemberAutomation MemberSource = "automation"
	// MemberManual: an admin enrolled the user, or the user's request was approved.
	MemberManual MemberSource = "manual"
)

// Profile is an access profile: a bundle of entitlements with enrollment and
// unenrollment settings and membership automation.
type Profile struct {
	ID                      string       `json:"id"`
	Name                    string       `json:"name"`
	Description             string       `json:"description"`
	Entitlements            []string     `json:"entitlements"`
	AllowEnrollmentRequests bool         `json:"allow_enrollment_requests"`
	Enrollment              Enrollment   `json:"enrollment"`
	Unenrollment            Unenrollment `json:"unenrollment"`
	Automation              Automation   `json:"automation"`
	// Sync is the runtime state of the automation: pause, staged plan, last sync.
	Sync      SyncState `json:"sync"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Contains reports whether the profile lists entitlement e.
func (p *Profile) Contains(e string) bool { return slices.Contains(p.Entitlements, e) }

// Enrollment holds a profile's enrollment settings.
type Enrollment struct {
	Policy                    string `json:"policy"`
	BypassEntitlementPolicies bool   `json:"bypass_entitlement_policies"`
}

// Unenrollment holds a profile's unenrollment settings.
type Unenrollment struct {
	Policy                    string `json:"policy"`
	Access                    string `json:"access"`
	BypassEntitlementPolicies bool   `json:"bypass_entitlement_policies"`
}

// Automation is a profile's membership automation.
type Automation struct {
	Enabled        bool     `json:"enabled"`
	Mode           string   `json:"mode"`
	AnyEntitlement []string `json:"any_entitlement"`
	// Expression is the rule on attributes, a CEL expression over the user
	// (package rule); empty: none. A user matches when active, not
	// excluded, and every condition given holds: they hold any of
	// AnyEntitlement (when given) and Expression is true (when given).
	Expression string `json:"expression,omitempty"`
	// Reads is what Expression reads, from its checked form: set where the
	// expression is compiled (apply), and kept with the profile so that a
	// change finds the profiles it can affect. Nil without an expression.
	Reads         *ExpressionReads `json:"expression_reads,omitempty"`
	ExcludedUsers []string         `json:"excluded_users"`
	// ExclusionPolicy is the policy the record of an exclusion (a task on
	// access-profiles/P.excluded) runs under; empty: recorded at once.
	ExclusionPolicy string `json:"exclusion_policy,omitempty"`
	Safeguard       bool   `json:"safeguard"`
}

// ExpressionReads is what a profile's expression depends on.
type ExpressionReads struct {
	// Fields are the user fields it reads, by their names in the
	// expression (department, location, ...), sorted.
	Fields []string `json:"fields"`
	// Entitlements are the entitlements its user.has calls name, sorted.
	Entitlements []string `json:"entitlements"`
	// Profiles are the profiles its user.member_of calls name, sorted.
	Profiles []string `json:"profiles"`
}

// RuleEntitlements returns every entitlement whose grants a's rule reads:
// AnyEntitlement, those the expression's user.has calls name, and the
// enrollment entitlement of each profile its user.member_of calls name (a
// member holds it). Sorted, without repeats.
func (a *Automation) RuleEntitlements() []string {
	out := slices.Clone(a.AnyEntitlement)
	if a.Reads != nil {
		out = append(out, a.Reads.Entitlements...)
		for _, p := range a.Reads.Profiles {
			out = append(out, EnrollmentEntitlement(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SyncState is the runtime state of a profile's automation.
type SyncState struct {
	State    string     `json:"state"`
	Staged   *Staged    `json:"staged,omitempty"`
	PausedAt *time.Time `json:"paused_at,omitempty"`
	LastAt   *time.Time `json:"last_at,omitempty"`
	// Last is the outcome of the last sync, in figures: the users it named
	// are in its audit event, not repeated in every read of the profile.
	Last *SyncSummary `json:"last,omitempty"`
}

// SyncSummary is the outcome of one sync in figures.
type SyncSummary struct {
	At           time.Time `json:"at"`
	Enrolled     int       `json:"enrolled"`
	Unenrolled   int       `json:"unenrolled"`
	Cancelled    int       `json:"cancelled"`
	TasksCreated int       `json:"tasks_created"`
	Paused       bool      `json:"paused"`
	// Errors counts the users the expression could not be evaluated for.
	Errors int `json:"errors,omitempty"`
}

// Staged is the plan a paused sync holds for an admin to review.
type Staged struct {
	Enroll   []string `json:"enroll"`
	Unenroll []string `json:"unenroll"`
	// Members and RecentRemovals are the figures the safeguard paused on:
	// the profile's members then and the removals automation had made from
	// it in the hour before (absent from plans staged before they were kept).
	Members        int `json:"members,omitempty"`
	RecentRemovals int `json:"recent_removals,omitempty"`
}

// Member is a user enrolled in a profile.
type Member struct {
	Profile string       `json:"profile"`
	User    string       `json:"user"`
	Source  MemberSource `json:"source"`
	Since   time.Time    `json:"since"`
}

// Denial remembers that an automation enrollment (Kind grant) or unenrollment
// (Kind revoke) of a user was denied, so it is not asked again until the user's
// match flips.
type Denial struct {
	Profile string    `json:"profile"`
	User    string    `json:"user"`
	Kind    TaskKind  `json:"kind"`
	At      time.Time `json:"at"`
}

// Settings are the tenant-wide settings.
type Settings struct {
	DefaultRequestPolicy string   `json:"default_request_policy"`
	DefaultRevokePolicy  string   `json:"default_revoke_policy"`
	SyncInterval         Duration `json:"sync_interval"`
	AutomationsEnabled   bool     `json:"automations_enabled"`
	// ChangeApproval holds admins' changes to settings, policies, profiles,
	// connectors and webhooks as change requests until another admin
	// approves them (four eyes).
	ChangeApproval  bool      `json:"change_approval,omitempty"`
	Safeguard       Safeguard `json:"safeguard"`
	SlackWebhookURL string    `json:"slack_webhook_url,omitempty"`
	// SlackWebhookURLEnv names the environment variable that holds the
	// webhook URL instead, read when a message is sent; it must start with
	// the secret prefix (ROSTER_SECRET_). At most one of the two is set.
	SlackWebhookURLEnv string `json:"slack_webhook_url_env,omitempty"`
	// BaseURL is the address people open the console at
	// (https://roster.example.com): links in messages start with it.
	BaseURL       string        `json:"base_url,omitempty"`
	Notifications Notifications `json:"notifications"`
	// Webhooks are the outbound webhooks, declared under the file's
	// top-level webhooks and kept ordered by id.
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// Webhook is an outbound webhook: the audit events whose action matches one
// of Events are posted to URL, signed as Standard Webhooks says with the
// secret held in the environment variable SecretEnv (read when a message is
// sent; the secret itself is never stored).
type Webhook struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	SecretEnv string `json:"secret_env"`
	// Events are audit actions ("task.approved") or prefixes of them
	// ("task.*").
	Events []string `json:"events"`
	// Insecure allows a plain http URL.
	Insecure bool `json:"insecure,omitempty"`
	// Enabled is false to stop posting events: a webhook cannot be removed,
	// as a connector cannot. Messages already in the outbox still go out.
	Enabled bool `json:"enabled"`
}

// WebhookStatus is a webhook with the outcome of its latest attempted
// message, as roster webhook list shows it.
type WebhookStatus struct {
	Webhook
	// LastMessage is the webhook-id of the latest message tried, Attempts
	// how often it was tried; LastDeliveredAt is set when it was
	// delivered, LastError when its last attempt failed.
	LastMessage     string     `json:"last_message,omitempty"`
	Attempts        int        `json:"attempts,omitempty"`
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	// State says where that message stands: WebhookIdle (none was tried
	// yet), WebhookDelivered, WebhookRetrying (its last attempt failed; it
	// is tried again at NextAttemptAt) or WebhookGaveUp (it failed its
	// last attempt, or for good, and is not tried again: a notify.failed
	// event records it).
	State         string     `json:"state"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// Webhook states (WebhookStatus.State).
const (
	WebhookIdle      = "idle"
	WebhookDelivered = "delivered"
	WebhookRetrying  = "retrying"
	WebhookGaveUp    = "gave_up"
)

// WebhookTestResult is the answer of an endpoint to a webhook.test message.
type WebhookTestResult struct {
	Webhook   string `json:"webhook"`
	MessageID string `json:"message_id"`
	// Status is the endpoint's HTTP status code, 0 when it did not answer.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Notifications says how people are told what waits on them, and when an
// approval that waits too long is recalled and then escalated.
type Notifications struct {
	// Email, when set, sends email through its SMTP server.
	Email *EmailSettings `json:"email,omitempty"`
	// Slack, when set, also sends each message as a Slack direct message
	// (to users whose notify is email or slack).
	Slack *SlackSettings `json:"slack,omitempty"`
	// RemindAfter, when set, reminds a step's approvers once when the
	// step has waited that long.
	RemindAfter Duration `json:"remind_after,omitempty"`
	// EscalateAfter, when set, adds the step's fallback users (the admins
	// when it names none) to its approvers when the step has waited that
	// long, and tells them.
	EscalateAfter Duration `json:"escalate_after,omitempty"`
}

// EmailSettings is the SMTP server notifications are sent through. The
// credentials are read from the environment variables it names, whose names
// follow the same prefix rule as connectors' *_env settings.
type EmailSettings struct {
	SMTPHost    string `json:"smtp_host"`
	SMTPPort    int    `json:"smtp_port"`
	From        string `json:"from"`
	UsernameEnv string `json:"username_env,omitempty"`
	PasswordEnv string `json:"password_env,omitempty"`
	// StartTLS requires STARTTLS before anything is sent.
	StartTLS bool `json:"starttls"`
}

// SlackSettings is the Slack app notifications are sent as direct messages
// through. BotTokenEnv names the environment variable that holds the bot's
// token (xoxb-…, scopes users:read.email and chat:write); its name follows
// the same prefix rule as connectors' *_env settings.
type SlackSettings struct {
	BotTokenEnv string `json:"bot_token_env"`
}

// Safeguard holds the tenant's safeguard thresholds.
type Safeguard struct {
	MinMembers        int `json:"min_members"`
	MaxRemovalPercent int `json:"max_removal_percent"`
}

// DefaultSettings are the settings of a new tenant.
func DefaultSettings() Settings {
	return Settings{
		SyncInterval:       Duration(time.Hour),
		AutomationsEnabled: true,
		Safeguard:          Safeguard{MinMembers: 100, MaxRemovalPercent: 20},
	}
}

// Duration is a time.Duration written as a Go duration string ("1h", "15m").
type Duration time.Duration

// String returns the duration as a Go duration string.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"1h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Event is one append-only audit record: who did what, to which object, when
// and why. Notifications are events too (actions "notify.*").
type Event struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     AuditAction     `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Reason     string          `json:"reason,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	// Hash links the event to the one before it: see ChainHash. It is set
	// when the event is appended.
	Hash string `json:"hash,omitempty"`
	// Token is the id of the API token the actor acted with, if any.
	Token string `json:"token,omitempty"`
	// Issuer is who issued that token, when not the actor: the action is
	// theirs too.
	Issuer string `json:"issuer,omitempty"`
}

// CreatedDone reports whether e is the task.created event of a task done the
// moment it was created ("state": "done" in its data), which stands for its
// task.done event too.
func (e *Event) CreatedDone() bool {
	if e.Action != ActionTaskCreated {
		return false
	}
	var d struct {
		State TaskState `json:"state"`
	}
	return json.Unmarshal(e.Data, &d) == nil && d.State == StateDone
}

// Effect is an event a task.created event stands for besides itself: what
// carrying out a task done the moment it was created did to the task's own
// grant or membership (Event.Effects). It has the task.created event's id,
// time, actor and token.
type Effect struct {
	Action     AuditAction     `json:"action"`
	Data       json.RawMessage `json:"data,omitempty"`
	ObjectID   string          `json:"object_id"`
	ObjectType string          `json:"object_type"`
	Reason     string          `json:"reason,omitempty"`
}

// EffectActions are the actions of the events an instant task's
// task.created may hold among its Effects.
var EffectActions = []AuditAction{ActionGrantAdded, ActionGrantSources, ActionGrantRemoved, ActionMemberAdded, ActionMemberRemoved}

// Effects returns the events e stands for besides itself, whole: for the
// task.created event of a task done the moment it was created, what
// carrying it out did to the task's own grant and membership — a grant task's
// grant.added (or grant.sources_changed), a revoke task's grant.removed, an
// enrollment's profile.member_added and the grant that shows it, an
// unenrollment's profile.member_removed and grant.removed — recorded in its
// data ("effects") rather than as events of their own. Switching on hundreds
// of profiles at once, they would be millions of rows that say again what
// the task says. Any other event has none.
func (e *Event) Effects() ([]Event, error) {
	if e.Action != ActionTaskCreated || !bytes.Contains(e.Data, []byte(`"effects"`)) {
		return nil, nil
	}
	var d struct {
		Effects []Effect `json:"effects"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, fmt.Errorf("event %d: effects: %w", e.ID, err)
	}
	out := make([]Event, len(d.Effects))
	for i, f := range d.Effects {
		out[i] = Event{ID: e.ID, At: e.At, Actor: e.Actor, Action: f.Action, ObjectType: f.ObjectType, ObjectID: f.ObjectID,
			Reason: f.Reason, Data: f.Data, Token: e.Token, Issuer: e.Issuer}
	}
	return out, nil
}

// Notification channels.
const (
	// ChannelWebhook posts Payload (the message's JSON body) to the
	// outbound webhook whose id is Target, signed.
	ChannelWebhook = "webhook"
	// ChannelSlack posts Payload (JSON) to the Slack incoming webhook at
	// Target.
	ChannelSlack = "slack"
	// ChannelEmail mails the Email in Payload (JSON) to the address Target.
	ChannelEmail = "email"
	// ChannelSlackDM sends the Slack message in Payload (JSON: text and
	// blocks) as a direct message to the Slack user whose email is Target,
	// through the bot of settings.notifications.slack.
	ChannelSlackDM = "slack_dm"
)

// Notification is an outgoing message (a Slack post, an email) waiting for
// delivery.
type Notification struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	Target  string    `json:"target"`
	Payload string    `json:"payload"`
	// Key, when set, makes the notification unique: enqueueing another with
	// the same key does nothing ("task 7 step 0 approver carol"), so that
	// one event tells each recipient once whichever replica or retried
	// transaction enqueues it.
	Key         string     `json:"key,omitempty"`
	Attempts    int        `json:"attempts"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	NextAt      time.Time  `json:"next_at"`
}

// Email is the payload of an email notification: its subject, and its body
// as plain text and as HTML.
type Email struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}
