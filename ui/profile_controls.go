package ui

import (
	"net/http"
	"slices"
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
	ExcludedUsers  []string
	Safeguard      bool
	// RuleQuery and ExcludedQuery are the pickers' searches.
	RuleQuery, ExcludedQuery string
}

// formOf fills the form from a profile's declarative form.
func formOf(e profileEntry) controlsForm {
	return controlsForm{
		Name: e.Name, Description: e.Description, AllowRequests: e.AllowEnrollmentRequests,
		EnrollPolicy: e.Enrollment.Policy, EnrollBypass: e.Enrollment.BypassEntitlementPolicies,
		UnenrollPolicy: e.Unenrollment.Policy, Access: e.Unenrollment.Access, UnenrollBypass: e.Unenrollment.BypassEntitlementPolicies,
		Enabled: e.Automation.Enabled, Mode: e.Automation.Mode, AnyEntitlement: e.Automation.AnyEntitlement,
		Expression: e.Automation.Expression, ExcludedUsers: slices.Clone(e.Automation.ExcludedUsers), Safeguard: e.Automation.Safeguard,
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
		AnyEntitlement: chosenValues(r.PostForm["any_entitlement"]),
		Expression:     strings.TrimSpace(r.PostFormValue("expression")),
		// The excluded users' chips, and the ids typed in.
		ExcludedUsers: chosenValues(append(slices.Clone(r.PostForm["excluded_user"]), userList(r.PostFormValue("excluded_users"))...)),
		Safeguard:     on("safeguard"),
		RuleQuery:     strings.TrimSpace(r.PostFormValue("rule_q")),
		ExcludedQuery: strings.TrimSpace(r.PostFormValue("excluded_q")),
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
		ExcludedUsers:  keepOrder(e.Automation.ExcludedUsers, f.ExcludedUsers),
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
	// Rule picks the entitlements the rule keys on; Excluded the users it
	// leaves out.
	Rule, Excluded picker
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
	f := formOf(entryOf(pt.P))
	q := r.URL.Query()
	f.RuleQuery, f.ExcludedQuery = strings.TrimSpace(q.Get("rule_q")), strings.TrimSpace(q.Get("excluded_q"))
	d, err := u.controlsData(v, pt, f)
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
	names, err := u.appNames(v)
	if err != nil {
		return nil, err
	}
	own := roster.EnrollmentEntitlement(pt.P.ID)
	find := profileURL(pt.P.ID, "controls") + "/find"
	d := &controlsData{profileTab: pt, Form: f, Policies: policies, Settings: settings,
		Rule: picker{ID: "rule", Legend: "Membership condition: active users who hold any of these entitlements", Field: "any_entitlement",
			Search: "rule_q", Query: f.RuleQuery, Placeholder: "Name, code or app", FindAction: find + "#rule", ReadOnly: !v.admin()},
		Excluded: picker{ID: "excluded", Legend: "Excluded users", Field: "excluded_user", Search: "excluded_q", Query: f.ExcludedQuery,
			Placeholder: "Name, email or id", FindAction: find + "#excluded", ReadOnly: !v.admin()}}
	pickEntitlements(&d.Rule, ents, names, f.AnyEntitlement, func(e *roster.Entitlement) bool {
		return e.ID == own || (e.App == roster.BuiltinApp && strings.HasSuffix(e.ID, ".excluded"))
	})
	if err := u.pickUsers(v, &d.Excluded, f.ExcludedUsers, ""); err != nil {
		return nil, err
	}
	return d, nil
}

// findInControls shows the Controls form again as posted, with what its
// pickers' searches found; it saves nothing (admins).
func (u *UI) findInControls(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "controls")
	if !ok {
		return
	}
	d, err := u.controlsData(v, pt, readControlsForm(r))
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_controls", pt.P.Name+": controls", "profiles", d, nil)
}
