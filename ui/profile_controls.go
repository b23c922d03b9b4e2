package ui

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
)

// controlsForm is the Controls tab's form: the profile's details, enrollment
// and unenrollment settings, and membership automation.
type controlsForm struct {
	Name           string
	Description    string
	AllowRequests  bool
	EnrollPolicy   string
	EnrollBypass   bool
	UnenrollPolicy string
	Access         string
	UnenrollBypass bool
	Enabled        bool
	Mode           string
	AnyEntitlement []string
	Expression     string
	ExcludedUsers  string
	Safeguard      bool
}

// formOf fills the form from a profile's declarative form.
func formOf(e profileEntry) controlsForm {
	return controlsForm{
		Name: e.Name, Description: e.Description, AllowRequests: e.AllowEnrollmentRequests,
		EnrollPolicy: e.Enrollment.Policy, EnrollBypass: e.Enrollment.BypassEntitlementPolicies,
		UnenrollPolicy: e.Unenrollment.Policy, Access: e.Unenrollment.Access, UnenrollBypass: e.Unenrollment.BypassEntitlementPolicies,
		Enabled: e.Automation.Enabled, Mode: e.Automation.Mode, AnyEntitlement: e.Automation.AnyEntitlement,
		Expression: e.Automation.Expression, ExcludedUsers: strings.Join(e.Automation.ExcludedUsers, ", "), Safeguard: e.Automation.Safeguard,
	}
}

// readControlsForm reads the posted form.
func readControlsForm(r *http.Request) controlsForm {
	on := func(name string) bool { return r.PostFormValue(name) != "" }
	_ = r.ParseForm()
	return controlsForm{
		Name:           strings.TrimSpace(r.PostFormValue("name")),
		Description:    strings.TrimSpace(r.PostFormValue("description")),
		AllowRequests:  on("allow_enrollment_requests"),
		EnrollPolicy:   r.PostFormValue("enrollment_policy"),
		EnrollBypass:   on("enrollment_bypass"),
		UnenrollPolicy: r.PostFormValue("unenrollment_policy"),
		Access:         r.PostFormValue("access"),
		UnenrollBypass: on("unenrollment_bypass"),
		Enabled:        on("automation_enabled"),
		Mode:           r.PostFormValue("mode"),
		AnyEntitlement: r.PostForm["any_entitlement"],
		Expression:     strings.TrimSpace(r.PostFormValue("expression")),
		ExcludedUsers:  r.PostFormValue("excluded_users"),
		Safeguard:      on("safeguard"),
	}
}

// apply returns e with the form's values, keeping the order of unchanged lists.
func (f controlsForm) apply(e profileEntry) profileEntry {
	e.Name, e.Description, e.AllowEnrollmentRequests = f.Name, f.Description, f.AllowRequests
	e.Enrollment = enrollmentEntry{Policy: f.EnrollPolicy, BypassEntitlementPolicies: f.EnrollBypass}
	e.Unenrollment = unenrollEntry{Policy: f.UnenrollPolicy, Access: f.Access, BypassEntitlementPolicies: f.UnenrollBypass}
	e.Automation = automationEntry{
		Enabled:        f.Enabled,
		Mode:           f.Mode,
		AnyEntitlement: keepOrder(e.Automation.AnyEntitlement, f.AnyEntitlement),
		Expression:     f.Expression,
		ExcludedUsers:  keepOrder(e.Automation.ExcludedUsers, userList(f.ExcludedUsers)),
		Safeguard:      f.Safeguard,
		// Not on the form: kept as it is.
		ExclusionPolicy: e.Automation.ExclusionPolicy,
	}
	return e
}

// controlsData is the Controls tab of a profile.
type controlsData struct {
	*profileTab
	Form     controlsForm
	Policies []roster.Policy
	Settings *roster.Settings
	// RuleChoices are the entitlements the rule may key on, by app.
	RuleChoices []entitlementGroup
	// Saved is the outcome of a save that failed.
	Saved *applyResult
	// Preview is what saving the form would do (profile_preview.go).
	Preview *preview
}

// AccessChoices are the unenrollment access settings, in the order shown.
func (controlsData) AccessChoices() []string {
	return []string{roster.AccessLeave, roster.AccessRevokeAll, roster.AccessRevokeUnjustified}
}

// ModeChoices are the automation modes, in the order shown.
func (controlsData) ModeChoices() []string {
	return []string{roster.ModeSyncMembersOnly, roster.ModeSyncAndAct}
}

// showControls shows the Controls tab (admins): the enrollment and
// unenrollment controls, the membership automation and Sync now.
func (u *UI) showControls(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "controls")
	if !ok {
		return
	}
	d, err := u.controlsData(v, pt, formOf(entryOf(pt.P)))
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_controls", pt.P.Name+": controls", "profiles", d, nil)
}

func (u *UI) controlsData(v *visit, pt *profileTab, f controlsForm) (*controlsData, error) {
	policies, err := u.service.Policies(v.ctx)
	if err != nil {
		return nil, err
	}
	settings, err := u.service.Settings(v.ctx)
	if err != nil {
		return nil, err
	}
	ents, err := u.allEntitlements(v)
	if err != nil {
		return nil, err
	}
	own := roster.EnrollmentEntitlement(pt.P.ID)
	choices := groupByApp(ents, func(e *roster.Entitlement) bool {
		return e.ID == own || (e.App == roster.BuiltinApp && strings.HasSuffix(e.ID, ".excluded"))
	})
	return &controlsData{profileTab: pt, Form: f, Policies: policies, Settings: settings, RuleChoices: choices}, nil
}
