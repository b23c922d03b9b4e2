package declarative_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
)

// known is a map-backed roster.Known.
type known struct {
	users, policies, apps, ents, profiles map[string]bool
}

func newKnown() *known {
	return &known{users: map[string]bool{}, policies: map[string]bool{}, apps: map[string]bool{}, ents: map[string]bool{}, profiles: map[string]bool{}}
}

func (k *known) HasUser(id string) bool        { return k.users[id] }
func (k *known) HasPolicy(id string) bool      { return k.policies[id] }
func (k *known) HasApp(id string) bool         { return k.apps[id] }
func (k *known) HasEntitlement(id string) bool { return k.ents[id] }
func (k *known) HasProfile(id string) bool     { return k.profiles[id] }

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// specKnown holds what the example of SPEC §3 refers to but does not declare.
func specKnown() *known {
	k := newKnown()
	k.users = set("carol", "secadmin", "sam", "ivan", "bob")
	k.apps = set("okta", "slack")
	k.ents = set("okta/security-team", "okta/engineering", "slack/eng")
	return k
}

// specExample is the example of SPEC §3 without connectors.
const specExample = `settings:
  default_request_policy: manager
  default_revoke_policy: auto
  sync_interval: 1h
  automations_enabled: true
  safeguard: {min_members: 100, max_removal_percent: 20}
  slack_webhook_url: http://127.0.0.1:9999/hook   # optional
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
        fallback: [secadmin]
  - id: security
    steps:
      - approvers: users
        users: [sam]
      - approvers: entitlement_members
        entitlement: okta/security-team
users:
  - {id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering}
apps:
  - id: github
    name: GitHub
    owners: [carol]
    entitlements:
      - {id: org-member, name: Org member, request_policy: auto, revoke_policy: auto, provisioning: auto}
      - {id: admin, request_policy: security, provisioning: manual, provisioners: [ivan]}
grants:
  - {user: alice, entitlement: okta/engineering}
profiles:
  - id: eng
    name: Engineering onboarding
    entitlements: [github/org-member, slack/eng]
    allow_enrollment_requests: true
    enrollment: {policy: manager, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified, bypass_entitlement_policies: true}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/engineering]
      excluded_users: [bob]
      safeguard: true
`

func ptr[T any](v T) *T { return &v }

// specDocument is what specExample parses to.
func specDocument() *roster.Document {
	return &roster.Document{
		Settings: &roster.SettingsPatch{
			DefaultRequestPolicy: ptr("manager"),
			DefaultRevokePolicy:  ptr("auto"),
			SyncInterval:         ptr(roster.Duration(time.Hour)),
			AutomationsEnabled:   ptr(true),
			MinMembers:           ptr(100),
			MaxRemovalPercent:    ptr(20),
			SlackWebhookURL:      ptr("http://127.0.0.1:9999/hook"),
		},
		Policies: []roster.Policy{
			{ID: "auto", Steps: []roster.Step{}},
			{ID: "manager", Steps: []roster.Step{{Approvers: "manager", Fallback: []string{"secadmin"}}}},
			{ID: "security", Steps: []roster.Step{
				{Approvers: "users", Users: []string{"sam"}},
				{Approvers: "entitlement_members", Entitlement: "okta/security-team"},
			}},
		},
		Users: []roster.User{{
			ID: "alice", Email: "alice@example.com", Name: "Alice", Manager: "carol",
			Department: "Engineering", Status: "active", Role: "user", Kind: "person", Notify: "email",
		}},
		Apps: []roster.App{{ID: "github", Name: "GitHub", Owners: []string{"carol"}}},
		Entitlements: []roster.Entitlement{
			{
				ID: "github/org-member", App: "github", Name: "Org member", RequestPolicy: "auto",
				RevokePolicy: "auto", Provisioning: "auto", Provisioners: []string{}, Risk: "low",
			},
			{
				ID: "github/admin", App: "github", Name: "admin", RequestPolicy: "security",
				Provisioning: "manual", Provisioners: []string{"ivan"}, Risk: "low",
			},
		},
		Grants: []roster.Grant{{User: "alice", Entitlement: "okta/engineering", Sources: []string{"direct"}}},
		Profiles: []roster.Profile{{
			ID:                      "eng",
			Name:                    "Engineering onboarding",
			Entitlements:            []string{"github/org-member", "slack/eng"},
			AllowEnrollmentRequests: true,
			Enrollment:              roster.Enrollment{Policy: "manager", BypassEntitlementPolicies: true},
			Unenrollment:            roster.Unenrollment{Policy: "auto", Access: "revoke_unjustified", BypassEntitlementPolicies: true},
			Automation: roster.Automation{
				Enabled: true, Mode: "sync_and_act", AnyEntitlement: []string{"okta/engineering"},
				ExcludedUsers: []string{"bob"}, Safeguard: true,
			},
		}},
	}
}

