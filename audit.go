package roster

import (
	"slices"
	"strings"
)

// HistoryAction names one entry of a task's history (TaskAction.Action).
type HistoryAction string

// Task history actions.
const (
	HistoryCreated            HistoryAction = "created"
	HistoryApprovalBypassed   HistoryAction = "approval_bypassed"
	HistoryRoutedToAdmins     HistoryAction = "routed_to_admins"
	HistoryReassigned         HistoryAction = "reassigned"
	HistoryTransferred        HistoryAction = "transferred"
	HistoryApproved           HistoryAction = "approved"
	HistoryDenied             HistoryAction = "denied"
	HistoryCancelled          HistoryAction = "cancelled"
	HistoryProvisioned        HistoryAction = "provisioned"
	HistoryProvisioningFailed HistoryAction = "provisioning_failed"
	HistoryFailed             HistoryAction = "failed"
	HistoryRetried            HistoryAction = "retried"
	HistoryReminded           HistoryAction = "reminded"
	HistoryEscalated          HistoryAction = "escalated"
)

// AuditAction names what an audit event records (Event.Action): the kind of
// object, a dot, and what happened to it.
type AuditAction string

// Audit actions. AuditActions lists them with what each means; the README's
// list of audit actions is checked against it.
const (
	ActionTenantBootstrapped AuditAction = "tenant.bootstrapped"
	ActionTokenCreated       AuditAction = "token.created"
	ActionTokenRevoked       AuditAction = "token.revoked"
	ActionSettingsUpdated    AuditAction = "settings.updated"

	ActionUserCreated     AuditAction = "user.created"
	ActionUserUpdated     AuditAction = "user.updated"
	ActionUserActive      AuditAction = "user.active"
	ActionUserDisabled    AuditAction = "user.disabled"
	ActionUserSignedIn    AuditAction = "user.signed_in"
	ActionSignInRefused   AuditAction = "user.sign_in_refused"
	ActionUserSignedOut   AuditAction = "user.signed_out"
	ActionSessionRevoked  AuditAction = "session.revoked"
	ActionDelegationSet   AuditAction = "user.delegation_set"
	ActionDelegationEnded AuditAction = "user.delegation_ended"

	ActionAppCreated         AuditAction = "app.created"
	ActionAppUpdated         AuditAction = "app.updated"
	ActionEntitlementCreated AuditAction = "entitlement.created"
	ActionEntitlementUpdated AuditAction = "entitlement.updated"
	ActionEntitlementFound   AuditAction = "entitlement.discovered"
	ActionPolicyCreated      AuditAction = "policy.created"
	ActionPolicyUpdated      AuditAction = "policy.updated"

	ActionGrantAdded          AuditAction = "grant.added"
	ActionGrantRemoved        AuditAction = "grant.removed"
	ActionGrantRemovedOutside AuditAction = "grant.removed_outside"
	ActionGrantSources        AuditAction = "grant.sources_changed"

	ActionProfileCreated       AuditAction = "profile.created"
	ActionProfileUpdated       AuditAction = "profile.updated"
	ActionProfileSynced        AuditAction = "profile.synced"
	ActionMemberAdded          AuditAction = "profile.member_added"
	ActionMemberRemoved        AuditAction = "profile.member_removed"
	ActionExclusionDenied      AuditAction = "profile.exclusion_denied"
	ActionSafeguardPaused      AuditAction = "safeguard.paused"
	ActionSafeguardResumed     AuditAction = "safeguard.resumed"
	ActionSafeguardPlanDropped AuditAction = "safeguard.plan_discarded"

	ActionTaskCreated           AuditAction = "task.created"
	ActionTaskRoutedToAdmins    AuditAction = "task.routed_to_admins"
	ActionTaskReassigned        AuditAction = "task.reassigned"
	ActionTaskTransferred       AuditAction = "task.transferred"
	ActionTaskApproved          AuditAction = "task.approved"
	ActionTaskDenied            AuditAction = "task.denied"
	ActionTaskCancelled         AuditAction = "task.cancelled"
	ActionTaskDone              AuditAction = "task.done"
	ActionTaskProvisioningRetry AuditAction = "task.provisioning_retry"
	ActionTaskFailed            AuditAction = "task.failed"
	ActionTaskRetried           AuditAction = "task.retried"

	ActionConnectorCreated       AuditAction = "connector.created"
	ActionConnectorUpdated       AuditAction = "connector.updated"
	ActionConnectorSynced        AuditAction = "connector.synced"
	ActionConnectorSyncFailed    AuditAction = "connector.sync_failed"
	ActionConnectorHeld          AuditAction = "connector.held"
	ActionConnectorResumed       AuditAction = "connector.resumed"
	ActionConnectorHoldDiscarded AuditAction = "connector.hold_discarded"

	ActionNotifyApprovers    AuditAction = "notify.approvers"
	ActionNotifyProvisioners AuditAction = "notify.provisioners"
	ActionNotifyRequester    AuditAction = "notify.requester"
	ActionNotifyAdmins       AuditAction = "notify.admins"
	ActionTaskReminded       AuditAction = "task.reminded"
	ActionTaskEscalated      AuditAction = "task.escalated"
	ActionNotifyDelivered    AuditAction = "notify.delivered"
	ActionNotifyFailed       AuditAction = "notify.failed"
	ActionWebhookCreated     AuditAction = "webhook.created"
	ActionWebhookUpdated     AuditAction = "webhook.updated"
	ActionWebhookTested      AuditAction = "webhook.tested"

	ActionChangeRequested AuditAction = "change.requested"
	ActionChangeApproved  AuditAction = "change.approved"
	ActionChangeDenied    AuditAction = "change.denied"
)

