package roster

import (
	"fmt"
	"slices"
	"time"
)

// PlanInput is everything the sync planner needs to know about one profile. It
// is an in-memory view built by the engine from the store; the planner itself
// does no I/O.
type PlanInput struct {
	Profile string
	Mode    string
	// Matching lists the users who match the profile's rule now: active, holding
	// any of the rule's entitlements, and not excluded. Sorted.
	Matching []string
	// Disabled lists the disabled users among members and open tasks' subjects.
	Disabled []string
	// Members are the profile's current members.
	Members []Member
	// OpenEnrollments and OpenUnenrollments are the open grant and revoke tasks
	// of the profile's enrollment entitlement.
	OpenEnrollments   []OpenTask
	OpenUnenrollments []OpenTask
	// Denials remember denied automation enrollments and unenrollments.
	Denials []Denial
	// RecentRemovals counts the removals automation made from this profile in
	// the rolling hour before this sync.
	RecentRemovals int
	// Errors counts the users for whom the profile's expression could not
	// be evaluated; they are not in Matching. The planner does not read it:
	// the sync reports it.
	Errors int
	// Safeguard is on for this profile; Thresholds are the tenant's.
	Safeguard  bool
	Thresholds Safeguard
}

// OpenTask is an open task as the planner sees it: what it is and whom it
// concerns, without its policy or history.
type OpenTask struct {
	ID     int64
	Kind   TaskKind
	User   string
	Origin Origin
	// Entitlement is set by OpenTasksAmong and OpenTaskRefsOf only.
	Entitlement string
	// State is set by OpenTaskRefsOf only.
	State TaskState
}

// Plan is what a sync of one profile should do.
type Plan struct {
	// Enroll lists users whose enrollment to start (sync_and_act) or who become
	// members at once (sync_members_only). Sorted.
	Enroll []string
	// Unenroll lists members whose unenrollment to start, or who are removed at
	// once. Sorted.
	Unenroll []string
	// Cancel lists open tasks to cancel, with the reason for each.
	Cancel []Cancellation
	// ClearDenials lists denials whose user's match has flipped.
	ClearDenials []Denial
	// Pause is set when the safeguard holds the sync; then nothing is applied and
	// Enroll and Unenroll are the staged plan.
	Pause bool
	// PauseReason explains a pause with the figures that caused it.
	PauseReason string
	// Members and RecentRemovals are the figures of a pause: the profile's
	// members and the removals automation made from it in the past
	// SafeguardWindow.
	Members, RecentRemovals int
}

// Cancellation is an open task the sync cancels, and why.
type Cancellation struct {
	Task   int64
	User   string
	Reason string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.Enroll) == 0 && len(p.Unenroll) == 0 && len(p.Cancel) == 0 && len(p.ClearDenials) == 0
}

// PlanSync computes what a sync of one profile should do. It is level-based:
// it depends only on the current state, so planning again after the plan was
// applied yields an empty plan.
//
// A matching user who is neither a member nor pending is enrolled, unless an
// automation enrollment of theirs was denied and their match has not flipped
// since. A member who no longer matches is unenrolled if they joined through
// automation, or — whatever their source — if they are disabled (the leaver
// path), unless an unenrollment is already open or was denied. Open automation
// enrollments of users who no longer match, and any enrollment of a disabled
// user, are cancelled; so are open automation unenrollments of users who match
// again. The safeguard pauses a sync that would remove more than the allowed
// share of a large profile's members, counting removals over a rolling hour.
func PlanSync(in PlanInput) Plan {
	matching := set(in.Matching)
	disabled := set(in.Disabled)
	members := make(map[string]Member, len(in.Members))
	for _, m := range in.Members {
		members[m.User] = m
	}
	openEnroll := make(map[string]OpenTask, len(in.OpenEnrollments))
	for _, t := range in.OpenEnrollments {
		openEnroll[t.User] = t
	}
	openUnenroll := make(map[string]OpenTask, len(in.OpenUnenrollments))
	for _, t := range in.OpenUnenrollments {
		openUnenroll[t.User] = t
	}
	denied := make(map[Denial]bool, len(in.Denials))
	var plan Plan
	for _, d := range in.Denials {
		match := matching[d.User]
		// A denied enrollment stands while the user matches; a denied
		// unenrollment stands while the user does not match and is a member.
		_, member := members[d.User]
		if (d.Kind == TaskGrant && match) || (d.Kind == TaskRevoke && !match && member) {
			denied[Denial{User: d.User, Kind: d.Kind}] = true
			continue
		}
		plan.ClearDenials = append(plan.ClearDenials, d)
	}

	for _, u := range in.Matching {
		if _, ok := members[u]; ok {
			continue
		}
		if _, ok := openEnroll[u]; ok {
			continue
		}
		if denied[Denial{User: u, Kind: TaskGrant}] {
			continue
		}
		plan.Enroll = append(plan.Enroll, u)
	}
	for _, m := range in.Members {
		if matching[m.User] {
			continue
		}
		if m.Source != MemberAutomation && !disabled[m.User] {
			continue
		}
		if _, ok := openUnenroll[m.User]; ok {
			continue
		}
		if denied[Denial{User: m.User, Kind: TaskRevoke}] {
			continue
		}
		plan.Unenroll = append(plan.Unenroll, m.User)
	}
	for _, t := range in.OpenEnrollments {
		switch {
		case disabled[t.User]:
			plan.Cancel = append(plan.Cancel, Cancellation{Task: t.ID, User: t.User, Reason: "the user is disabled"})
		case t.Origin == OriginAutomation && !matching[t.User]:
			plan.Cancel = append(plan.Cancel, Cancellation{Task: t.ID, User: t.User, Reason: "the user no longer matches the profile's rule"})
		}
	}
	for _, t := range in.OpenUnenrollments {
		if t.Origin == OriginAutomation && matching[t.User] {
			plan.Cancel = append(plan.Cancel, Cancellation{Task: t.ID, User: t.User, Reason: "the user matches the profile's rule again"})
		}
	}
	slices.Sort(plan.Enroll)
	slices.Sort(plan.Unenroll)

	if in.Safeguard && len(in.Members) > in.Thresholds.MinMembers && len(plan.Unenroll) > 0 {
		removals := len(plan.Unenroll) + in.RecentRemovals
		if removals*100 > in.Thresholds.MaxRemovalPercent*len(in.Members) {
			plan.Pause = true
			plan.Members, plan.RecentRemovals = len(in.Members), in.RecentRemovals
			plan.PauseReason = pauseReason(len(plan.Unenroll), in.RecentRemovals, len(in.Members), in.Thresholds)
		}
	}
	return plan
}

// SafeguardWindow is the rolling window over which the safeguard counts removals.
const SafeguardWindow = time.Hour

func pauseReason(planned, recent, members int, t Safeguard) string {
	return fmt.Sprintf("this sync would remove %d of %d members (%d more removed in the past hour): more than %d%% of a profile with over %d members",
		planned, members, recent, t.MaxRemovalPercent, t.MinMembers)
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
