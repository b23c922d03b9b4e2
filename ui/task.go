package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// taskData is one task's page.
type taskData struct {
	T *roster.Task
	// V is the task's view: the subject, what is asked, why, and the
	// subject's access.
	V *roster.TaskView
	// CanDecide, CanProvision and CanCancel say which actions the signed-in
	// user may take; the engine checks again.
	CanDecide    bool
	CanProvision bool
	CanCancel    bool
	CanRetry     bool
}

// showTask shows a task with what an approver needs: who the subject is,
// what is asked by name and risk, what an enrollment gives and what of it
// the subject holds, why the task exists, the subject's access; then its
// policy steps, current approvers, history, and the actions the signed-in
// user may take.
func (u *UI) showTask(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, v, roster.Errorf(roster.ENOTFOUND, "there is no task %q", r.PathValue("id")))
		return
	}
	tv, err := u.service.TaskView(v.ctx, id)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	t := &tv.Task
	me := v.me.ID
	d := taskData{
		T:            t,
		V:            tv,
		CanDecide:    t.State == roster.StatePendingApproval && slices.Contains(t.Approvers, me),
		CanProvision: t.State == roster.StatePendingProvisioning && (slices.Contains(t.Provisioners, me) || v.admin()),
		CanCancel:    t.Open() && v.admin(),
		CanRetry:     t.State == roster.StateFailed && v.admin(),
	}
	u.render(w, r, v, http.StatusOK, "task", "Task "+strconv.FormatInt(t.ID, 10), "tasks", d, nil)
}

// Enrollment reports whether the task enrolls or unenrolls the subject in
// a profile.
func (d taskData) Enrollment() bool {
	app, local, _ := roster.SplitEntitlementID(d.T.Entitlement)
	return app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded")
}

// Headline says what the task does, by name: "Enroll Bob Martin in
// Engineering onboarding", "Grant GitHub · Admin to Bob Martin".
func (d taskData) Headline() string {
	return headline(d.V)
}

// headline says what a task does, by name.
func headline(tv *roster.TaskView) string {
	t := &tv.Task
	who := tv.Subject.Name
	if who == "" {
		who = tv.Subject.ID
	}
	app, local, _ := roster.SplitEntitlementID(t.Entitlement)
	switch {
	case app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") && t.Kind == roster.TaskGrant:
		return "Enroll " + who + " in " + tv.Asked.Name
	case app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded"):
		return "Unenroll " + who + " from " + tv.Asked.Name
	case app == roster.BuiltinApp && t.Kind == roster.TaskGrant:
		return "Exclude " + who + " from the rule of " + tv.ProfileName
	case app == roster.BuiltinApp:
		return "Readmit " + who + " to the rule of " + tv.ProfileName
	case t.Kind == roster.TaskGrant:
		return "Grant " + entitlementTitle(tv.Asked) + " to " + who
	}
	return "Revoke " + entitlementTitle(tv.Asked) + " from " + who
}

// entitlementTitle is what people call an entitlement: "GitHub · Admin",
// or a profile's name for its enrollment.
func entitlementTitle(n roster.EntitlementName) string {
	if app, _, _ := roster.SplitEntitlementID(n.ID); app == roster.BuiltinApp || n.AppName == "" || n.Name == n.ID {
		return n.Name
	}
	return n.AppName + " · " + n.Name
}
