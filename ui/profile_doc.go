package ui

import (
	"fmt"
	"slices"

	"github.com/rosterhq/roster"
	"go.yaml.in/yaml/v3"
)

// The console saves a profile the way `roster apply` does: it writes the
// profile's whole desired state as a declarative document with one entry
// under profiles and every field set, and calls Service.Apply. The engine
// then diffs it against the stored profile, creates the tasks its changes
// imply, discards a paused sync's staged plan when the automation changed,
// and syncs when the automation is saved enabled.

// profileDoc is a declarative document that declares one profile.
type profileDoc struct {
	Profiles []profileEntry `yaml:"profiles"`
}

// profileEntry is one profile in declarative form, every key written.
type profileEntry struct {
	ID                      string          `yaml:"id"`
	Name                    string          `yaml:"name"`
	Description             string          `yaml:"description"`
	Entitlements            []string        `yaml:"entitlements"`
	AllowEnrollmentRequests bool            `yaml:"allow_enrollment_requests"`
	Enrollment              enrollmentEntry `yaml:"enrollment"`
	Unenrollment            unenrollEntry   `yaml:"unenrollment"`
	Automation              automationEntry `yaml:"automation"`
}

type enrollmentEntry struct {
	Policy                    string `yaml:"policy,omitempty"`
	BypassEntitlementPolicies bool   `yaml:"bypass_entitlement_policies"`
}

type unenrollEntry struct {
	Policy                    string `yaml:"policy,omitempty"`
	Access                    string `yaml:"access"`
	BypassEntitlementPolicies bool   `yaml:"bypass_entitlement_policies"`
}

type automationEntry struct {
	Enabled        bool     `yaml:"enabled"`
	Mode           string   `yaml:"mode"`
	AnyEntitlement []string `yaml:"any_entitlement"`
	Expression     string   `yaml:"expression,omitempty"`
	ExcludedUsers  []string `yaml:"excluded_users"`
	// ExclusionPolicy is not on the form: it is kept as it is.
	ExclusionPolicy string `yaml:"exclusion_policy,omitempty"`
	Safeguard       bool   `yaml:"safeguard"`
}

// entryOf returns the declarative form of a profile as the engine shows it.
func entryOf(p *roster.ProfileView) profileEntry {
	access := p.Unenrollment.Access
	if access == "" {
		access = roster.AccessRevokeUnjustified
	}
	mode := p.Automation.Mode
	if mode == "" {
		mode = roster.ModeSyncAndAct
	}
	return profileEntry{
		ID:                      p.ID,
		Name:                    p.Name,
		Description:             p.Description,
		Entitlements:            orEmpty(p.Entitlements),
		AllowEnrollmentRequests: p.AllowEnrollmentRequests,
		Enrollment:              enrollmentEntry{Policy: p.Enrollment.Policy, BypassEntitlementPolicies: p.Enrollment.BypassEntitlementPolicies},
		Unenrollment:            unenrollEntry{Policy: p.Unenrollment.Policy, Access: access, BypassEntitlementPolicies: p.Unenrollment.BypassEntitlementPolicies},
		Automation: automationEntry{
			Enabled:         p.Automation.Enabled,
			Mode:            mode,
			AnyEntitlement:  orEmpty(p.Automation.AnyEntitlement),
			Expression:      p.Automation.Expression,
			ExcludedUsers:   orEmpty(p.Automation.ExcludedUsers),
			ExclusionPolicy: p.Automation.ExclusionPolicy,
			Safeguard:       p.Automation.Safeguard,
		},
	}
}

// document returns the declarative document that declares e.
func (e profileEntry) document() ([]byte, error) {
	b, err := yaml.Marshal(profileDoc{Profiles: []profileEntry{e}})
	if err != nil {
		return nil, fmt.Errorf("write the declarative document of profile %s: %w", e.ID, err)
	}
	return b, nil
}

// applyResult is what saving a profile did, or why it could not.
type applyResult struct {
	Document string
	Changes  []string
	Synced   []roster.SyncResult
	// ChangeRequest holds the save when change approval is on; Held is
	// what it would change.
	ChangeRequest int64
	Held          []string
}

// saveProfile applies the document of e as the signed-in user.
func (u *UI) saveProfile(v *visit, e profileEntry) (*applyResult, error) {
	doc, err := e.document()
	if err != nil {
		return nil, err
	}
	out := &applyResult{Document: string(doc)}
	res, err := u.service.Apply(v.ctx, roster.ApplyRequest{Filename: "profile " + e.ID, Document: doc})
	if err != nil {
		return out, err
	}
	out.Changes, out.Synced, out.ChangeRequest, out.Held = res.Changes, res.Synced, res.ChangeRequest, res.Held
	return out, nil
}

// summary is the notice a saved profile leaves: what changed and what the
// sync it started did.
func (a *applyResult) summary() (string, []string) {
	if a.ChangeRequest != 0 {
		return fmt.Sprintf("Not applied yet: change approval is on, so this is change request %d, which another admin must approve (Changes).", a.ChangeRequest), a.Held
	}
	if len(a.Changes) == 0 {
		return "Saved: nothing changed.", nil
	}
	details := slices.Clone(a.Changes)
	for _, s := range a.Synced {
		details = append(details, syncLine(&s))
	}
	return "Saved.", details
}

// paused lists the profiles whose sync the save started and the safeguard
// paused.
func (a *applyResult) paused() []string {
	var out []string
	for _, s := range a.Synced {
		if s.Paused {
			out = append(out, s.Profile)
		}
	}
	return out
}

// syncLine describes what one sync did.
func syncLine(s *roster.SyncResult) string {
	if s.Paused {
		return fmt.Sprintf("The sync of %s was paused by the safeguard: review the staged changes.", s.Profile)
	}
	return fmt.Sprintf("Synced %s: %s and %s started, %s created, %d cancelled.", s.Profile,
		plural(len(s.Enrolled), "enrollment", "enrollments"), plural(len(s.Unenrolled), "unenrollment", "unenrollments"),
		plural(s.TasksCreated, "task", "tasks"), len(s.Cancelled))
}

// orEmpty returns xs, or an empty list for nil, so documents say [].
func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// keepOrder returns the chosen values: those of current that are still
// chosen, in their order, then the newly chosen in the order given. Saving a
// form therefore changes a list only when its contents change.
func keepOrder(current, chosen []string) []string {
	out := []string{}
	for _, x := range current {
		if slices.Contains(chosen, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	for _, x := range chosen {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