// AuditActionInfo describes one audit action.
type AuditActionInfo struct {
	Action AuditAction `json:"action"`
	// Object is the ObjectType of the action's events.
	Object string `json:"object_type"`
	// Means says, for people, what the event records.
	Means string `json:"means"`
}

// AuditActions lists every audit action Roster records, grouped by object.
var AuditActions = []AuditActionInfo{
	{ActionTenantBootstrapped, "user", "the first admin and their token were created on an empty database"},
	{ActionTokenCreated, "user", "an API token was issued for the user (data: the token's id, name, issuer and expiry; never its secret)"},
	{ActionTokenRevoked, "user", "an API token of the user was revoked (data: the token's id, name, issuer and expiry, and the console sessions signed in with it, which end too)"},
	{ActionSettingsUpdated, "settings", "the tenant settings were changed by a declarative file"},

	{ActionUserCreated, "user", "a user was added (by a file or a connector)"},
	{ActionUserUpdated, "user", "a user's fields changed"},
	{ActionUserActive, "user", "a disabled user was made active again"},
	{ActionUserDisabled, "user", "a user was disabled: the leaver path starts"},
	{ActionUserSignedIn, "user", "a user signed in to the console, with an API token or through the SSO provider (data: the session, the method, the token's id or the email the provider vouched for)"},
	{ActionSignInRefused, "user", "a console sign-in was refused: an unknown, expired or revoked token (no actor; never the token), or for SSO no user has the email, the provider did not verify it, or the user is disabled (reason; data: the method, the token's id or the email)"},
	{ActionUserSignedOut, "user", "a user signed out of the console (data: the session)"},
	{ActionSessionRevoked, "user", "a console session of the user was ended by `roster session revoke`, or all of them because the user was disabled (data: the session or sessions)"},
	{ActionDelegationSet, "user", "the user named a delegate to decide in their place until a time, or an admin did for them (data: the delegate and until, and the delegation it replaced)"},
	{ActionDelegationEnded, "user", "the user's delegation was ended: before its time, by them or an admin, or when its time ran out, by the system (data: the delegate, until, and ran_out when it ran out)"},

	{ActionAppCreated, "app", "an app was added"},
	{ActionAppUpdated, "app", "an app's name or owners changed"},
	{ActionEntitlementCreated, "entitlement", "an entitlement was added"},
	{ActionEntitlementUpdated, "entitlement", "an entitlement's settings changed"},
	{ActionEntitlementFound, "entitlement", "a connector's sync found an entitlement the catalog did not have"},
	{ActionPolicyCreated, "policy", "an approval policy was added"},
	{ActionPolicyUpdated, "policy", "an approval policy's steps changed"},

	{ActionGrantAdded, "grant", "a user now holds an entitlement (one a task done the moment it was opened made is among the effects of its `task.created`)"},
	{ActionGrantRemoved, "grant", "a user no longer holds an entitlement (one a task done the moment it was opened made is among the effects of its `task.created`)"},
	{ActionGrantRemovedOutside, "grant", "a connector's sync found a grant removed in the system itself"},
	{ActionGrantSources, "grant", "the reasons a grant exists (its sources) changed (one a task done the moment it was opened made is among the effects of its `task.created`)"},

	{ActionProfileCreated, "profile", "an access profile was added"},
	{ActionProfileUpdated, "profile", "an access profile's contents, settings or automation changed"},
	{ActionProfileSynced, "profile", "a profile's sync ran and changed something (figures in its data)"},
	{ActionMemberAdded, "profile", "a user became a member of the profile (one a task done the moment it was opened made is among the effects of its `task.created`)"},
	{ActionMemberRemoved, "profile", "a user stopped being a member of the profile (one a task done the moment it was opened made is among the effects of its `task.created`)"},
	{ActionExclusionDenied, "profile", "an exclusion's task was denied: the user left excluded_users and the profile syncs again"},
	{ActionSafeguardPaused, "profile", "the safeguard paused a sync that would remove too many members"},
	{ActionSafeguardResumed, "profile", "an admin applied a paused sync's staged plan"},
	{ActionSafeguardPlanDropped, "profile", "editing the automation discarded a paused sync's staged plan"},

	{ActionTaskCreated, "task", "a grant or revoke task was opened; one done the moment it was opened (no approval step, automatic provisioning) says \"state\": \"done\" in its data and has no task.done, and what carrying it out did to its own grant and membership is in its data's effects (Event.Effects), not events of their own"},
	{ActionTaskRoutedToAdmins, "task", "an approval step resolved to nobody eligible and went to the admins"},
	{ActionTaskReassigned, "task", "who approves the task's current step changed (a new manager, new app owners) and the step was resolved again"},
	{ActionTaskTransferred, "task", "the profile that requested the access no longer gives it to the user; the open request now stands for another profile of theirs that contains it"},
	{ActionTaskApproved, "task", "an approver approved a step (data: the step, and `for`: whom a delegate decided for)"},
	{ActionTaskDenied, "task", "an approver denied the task (data: the step, and `for`: whom a delegate decided for)"},
	{ActionTaskCancelled, "task", "the task was cancelled (by a person or because it no longer applies)"},
	{ActionTaskDone, "task", "the task was carried out (a task done the moment it was opened has its task.created only)"},
	{ActionTaskProvisioningRetry, "task", "a connector failed to carry out the task and will try again"},
	{ActionTaskFailed, "task", "a connector gave up carrying out the task"},
	{ActionTaskRetried, "task", "an admin gave a failed task back to its connector"},

	{ActionConnectorCreated, "connector", "a connector was added"},
	{ActionConnectorUpdated, "connector", "a connector's settings changed"},
	{ActionConnectorSynced, "connector", "a connector's sync read its system and changed something"},
	{ActionConnectorSyncFailed, "connector", "a connector's sync could not read its system"},
	{ActionConnectorHeld, "connector", "a connector's sync would remove too much and is held for an admin"},
	{ActionConnectorResumed, "connector", "an admin confirmed a held connector sync"},
	{ActionConnectorHoldDiscarded, "connector", "a held connector sync was discarded"},

	{ActionNotifyApprovers, "task", "the approvers of a task's step were told it waits on them"},
	{ActionNotifyProvisioners, "task", "the provisioners were told a task waits to be carried out"},
	{ActionNotifyRequester, "task", "the person who asked for a task was told it was approved or denied"},
	{ActionTaskReminded, "task", "a step waited settings.notifications.remind_after and its approvers were reminded once"},
	{ActionTaskEscalated, "task", "a step waited settings.notifications.escalate_after: its fallback users (or the admins) were added to its approvers and told"},
	{ActionNotifyAdmins, "profile, connector", "the admins were alerted (a paused sync, a held connector sync)"},
	{ActionNotifyDelivered, "notification", "an outgoing notification was delivered"},
	{ActionNotifyFailed, "notification", "an outgoing notification was given up after its attempts"},
	{ActionWebhookCreated, "webhook", "an outbound webhook was declared (data: its url, secret_env, events)"},
	{ActionWebhookUpdated, "webhook", "an outbound webhook's url, secret_env, events, insecure or enabled changed (data: before and after)"},
	{ActionWebhookTested, "webhook", "`roster webhook test` sent a webhook.test message (reason: the endpoint's answer)"},
	{ActionChangeRequested, "change", "with settings.change_approval on, an admin's apply or console save changed settings, policies, profiles, connectors or webhooks: it waits as a change request for another admin (data: the changes it would make, and whether the whole file waits)"},
	{ActionChangeApproved, "change", "another admin approved a change request and it was applied against the state of that moment (reason: their comment; data: its author, the changes applied, and whether they moved since the request)"},
	{ActionChangeDenied, "change", "a change request was denied by another admin or withdrawn by its author, and nothing of it applied (reason: the comment)"},
}