// specJSON is specExample as JSON, indented with tabs.
const specJSON = `{
	"settings": {"default_request_policy": "manager", "default_revoke_policy": "auto",
		"sync_interval": "1h", "automations_enabled": true,
		"safeguard": {"min_members": 100, "max_removal_percent": 20},
		"slack_webhook_url": "http://127.0.0.1:9999/hook"},
	"policies": [
		{"id": "auto", "steps": []},
		{"id": "manager", "steps": [{"approvers": "manager", "fallback": ["secadmin"]}]},
		{"id": "security", "steps": [
			{"approvers": "users", "users": ["sam"]},
			{"approvers": "entitlement_members", "entitlement": "okta/security-team"}
		]}
	],
	"users": [{"id": "alice", "email": "alice@example.com", "name": "Alice", "manager": "carol", "department": "Engineering"}],
	"apps": [{"id": "github", "name": "GitHub", "owners": ["carol"], "entitlements": [
		{"id": "org-member", "name": "Org member", "request_policy": "auto", "revoke_policy": "auto", "provisioning": "auto"},
		{"id": "admin", "request_policy": "security", "provisioning": "manual", "provisioners": ["ivan"]}
	]}],
	"grants": [{"user": "alice", "entitlement": "okta/engineering"}],
	"profiles": [{
		"id": "eng", "name": "Engineering onboarding",
		"entitlements": ["github/org-member", "slack/eng"],
		"allow_enrollment_requests": true,
		"enrollment": {"policy": "manager", "bypass_entitlement_policies": true},
		"unenrollment": {"policy": "auto", "access": "revoke_unjustified", "bypass_entitlement_policies": true},
		"automation": {"enabled": true, "mode": "sync_and_act", "any_entitlement": ["okta/engineering"],
			"excluded_users": ["bob"], "safeguard": true}
	}]
}
`

