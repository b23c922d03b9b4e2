package roster

import (
	"fmt"
	"slices"
)

// ChangePlan is what applying a declarative file would do now (`roster
// plan -f FILE`): the objects it adds or changes, and for each profile whose
// membership or access would move, who would be enrolled and unenrolled, the
// tasks that would be created, the grants that would end, and the safeguard's
// verdict. It is computed by running the apply and the syncs it sets off in a
// transaction that is then rolled back, so it is exact: an apply of the same
// file right after does what the plan says.
type ChangePlan struct {
	Changes []ObjectChange `json:"changes"`
	// Unchanged counts the objects the file declares as they already are.
	Unchanged int           `json:"unchanged"`
	Profiles  []ProfilePlan `json:"profiles"`
	// Losing counts the distinct people who would lose access
	// (LosingAccess), in a summary too.
	Losing int `json:"losing"`
	// Summary is set on a plan asked for in summary (ApplyRequest.Summary):
	// its profiles' lists and Why are left out, and only their Counts say
	// what would happen; Names is empty.
	Summary bool `json:"summary,omitempty"`
	// Names holds the names of the users the profiles' plans list.
	Names map[string]string `json:"names,omitempty"`
}

// Change operations of an ObjectChange.
const (
	ChangeAdd    = "add"
	ChangeUpdate = "change"
)

// ObjectChange is one object a file adds or changes. Fields holds, for a
// change, each field that differs with its value before and after.
type ObjectChange struct {
	Kind   string                 `json:"kind"`
	ID     string                 `json:"id"`
	Op     string                 `json:"op"`
	Fields map[string]FieldChange `json:"fields"`
}

// FieldChange is one field's value before and after a change.
type FieldChange struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// ProfilePlan is what an apply would do to one profile's membership and
// the access it gives. When the safeguard would pause the profile's sync,
// Enroll and Unenroll are the plan it would stage for review, and nothing
// of it would be carried out.
type ProfilePlan struct {
	Profile  string          `json:"profile"`
	Enroll   []string        `json:"enroll"`
	Unenroll []string        `json:"unenroll"`
	Tasks    []PlannedTask   `json:"tasks"`
	Revoke   []PlannedRevoke `json:"revoke"`
	// Counts counts what the lists hold, in a summary too.
	Counts PlanCounts `json:"counts"`
	// Why says, for each user to be enrolled or unenrolled, why: "matches
	// the rule", "disabled", "excluded", "no longer matches …".
	Why map[string]string `json:"why,omitempty"`
	// Safeguard is the verdict of the profile's sync; nil when no sync of
	// the profile would run.
	Safeguard *SafeguardVerdict `json:"safeguard,omitempty"`
}

// PlanCounts counts a profile's plan: the people it would enroll and
// unenroll, the tasks it would create and the grants it would end.
type PlanCounts struct {
	Enroll   int `json:"enroll"`
	Unenroll int `json:"unenroll"`
	Tasks    int `json:"tasks"`
	Revoke   int `json:"revoke"`
}

// PlannedTask is a task an apply would create, as it would stand once the
// apply and its syncs are done: its state (done at once when nothing needs
// approving, cancelled when a sync that follows withdraws it) and the
// approvers it waits on.
type PlannedTask struct {
	Kind        TaskKind  `json:"kind"`
	User        string    `json:"user"`
	Entitlement string    `json:"entitlement"`
	Approvers   []string  `json:"approvers"`
	State       TaskState `json:"state"`
	Origin      Origin    `json:"origin"`
}

// PlannedRevoke is a grant an apply would start to take away.
type PlannedRevoke struct {
	User        string `json:"user"`
	Entitlement string `json:"entitlement"`
}

// Safeguard verdicts.
const (
	VerdictPass  = "pass"
	VerdictPause = "pause"
)

// SafeguardVerdict is what the safeguard would say of a profile's sync,
// with the figures PlanSync weighs: the removals the sync would make, the
// profile's members, and the removals automation made in the past hour.
type SafeguardVerdict struct {
	Verdict     string `json:"verdict"`
	WouldRemove int    `json:"would_remove"`
	Members     int    `json:"members"`
	Recent      int    `json:"recent"`
	// Reason explains a pause.
	Reason string `json:"reason,omitempty"`
}

// Profile returns the plan of profile id, or nil.
func (p *ChangePlan) Profile(id string) *ProfilePlan {
	for i := range p.Profiles {
		if p.Profiles[i].Profile == id {
			return &p.Profiles[i]
		}
	}
	return nil
}

// Paused reports whether the safeguard would pause the profile's sync.
func (p *ProfilePlan) Paused() bool {
	return p.Safeguard != nil && p.Safeguard.Verdict == VerdictPause
}

// LosingAccess lists the distinct people who would lose access: those to be
// unenrolled (by a sync that is not paused) and those whose grants would be
// revoked. Sorted.
func (p *ChangePlan) LosingAccess() []string {
	var users []string
	for _, pp := range p.Profiles {
		if !pp.Paused() {
			users = append(users, pp.Unenroll...)
		}
		for _, r := range pp.Revoke {
			users = append(users, r.User)
		}
	}
	slices.Sort(users)
	return slices.Compact(users)
}

// ConfirmOverError is the refusal of an apply that would take access from
// more people than the caller confirmed (roster apply --confirm-over N).
func ConfirmOverError(losing []string, limit int) error {
	shown := losing
	if len(shown) > 10 {
		shown = shown[:10]
	}
	more := ""
	if len(losing) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(losing)-len(shown))
	}
	return Errorf(ECONFLICT, "refused: this apply would take access from %d people (%v%s), more than --confirm-over %d allows; nothing was applied",
		len(losing), shown, more, limit)
}