// ActionsMatching returns the audit actions an events pattern of a webhook
// matches: the action it names, or with "PREFIX.*" every action whose name
// starts with "PREFIX.". It returns none for a pattern that matches nothing.
func ActionsMatching(pattern string) []AuditAction {
	var out []AuditAction
	prefix, wild := strings.CutSuffix(pattern, "*")
	for _, a := range AuditActions {
		if wild && strings.HasSuffix(prefix, ".") && strings.HasPrefix(string(a.Action), prefix) || !wild && string(a.Action) == pattern {
			out = append(out, a.Action)
		}
	}
	return out
}

// Object returns the kind of object the action is about: what comes before the dot.
func (a AuditAction) Object() string {
	obj, _, _ := strings.Cut(string(a), ".")
	return obj
}

// Verb returns what happened: what comes after the dot.
func (a AuditAction) Verb() string {
	_, verb, _ := strings.Cut(string(a), ".")
	return verb
}

// KnownAuditAction reports whether a is an action Roster records.
func KnownAuditAction(a AuditAction) bool {
	return slices.ContainsFunc(AuditActions, func(i AuditActionInfo) bool { return i.Action == a })
}

// UserStatusAction is the audit action of a user's status becoming status.
func UserStatusAction(status string) AuditAction {
	if status == UserDisabled {
		return ActionUserDisabled
	}
	return ActionUserActive
}
