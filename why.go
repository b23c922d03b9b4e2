package roster

// Explanation says why a user holds (or does not hold) one entitlement: the
// grant's sources, each profile involved with the part of its rule that
// matches, the tasks that granted or asked for it, and what would become of
// the access if each profile's rule stopped matching. `roster why USER
// APP/ENT` prints it; the console shows it on a user's page.
type Explanation struct {
	User        string `json:"user"`
	Entitlement string `json:"entitlement"`
	// Held reports whether the user holds the entitlement now; Sources are the
	// grant's sources when they do.
	Held    bool     `json:"held"`
	Sources []string `json:"sources"`
	// Direct reports a direct source: recorded by an admin, imported or seen
	// in a connector. It keeps the access whatever the profiles do.
	Direct bool `json:"direct"`
	// Profiles are the profiles that list the entitlement and that the user
	// is a member of, or that justify the grant.
	Profiles []ProfileReason `json:"profiles"`
	// Tasks are the tasks of the entitlement for the user and of the
	// enrollments in those profiles, newest first, with their history.
	Tasks []Task `json:"tasks"`
}

// ProfileReason is one profile's part in a user's access to an entitlement.
type ProfileReason struct {
	Profile string `json:"profile"`
	Name    string `json:"name"`
	// Member is the user's membership source ("automation" or "manual"), or
	// empty when they are not a member.
	Member MemberSource `json:"member,omitempty"`
	// Justifies reports that profile:P is among the grant's sources.
	Justifies bool `json:"justifies"`
	// Rule is how the profile's automation sees the user now; nil when its
	// automation is off.
	Rule *RuleReason `json:"rule,omitempty"`
	// IfRuleStops says what would happen to the access if the profile's rule
	// stopped matching the user.
	IfRuleStops string `json:"if_rule_stops"`
}

// RuleReason is how a profile's rule matches a user, part by part.
type RuleReason struct {
	Mode    string `json:"mode"`
	Matches bool   `json:"matches"`
	Active  bool   `json:"active"`
	// Excluded reports that the user is among the rule's excluded users.
	Excluded bool `json:"excluded"`
	// AnyEntitlement is the rule's entitlement condition, and Holds the ones
	// of them the user holds.
	AnyEntitlement []string `json:"any_entitlement,omitempty"`
	Holds          []string `json:"holds,omitempty"`
	// Expression is the rule's expression, if any; ExpressionTrue says
	// whether it is true for the user, and ExpressionError why it could not
	// be evaluated for them (then it counts as false).
	Expression      string `json:"expression,omitempty"`
	ExpressionTrue  bool   `json:"expression_true,omitempty"`
	ExpressionError string `json:"expression_error,omitempty"`
}