func TestParseValid(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input string
		known roster.Known
		want  *roster.Document
	}{
		{name: "spec example", input: specExample, known: specKnown(), want: specDocument()},
		{name: "spec example as JSON", input: specJSON, known: specKnown(), want: specDocument()},
		{name: "empty file", input: "# nothing yet\n", want: &roster.Document{}},
		{
			name: "notifications",
			input: `settings:
  base_url: https://roster.example.com/
  notifications:
    email: {smtp_host: mail.example.com, smtp_port: 587, from: roster@example.com, username_env: ROSTER_SECRET_SMTP_USER, password_env: ROSTER_SECRET_SMTP_PASSWORD, starttls: true}
    slack: {bot_token_env: ROSTER_SECRET_SLACK_BOT}
    remind_after: 24h
    escalate_after: 72h
users:
  - {id: quiet, notify: none}
  - {id: chatty, notify: slack}
`,
			want: &roster.Document{
				Settings: &roster.SettingsPatch{
					BaseURL: ptr("https://roster.example.com"),
					Email: &roster.EmailSettings{SMTPHost: "mail.example.com", SMTPPort: 587, From: "roster@example.com",
						UsernameEnv: "ROSTER_SECRET_SMTP_USER", PasswordEnv: "ROSTER_SECRET_SMTP_PASSWORD", StartTLS: true},
					Slack:         &roster.SlackSettings{BotTokenEnv: "ROSTER_SECRET_SLACK_BOT"},
					RemindAfter:   ptr(roster.Duration(24 * time.Hour)),
					EscalateAfter: ptr(roster.Duration(72 * time.Hour)),
				},
				Users: []roster.User{
					{ID: "quiet", Status: "active", Role: "user", Kind: "person", Notify: "none"},
					{ID: "chatty", Status: "active", Role: "user", Kind: "person", Notify: "slack"},
				},
			},
		},
		{
			name: "defaults",
			input: `settings:
  sync_interval: 15m
users:
  - id: j.smith
  - id: eve
    manager: j.smith
    status: disabled
    role: auditor
    title: Controller
    attributes: {cost_center: 1200, location: Paris}
apps:
  - id: okta
    entitlements:
      - id: Engineering.All
policies:
  - id: none
profiles:
  - id: bare
  - id: ops
    automation: {enabled: true, any_entitlement: [okta/Engineering.All, access-profiles/bare, access-profiles/bare.excluded]}
`,
			want: &roster.Document{
				Settings: &roster.SettingsPatch{SyncInterval: ptr(roster.Duration(15 * time.Minute))},
				Policies: []roster.Policy{{ID: "none", Steps: []roster.Step{}}},
				Users: []roster.User{
					{ID: "j.smith", Status: "active", Role: "user", Kind: "person", Notify: "email"},
					{
						ID: "eve", Manager: "j.smith", Status: "disabled", Role: "auditor", Title: "Controller", Kind: "person", Notify: "email",
						Attributes: map[string]string{"cost_center": "1200", "location": "Paris"},
					},
				},
				Apps: []roster.App{{ID: "okta", Name: "okta", Owners: []string{}}},
				Entitlements: []roster.Entitlement{{
					ID: "okta/Engineering.All", App: "okta", Name: "Engineering.All",
					Provisioning: "auto", Provisioners: []string{}, Risk: "low",
				}},
				Profiles: []roster.Profile{
					{
						ID: "bare", Name: "bare", Entitlements: []string{},
						Unenrollment: roster.Unenrollment{Access: "revoke_unjustified"},
						Automation: roster.Automation{
							Mode: "sync_and_act", AnyEntitlement: []string{}, ExcludedUsers: []string{}, Safeguard: true,
						},
					},
					{
						ID: "ops", Name: "ops", Entitlements: []string{},
						Unenrollment: roster.Unenrollment{Access: "revoke_unjustified"},
						Automation: roster.Automation{
							Enabled: true, Mode: "sync_and_act", Safeguard: true, ExcludedUsers: []string{},
							AnyEntitlement: []string{"okta/Engineering.All", "access-profiles/bare", "access-profiles/bare.excluded"},
						},
					},
				},
			},
		},
		{
			name: "references resolved by known",
			input: `users:
  - {id: newhire, manager: boss}
grants:
  - {user: newhire, entitlement: okta/engineering}
  - {user: boss, entitlement: okta/managers}
  - {user: admin, entitlement: okta/managers}
profiles:
  - id: leads
    entitlements: [github/maintainer]
    enrollment: {policy: manager}
    automation: {enabled: true, any_entitlement: [access-profiles/eng, access-profiles/eng.excluded], excluded_users: [boss], safeguard: false}
`,
			known: func() roster.Known {
				k := newKnown()
				k.users = set("boss")
				k.policies = set("manager")
				k.ents = set("okta/engineering", "okta/managers", "github/maintainer")
				k.profiles = set("eng")
				return k
			}(),
			want: &roster.Document{
				Users: []roster.User{{ID: "newhire", Manager: "boss", Status: "active", Role: "user", Kind: "person", Notify: "email"}},
				Grants: []roster.Grant{
					{User: "newhire", Entitlement: "okta/engineering", Sources: []string{"direct"}},
					{User: "boss", Entitlement: "okta/managers", Sources: []string{"direct"}},
					{User: "admin", Entitlement: "okta/managers", Sources: []string{"direct"}},
				},
				Profiles: []roster.Profile{{
					ID: "leads", Name: "leads", Entitlements: []string{"github/maintainer"},
					Enrollment:   roster.Enrollment{Policy: "manager"},
					Unenrollment: roster.Unenrollment{Access: "revoke_unjustified"},
					Automation: roster.Automation{
						Enabled: true, Mode: "sync_and_act", Safeguard: false, ExcludedUsers: []string{"boss"},
						AnyEntitlement: []string{"access-profiles/eng", "access-profiles/eng.excluded"},
					},
				}},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := declarative.Parse("roster.yaml", []byte(tt.input), tt.known)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, strings.Join(roster.ErrorDetails(err), "\n"))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestParseSpecFields spells out the fields and defaults of the spec example
// one by one, so that a failure says which one is wrong.
func TestParseSpecFields(t *testing.T) {
	doc, err := declarative.Parse("roster.yaml", []byte(specExample), specKnown())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := *doc.Settings.SyncInterval; got != roster.Duration(time.Hour) {
		t.Errorf("sync_interval = %v, want 1h", got)
	}
	if got := doc.Settings.Apply(roster.DefaultSettings()).Safeguard; got != (roster.Safeguard{MinMembers: 100, MaxRemovalPercent: 20}) {
		t.Errorf("safeguard = %+v", got)
	}
	if len(doc.Entitlements) != 2 {
		t.Fatalf("entitlements = %d, want 2", len(doc.Entitlements))
	}
	admin := doc.Entitlements[1]
	if admin.ID != "github/admin" || admin.App != "github" || admin.Name != "admin" || admin.Risk != roster.RiskLow ||
		admin.Provisioning != roster.ProvisionManual || admin.RevokePolicy != "" {
		t.Errorf("github/admin = %+v", admin)
	}
	if len(doc.Profiles) != 1 {
		t.Fatalf("profiles = %d, want 1", len(doc.Profiles))
	}
	p := doc.Profiles[0]
	if !p.Automation.Enabled || p.Automation.Mode != roster.ModeSyncAndAct || !p.Automation.Safeguard {
		t.Errorf("automation = %+v", p.Automation)
	}
	if !reflect.DeepEqual(p.Sync, roster.SyncState{}) {
		t.Errorf("sync = %+v, want zero", p.Sync)
	}
	if p.Unenrollment.Access != roster.AccessRevokeUnjustified || !p.Unenrollment.BypassEntitlementPolicies {
		t.Errorf("unenrollment = %+v", p.Unenrollment)
	}
	if len(doc.Grants) != 1 || !doc.Grants[0].HasSource(roster.SourceDirect) {
		t.Errorf("grants = %+v", doc.Grants)
	}
}

// TestParseSettingsPatch checks that only the keys given are set.
func TestParseSettingsPatch(t *testing.T) {
	doc, err := declarative.Parse("roster.yaml", []byte("settings:\n  automations_enabled: false\n  safeguard: {max_removal_percent: 0}\n"), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &roster.SettingsPatch{AutomationsEnabled: ptr(false), MaxRemovalPercent: ptr(0)}
	if !reflect.DeepEqual(doc.Settings, want) {
		t.Errorf("settings = %+v, want %+v", doc.Settings, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input string
		known roster.Known
		want  []string
	}{
		{
			name:  "broken YAML",
			input: "users:\n  - id: alice\n    name: [Alice\n  - id: bob\n",
			want:  []string{"roster.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name:  "broken JSON",
			input: "{\n  \"users\": [\n    {\"id\": \"alice\"}\n    {\"id\": \"bob\"}\n  ]\n}\n",
			want:  []string{"roster.yaml:4: invalid JSON: invalid character '{' after array element"},
		},
		{
			name:  "broken YAML flow style",
			input: "{users: [{id: alice}\n  {id: bob}]}\n",
			want:  []string{"roster.yaml:1: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name:  "two documents",
			input: "users: []\n---\napps: []\n",
			want:  []string{"roster.yaml:2: the file holds more than one YAML document (---); put everything in one"},
		},
		{
			name:  "not a mapping",
			input: "- id: alice\n",
			want:  []string{"roster.yaml:1: expected a mapping with the keys settings, policies, users, apps, connectors, grants, profiles, webhooks at the top of the file, got a list"},
		},
		{
			name:  "unknown top-level key",
			input: "users: []\npolices: []\n",
			want:  []string{`roster.yaml:2: unknown key "polices" (did you mean "policies"?)`},
		},
		{
			name:  "unknown nested key with suggestion",
			input: "profiles:\n  - id: eng\n    enrollment:\n      polcy: auto\n",
			want:  []string{`roster.yaml:4: profiles[0].enrollment: unknown key "polcy" (did you mean "policy"?)`},
		},
		{
			name:  "unknown key without suggestion",
			input: "users:\n  - id: alice\n    shoe_size: 42\n",
			want:  []string{`roster.yaml:3: users[0]: unknown key "shoe_size" (known keys: id, email, name, manager, department, title, location, employment_type, start_date, end_date, status, role, kind, notify, attributes)`},
		},
		{
			name:  "key given twice",
			input: "users:\n  - id: alice\n    name: Alice\n    name: Alicia\n",
			want:  []string{`roster.yaml:4: users[0]: key "name" given twice (first at line 3)`},
		},
		{
			name:  "connector without app",
			input: "users: []\nconnectors:\n  - id: corp-ldap\n    type: ldap\n",
			want:  []string{"roster.yaml:3: connectors[0]: missing app: the app the connector's entitlements appear under"},
		},
		{
			name: "connector fields",
			input: `connectors:
  - id: Corp LDAP
    type: ldapp
    app: access-profiles
    match_by: name
    sync_interval: 10s
    delete_threshold_percent: 120
    entitlement_defaults: {provisioning: manual, provisioners: [nobody], request_policy: nope}
    settings: [url]
  - id: hr
    type: csv
    app: hr
  - id: hr2
    type: csv
    app: hr
`,
			want: []string{
				`roster.yaml:2: connectors[0].id: invalid connector id "Corp LDAP": use lowercase letters, digits, "_" and "-", starting with a letter or digit`,
				`roster.yaml:3: connectors[0].type: "ldapp" is not one of csv, ldap, postgres, scim (did you mean "ldap"?)`,
				`roster.yaml:4: connectors[0].app: app "access-profiles" is the built-in app of access profiles`,
				`roster.yaml:5: connectors[0].match_by: "name" is not one of id, email`,
				`roster.yaml:6: connectors[0].sync_interval: must be at least 1m, got 10s`,
				`roster.yaml:7: connectors[0].delete_threshold_percent: must be between 0 and 100, got 120`,
				`roster.yaml:8: connectors[0].entitlement_defaults.request_policy: unknown policy "nope"`,
				`roster.yaml:8: connectors[0].entitlement_defaults.provisioners[0]: unknown user "nobody"`,
				`roster.yaml:9: connectors[0].settings: expected a mapping, got a list`,
				`roster.yaml:15: connectors[2].app: app "hr" is already fed by the connector at line 12: an app has one connector`,
			},
		},
		{
			name: "wrong scalar types",
			input: `settings:
  automations_enabled: "true"
  safeguard: [100, 20]
users:
  - id: alice
    name: true
    attributes: [a, b]
apps:
  - id: github
    owners: alice
profiles:
  - id: eng
    allow_enrollment_requests: yes
    enrollment: manager
    automation: {enabled: true, any_entitlement: [github/x], safeguard: 1}
`,
			want: []string{
				`roster.yaml:2: settings.automations_enabled: expected true or false, got the string "true"`,
				`roster.yaml:3: settings.safeguard: expected a mapping, got a list`,
				`roster.yaml:6: users[0].name: expected a string, got the boolean true (quote it if you mean the text)`,
				`roster.yaml:7: users[0].attributes: expected a mapping, got a list`,
				`roster.yaml:10: apps[0].owners: expected a list, got the string "alice"`,
				`roster.yaml:13: profiles[0].allow_enrollment_requests: expected true or false, got the string "yes"`,
				`roster.yaml:14: profiles[0].enrollment: expected a mapping, got the string "manager"`,
				`roster.yaml:15: profiles[0].automation.safeguard: expected true or false, got the number 1`,
				`roster.yaml:15: profiles[0].automation.any_entitlement[0]: unknown entitlement "github/x"`,
			},
		},
		{
			name: "settings values",
			input: `settings:
  default_request_policy: managr
  default_revoke_policy: auto
  sync_interval: 30s
  safeguard:
    min_members: -1
    max_removal_percent: 101
  slack_webhook_url: hooks.slack.com/services/T0
policies:
  - id: manager
`,
			known: func() roster.Known { k := newKnown(); k.policies = set("auto"); return k }(),
			want: []string{
				`roster.yaml:2: settings.default_request_policy: unknown policy "managr" (did you mean "manager"?)`,
				`roster.yaml:4: settings.sync_interval: must be at least 1m, got 30s`,
				`roster.yaml:6: settings.safeguard.min_members: must be 0 or more, got -1`,
				`roster.yaml:7: settings.safeguard.max_removal_percent: must be between 0 and 100, got 101`,
				`roster.yaml:8: settings.slack_webhook_url: "hooks.slack.com/services/T0" is not an http or https URL`,
			},
		},
		{
			name:  "settings bad duration and number",
			input: "settings:\n  sync_interval: 1 hour\n  safeguard: {min_members: 5.5}\n",
			want: []string{
				`roster.yaml:2: settings.sync_interval: "1 hour" is not a duration such as "1h" or "15m"`,
				`roster.yaml:3: settings.safeguard.min_members: expected a whole number, got the number 5.5`,
			},
		},
		{
			name: "policy steps",
			input: `users:
  - id: sam
policies:
  - id: p1
    steps:
      - approvers: managr
      - approvers: users
      - approvers: users
        users: []
      - approvers: entitlement_members
      - approvers: manager
        users: [sam]
        entitlement: okta/security
      - users: [sam]
      - approvers: self
        fallback: [nobody]
`,
			want: []string{
				`roster.yaml:6: policies[0].steps[0].approvers: "managr" is not one of manager, app_owner, users, entitlement_members, self (did you mean "manager"?)`,
				`roster.yaml:7: policies[0].steps[1]: approvers: users needs a users list`,
				`roster.yaml:9: policies[0].steps[2].users: approvers: users needs at least one user`,
				`roster.yaml:10: policies[0].steps[3]: approvers: entitlement_members needs an entitlement (APP/ENT) whose holders approve`,
				`roster.yaml:12: policies[0].steps[4].users: users are only used with approvers: users, not manager`,
				`roster.yaml:13: policies[0].steps[4].entitlement: entitlement is only used with approvers: entitlement_members, not manager`,
				`roster.yaml:14: policies[0].steps[5]: missing approvers (one of manager, app_owner, users, entitlement_members, self)`,
				`roster.yaml:16: policies[0].steps[6].fallback[0]: unknown user "nobody"`,
			},
		},
		{
			name: "users",
			input: `users:
  - id: Alice
  - id: bob
    email: bob-at-example.com
    manager: bob
    status: inactive
    role: superuser
  - id: admin
  - name: No Id
  - id: carol
    manager: dave
`,
			want: []string{
				`roster.yaml:2: users[0].id: invalid user id "Alice": use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit`,
				`roster.yaml:4: users[1].email: "bob-at-example.com" is not an email address`,
				`roster.yaml:5: users[1].manager: a user cannot be their own manager`,
				`roster.yaml:6: users[1].status: "inactive" is not one of active, disabled`,
				`roster.yaml:7: users[1].role: "superuser" is not one of user, admin, auditor`,
				`roster.yaml:8: users[2].id: user "admin" is built in and cannot be declared`,
				`roster.yaml:9: users[3]: missing id`,
				`roster.yaml:11: users[4].manager: unknown user "dave"`,
			},
		},
		{
			name: "duplicate ids",
			input: `users:
  - id: alice
  - id: bob
  - id: alice
apps:
  - id: github
    entitlements:
      - id: admin
      - id: admin
  - id: github
policies:
  - id: auto
  - id: auto
profiles:
  - id: eng
  - id: eng
`,
			want: []string{
				`roster.yaml:4: users[2].id: duplicate user id "alice" (first declared at line 2)`,
				`roster.yaml:9: apps[0].entitlements[1].id: duplicate entitlement "github/admin" (first declared at line 8)`,
				`roster.yaml:10: apps[1].id: duplicate app id "github" (first declared at line 6)`,
				`roster.yaml:13: policies[1].id: duplicate policy id "auto" (first declared at line 12)`,
				`roster.yaml:16: profiles[1].id: duplicate profile id "eng" (first declared at line 15)`,
			},
		},
		{
			name: "ids",
			input: `policies:
  - id: Manager
apps:
  - id: access-profiles
  - id: github
    entitlements:
      - id: -admin
      - name: No id
profiles:
  - id: eng.team
  - {}
`,
			want: []string{
				`roster.yaml:2: policies[0].id: invalid policy id "Manager": use lowercase letters, digits, "_" and "-", starting with a letter or digit`,
				`roster.yaml:4: apps[0].id: app id "access-profiles" is reserved for the built-in app of access profiles`,
				`roster.yaml:7: apps[1].entitlements[0].id: invalid entitlement id "-admin": use letters, digits, ".", "_" and "-", starting with a letter or digit`,
				`roster.yaml:8: apps[1].entitlements[1]: missing id`,
				`roster.yaml:10: profiles[0].id: invalid profile id "eng.team": profile ids cannot contain "." (access-profiles/P.excluded is a profile's exclusion entitlement); use lowercase letters, digits, "_" and "-", starting with a letter or digit`,
				`roster.yaml:11: profiles[1]: missing id`,
			},
		},
		{
			name: "apps and entitlements",
			input: `users:
  - id: carol
apps:
  - id: github
    owners: [carol, carl]
    entitlements:
      - id: admin
        request_policy: securty
        revoke_policy: auto
        provisioning: by-hand
        risk: extreme
      - id: member
        provisioners: [carol]
      - id: billing
        provisioning: connector
        provisioners: [carol]
      - id: audit
        provisioning: manual
        provisioners: [ivan]
policies:
  - id: security
`,
			known: func() roster.Known { k := newKnown(); k.policies = set("auto"); return k }(),
			want: []string{
				`roster.yaml:5: apps[0].owners[1]: unknown user "carl" (did you mean "carol"?)`,
				`roster.yaml:8: apps[0].entitlements[0].request_policy: unknown policy "securty" (did you mean "security"?)`,
				`roster.yaml:10: apps[0].entitlements[0].provisioning: "by-hand" is not one of auto, manual, connector`,
				`roster.yaml:11: apps[0].entitlements[0].risk: "extreme" is not one of low, medium, high`,
				`roster.yaml:13: apps[0].entitlements[1].provisioners: provisioners are only used with provisioning: manual (the default is auto)`,
				`roster.yaml:14: entitlement github/billing has provisioning: connector but no connector feeds app github: declare one under connectors with app: github`,
				`roster.yaml:16: apps[0].entitlements[2].provisioners: provisioners are only used with provisioning: manual, not connector`,
				`roster.yaml:19: apps[0].entitlements[3].provisioners[0]: unknown user "ivan"`,
			},
		},
		{
			name: "grants",
			input: `users:
  - id: alice
apps:
  - id: okta
    entitlements: [{id: engineering}]
profiles:
  - id: eng
grants:
  - {user: alice, entitlement: okta/enginering}
  - {user: alise, entitlement: okta/engineering}
  - {user: alice, entitlement: access-profiles/eng}
  - {user: alice, entitlement: engineering}
  - {user: alice}
  - {user: alice, entitlement: okta/engineering}
  - {user: alice, entitlement: okta/engineering}
`,
			want: []string{
				`roster.yaml:9: grants[0].entitlement: unknown entitlement "okta/enginering" (did you mean "okta/engineering"?)`,
				`roster.yaml:10: grants[1].user: unknown user "alise" (did you mean "alice"?)`,
				`roster.yaml:11: grants[2].entitlement: "access-profiles/eng" cannot be granted directly: profile membership comes from enrollment`,
				`roster.yaml:12: grants[3].entitlement: "engineering" is not an entitlement reference: write APP/ENT, for example okta/engineering`,
				`roster.yaml:13: grants[4]: missing entitlement`,
				`roster.yaml:15: grants[6]: grant of "okta/engineering" to "alice" given twice (first at line 14)`,
			},
		},
		{
			name: "profiles",
			input: `apps:
  - id: okta
    entitlements: [{id: engineering}, {id: sales}]
profiles:
  - id: eng
    entitlements:
      - okta/engineering
      - access-profiles/eng
      - access-profiles/sales
      - okta/engineering
      - okta/enginering
    enrollment: {policy: manager}
    unenrollment: {access: revoke_some}
    automation:
      enabled: true
      mode: sync
      any_entitlement: [access-profiles/eng, access-profiles/sales, access-profiles/eng.excluded, access-profiles/nope]
      excluded_users: [bob]
  - id: sales
    automation: {enabled: true}
  - id: empty
    automation:
      enabled: true
      any_entitlement: []
`,
			want: []string{
				`roster.yaml:8: profiles[0].entitlements[1]: a profile cannot contain its own enrollment entitlement "access-profiles/eng"`,
				`roster.yaml:9: profiles[0].entitlements[2]: a profile cannot contain "access-profiles/sales": access-profiles entitlements come from enrollment (to key on another profile's members, use automation.any_entitlement)`,
				`roster.yaml:10: profiles[0].entitlements[3]: "okta/engineering" is listed twice (also at line 7)`,
				`roster.yaml:11: profiles[0].entitlements[4]: unknown entitlement "okta/enginering" (did you mean "okta/engineering"?)`,
				`roster.yaml:12: profiles[0].enrollment.policy: unknown policy "manager"`,
				`roster.yaml:13: profiles[0].unenrollment.access: "revoke_some" is not one of leave, revoke_all, revoke_unjustified`,
				`roster.yaml:16: profiles[0].automation.mode: "sync" is not one of sync_members_only, sync_and_act`,
				`roster.yaml:17: profiles[0].automation.any_entitlement[0]: a profile's rule cannot key on its own membership "access-profiles/eng"`,
				`roster.yaml:17: profiles[0].automation.any_entitlement[2]: a profile's rule cannot key on its own exclusion entitlement "access-profiles/eng.excluded"`,
				`roster.yaml:17: profiles[0].automation.any_entitlement[3]: unknown entitlement "access-profiles/nope"`,
				`roster.yaml:18: profiles[0].automation.excluded_users[0]: unknown user "bob"`,
				`roster.yaml:20: profiles[1].automation.any_entitlement: automation is enabled but names neither any_entitlement nor an expression: the rule would match nobody`,
				`roster.yaml:24: profiles[2].automation.any_entitlement: automation is enabled but names neither any_entitlement nor an expression: the rule would match nobody`,
			},
		},
		{
			name:  "dangling references without known",
			input: specExample,
			want: []string{
				`roster.yaml:14: policies[1].steps[0].fallback[0]: unknown user "secadmin"`,
				`roster.yaml:18: policies[2].steps[0].users[0]: unknown user "sam"`,
				`roster.yaml:20: policies[2].steps[1].entitlement: unknown entitlement "okta/security-team"`,
				`roster.yaml:22: users[0].manager: unknown user "carol"`,
				`roster.yaml:26: apps[0].owners[0]: unknown user "carol"`,
				`roster.yaml:29: apps[0].entitlements[1].provisioners[0]: unknown user "ivan"`,
				`roster.yaml:31: grants[0].entitlement: unknown entitlement "okta/engineering"`,
				`roster.yaml:35: profiles[0].entitlements[1]: unknown entitlement "slack/eng"`,
				`roster.yaml:42: profiles[0].automation.any_entitlement[0]: unknown entitlement "okta/engineering"`,
				`roster.yaml:43: profiles[0].automation.excluded_users[0]: unknown user "bob"`,
			},
		},
		{
			name: "several problems in several sections",
			input: `settings:
  sync_interval: soon
users:
  - id: alice
    manager: zed
apps:
  - id: okta
    entitlements:
      - {id: engineering, request_policy: nobody}
grants:
  - {user: alice, entitlement: okta/engineering}
profiles:
  - id: eng
    entitlements: [okta/engineering]
    enrollment: {polcy: manager}
connectors: []
`,
			want: []string{
				`roster.yaml:2: settings.sync_interval: "soon" is not a duration such as "1h" or "15m"`,
				`roster.yaml:5: users[0].manager: unknown user "zed"`,
				`roster.yaml:9: apps[0].entitlements[0].request_policy: unknown policy "nobody"`,
				`roster.yaml:15: profiles[0].enrollment: unknown key "polcy" (did you mean "policy"?)`,
			},
		},
		{
			name: "notifications",
			input: `settings:
  base_url: roster.example.com
  notifications:
    email: {smtp_port: 70000, from: not-an-address, username_env: "BAD NAME", starttls: yes}
    remind_after: 72h
    escalate_after: 24h
    slack: {}
users:
  - {id: loud, notify: sms}
`,
			want: []string{
				`roster.yaml:2: settings.base_url: "roster.example.com" is not an http or https URL such as https://roster.example.com`,
				`roster.yaml:4: settings.notifications.email.smtp_host: missing: the SMTP server's host name or address`,
				`roster.yaml:4: settings.notifications.email.smtp_port: must be a port between 1 and 65535, got 70000`,
				`roster.yaml:4: settings.notifications.email.from: "not-an-address" is not an email address`,
				`roster.yaml:4: settings.notifications.email.username_env: "BAD NAME" is not an environment variable name`,
				`roster.yaml:4: settings.notifications.email: username_env and password_env go together: give both, or neither to send without AUTH`,
				`roster.yaml:4: settings.notifications.email.starttls: expected true or false, got the string "yes"`,
				`roster.yaml:6: settings.notifications.escalate_after: must be longer than remind_after (72h0m0s), got 24h0m0s`,
				`roster.yaml:7: settings.notifications.slack.bot_token_env: missing: the environment variable that holds the Slack bot's token`,
				`roster.yaml:9: users[0].notify: "sms" is not one of email, slack, none`,
			},
		},
		{
			name: "JSON lines",
			input: `{
  "users": [
    {"id": "alice", "manager": "bob"},
    {"id": "bob", "status": "gone"}
  ],
  "grant": []
}`,
			want: []string{
				`roster.yaml:4: users[1].status: "gone" is not one of active, disabled`,
				`roster.yaml:6: unknown key "grant" (did you mean "grants"?)`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := declarative.Parse("roster.yaml", []byte(tt.input), tt.known)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", doc)
			}
			if doc != nil {
				t.Errorf("Parse returned a document with its error")
			}
			var e *roster.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %T %v is not a *roster.Error", err, err)
			}
			if e.Code != roster.EINVALID {
				t.Errorf("code = %q, want %q", e.Code, roster.EINVALID)
			}
			noun := "problems"
			if len(tt.want) == 1 {
				noun = "problem"
			}
			if want := "roster.yaml: " + itoa(len(tt.want)) + " " + noun + "; nothing was applied"; e.Message != want {
				t.Errorf("message = %q, want %q", e.Message, want)
			}
			if !reflect.DeepEqual(e.Details, tt.want) {
				t.Errorf("details:\n%s\nwant:\n%s", strings.Join(e.Details, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

// TestParseAliases checks that anchors and aliases work and that a file
// cannot blow up by expanding aliases.
func TestParseAliases(t *testing.T) {
	doc, err := declarative.Parse("roster.yaml", []byte(`users:
  - id: alice
  - id: bob
apps:
  - id: github
    owners: &owners [alice, bob]
  - id: slack
    owners: *owners
`), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := doc.Apps[1].Owners; !reflect.DeepEqual(got, []string{"alice", "bob"}) {
		t.Errorf("slack owners = %v", got)
	}

	var b strings.Builder
	b.WriteString("users:\n  - id: alice\napps:\n  - id: a\n    owners: &o [alice]\n")
	for i := range 1100 {
		b.WriteString("  - {id: a" + itoa(i) + ", owners: *o}\n")
	}
	_, err = declarative.Parse("big.yaml", []byte(b.String()), nil)
	details := roster.ErrorDetails(err)
	if len(details) != 1 || details[0] != "big.yaml:1006: the file expands more than 1000 YAML aliases" {
		t.Errorf("details = %v", details)
	}
}

func TestParseDefaultFilename(t *testing.T) {
	_, err := declarative.Parse("", []byte("nope: 1\n"), nil)
	if got := roster.ErrorDetails(err); len(got) != 1 || !strings.HasPrefix(got[0], "document:1: ") {
		t.Errorf("details = %v", got)
	}
}

// TestParseAliasExpansion checks that the alias budget counts what aliases
// expand to, not only how many there are: fifty aliases to one mapping of a
// thousand keys are fifty thousand nodes to read. It also checks that the
// problems reported are capped, with the rest counted.
func TestParseAliasExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n  - id: alice\nx-big: &big\n")
	for i := range 1000 {
		b.WriteString("  k" + itoa(i) + ": v\n")
	}
	b.WriteString("profiles:\n")
	for range 50 {
		b.WriteString("  - *big\n")
	}
	_, err := declarative.Parse("laughs.yaml", []byte(b.String()), nil)
	details := roster.ErrorDetails(err)
	if len(details) > 202 {
		t.Fatalf("%d problems listed, want at most 200 and a count of the rest", len(details))
	}
	var budget, rest bool
	for _, d := range details {
		budget = budget || strings.Contains(d, "aliases expand to more than 20000 nodes")
		rest = rest || strings.Contains(d, "more problems, not listed")
	}
	if !budget || !rest {
		t.Errorf("budget reported %v, rest counted %v; message %q, details %v", budget, rest, roster.ErrorMessage(err), details[:min(5, len(details))])
	}
}
