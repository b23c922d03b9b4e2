package roster

// Document is a parsed and validated declarative file (`roster apply -f`).
// Every object in it is the whole desired state of that object and is upserted
// by id; objects the file does not mention are left alone. Settings is a patch:
// only the keys the file sets change.
type Document struct {
	Settings *SettingsPatch `json:"settings,omitempty"`
	Policies []Policy       `json:"policies,omitempty"`
	Users    []User         `json:"users,omitempty"`
	Apps     []App          `json:"apps,omitempty"`
	// Entitlements are those declared under apps[].entitlements, flattened,
	// with App set and ID in the "APP/ENT" form.
	Entitlements []Entitlement `json:"entitlements,omitempty"`
	// Grants are direct grants: each gets the direct source.
	Grants []Grant `json:"grants,omitempty"`
	// Connectors are upserted by id; their runtime state is kept.
	Connectors []Connector `json:"connectors,omitempty"`
	Profiles   []Profile   `json:"profiles,omitempty"`
	// Webhooks are upserted by id; one the file leaves out is kept.
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// SettingsPatch holds the settings a declarative file sets; nil fields are
// left as they are.
type SettingsPatch struct {
	DefaultRequestPolicy *string   `json:"default_request_policy,omitempty"`
	DefaultRevokePolicy  *string   `json:"default_revoke_policy,omitempty"`
	SyncInterval         *Duration `json:"sync_interval,omitempty"`
	AutomationsEnabled   *bool     `json:"automations_enabled,omitempty"`
	ChangeApproval       *bool     `json:"change_approval,omitempty"`
	MinMembers           *int      `json:"min_members,omitempty"`
	MaxRemovalPercent    *int      `json:"max_removal_percent,omitempty"`
	SlackWebhookURL      *string   `json:"slack_webhook_url,omitempty"`
	SlackWebhookURLEnv   *string   `json:"slack_webhook_url_env,omitempty"`
	BaseURL              *string   `json:"base_url,omitempty"`
	// Email replaces settings.notifications.email; one without an
	// SMTPHost removes it (email: null).
	Email *EmailSettings `json:"email,omitempty"`
	// Slack replaces settings.notifications.slack; one without a
	// BotTokenEnv removes it (slack: null).
	Slack         *SlackSettings `json:"slack,omitempty"`
	RemindAfter   *Duration      `json:"remind_after,omitempty"`
	EscalateAfter *Duration      `json:"escalate_after,omitempty"`
}

// Apply returns s with the patch applied.
func (p *SettingsPatch) Apply(s Settings) Settings {
	if p == nil {
		return s
	}
	if p.DefaultRequestPolicy != nil {
		s.DefaultRequestPolicy = *p.DefaultRequestPolicy
	}
	if p.DefaultRevokePolicy != nil {
		s.DefaultRevokePolicy = *p.DefaultRevokePolicy
	}
	if p.SyncInterval != nil {
		s.SyncInterval = *p.SyncInterval
	}
	if p.AutomationsEnabled != nil {
		s.AutomationsEnabled = *p.AutomationsEnabled
	}
	if p.ChangeApproval != nil {
		s.ChangeApproval = *p.ChangeApproval
	}
	if p.MinMembers != nil {
		s.Safeguard.MinMembers = *p.MinMembers
	}
	if p.MaxRemovalPercent != nil {
		s.Safeguard.MaxRemovalPercent = *p.MaxRemovalPercent
	}
	// One way of giving the Slack webhook replaces the other.
	if p.SlackWebhookURL != nil {
		s.SlackWebhookURL = *p.SlackWebhookURL
		if s.SlackWebhookURL != "" {
			s.SlackWebhookURLEnv = ""
		}
	}
	if p.SlackWebhookURLEnv != nil {
		s.SlackWebhookURLEnv = *p.SlackWebhookURLEnv
		if s.SlackWebhookURLEnv != "" {
			s.SlackWebhookURL = ""
		}
	}
	if p.BaseURL != nil {
		s.BaseURL = *p.BaseURL
	}
	if p.Email != nil {
		s.Notifications.Email = nil
		if p.Email.SMTPHost != "" {
			e := *p.Email
			s.Notifications.Email = &e
		}
	}
	if p.Slack != nil {
		s.Notifications.Slack = nil
		if p.Slack.BotTokenEnv != "" {
			sl := *p.Slack
			s.Notifications.Slack = &sl
		}
	}
	if p.RemindAfter != nil {
		s.Notifications.RemindAfter = *p.RemindAfter
	}
	if p.EscalateAfter != nil {
		s.Notifications.EscalateAfter = *p.EscalateAfter
	}
	return s
}

// Known answers whether objects a declarative file refers to, but does not
// itself declare, already exist. The engine implements it over the store.
type Known interface {
	HasUser(id string) bool
	HasPolicy(id string) bool
	HasApp(id string) bool
	// HasEntitlement reports whether "APP/ENT" exists, including the built-in
	// entitlements of existing profiles.
	HasEntitlement(id string) bool
	HasProfile(id string) bool
}
