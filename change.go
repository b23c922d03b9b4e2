package roster

import (
	"time"
)

// ChangeState is where a change request stands.
type ChangeState string

const (
	// ChangePending waits for another admin.
	ChangePending ChangeState = "pending"
	// ChangeApplied was approved and applied.
	ChangeApplied ChangeState = "applied"
	// ChangeDenied was denied by another admin, or withdrawn by its author.
	ChangeDenied ChangeState = "denied"
)

// ChangeRequest is a change to governed configuration — settings, policies,
// profiles, connectors, webhooks — that an admin applied while
// settings.change_approval is on. It is not applied until another admin
// approves it; then it is planned and applied against the state of that
// moment.
type ChangeRequest struct {
	ID     int64       `json:"id"`
	State  ChangeState `json:"state"`
	Author string      `json:"author"`
	// AuthorToken and AuthorIssuer are the token the author applied with and
	// its issuer, who may not approve it either.
	AuthorToken  string `json:"author_token,omitempty"`
	AuthorIssuer string `json:"author_issuer,omitempty"`
	Filename     string `json:"filename"`
	// Document is the part of the file the request holds, as YAML: its
	// settings, policies, profiles, connectors and webhooks (or the whole
	// file, when its other parts refer to what these create).
	Document string `json:"document"`
	// Changes are the objects the request would add or change, as the dry
	// run of the request found them ("updated profile eng").
	Changes []string `json:"changes"`
	// Plan is what the request would do, planned as `roster plan` plans,
	// when it was requested.
	Plan *ChangePlan `json:"plan,omitempty"`
	// Moved is set at approval when the plan of that moment differs from
	// the one requested; ApprovedPlan is that plan.
	Moved        bool        `json:"moved,omitempty"`
	ApprovedPlan *ChangePlan `json:"approved_plan,omitempty"`
	Comment      string      `json:"comment,omitempty"`
	DecidedBy    string      `json:"decided_by,omitempty"`
	DecisionNote string      `json:"decision_comment,omitempty"`
	// Applied are the change lines of the apply at approval.
	Applied   []string   `json:"applied,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// ChangeFilter selects change requests; an empty State selects every state.
type ChangeFilter struct {
	State ChangeState `json:"state,omitempty"`
}
