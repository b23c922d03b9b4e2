package roster

// TaskView is a task with what a person needs to decide on it: who the
// subject is, what is asked by name and with its risk, what an enrollment
// gives, why the task exists, the subject's current access, and the names
// of the people the task mentions.
type TaskView struct {
	Task Task `json:"task"`
	// Subject is the person whose access the task changes; Manager is
	// their manager, when they have one.
	Subject Person  `json:"subject"`
	Manager *Person `json:"manager,omitempty"`
	// Asked is the entitlement the task grants or revokes.
	Asked EntitlementName `json:"asked"`
	// Risk is the highest risk of what the task asks: of its entitlement
	// and, for an enrollment, of every entitlement the profile gives.
	Risk string `json:"risk"`
	// ProfileName is the name of the task's profile, when it has one.
	ProfileName string `json:"profile_name,omitempty"`
	// Contents is set for a profile's enrollment or unenrollment (a task on
	// access-profiles/P): each entitlement the profile gives, and whether
	// the subject holds it already.
	Contents []ProfileContent `json:"contents,omitempty"`
	// Why says in words why the task exists, such as "matches the rule of
	// Engineering onboarding: holds okta/engineering".
	Why string `json:"why"`
	// Access is the subject's current access, with names. It is set only
	// for those who may read the subject's access (admins, auditors, the
	// subject and their manager) and for the task's current approvers and
	// provisioners; AccessShown says whether it was.
	Access      []GrantName `json:"access"`
	AccessShown bool        `json:"access_shown"`
	// People maps the id of everyone the task mentions — subject, manager,
	// requester, approvers, provisioners, fallbacks and those in its
	// history — to their name. Actors that are not users (automation,
	// system) are not in it.
	People map[string]string `json:"people"`
}

// Person is what a task's view says of a person.
type Person struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Email          string `json:"email,omitempty"`
	Title          string `json:"title,omitempty"`
	Department     string `json:"department,omitempty"`
	Location       string `json:"location,omitempty"`
	EmploymentType string `json:"employment_type,omitempty"`
	Manager        string `json:"manager,omitempty"`
	Status         string `json:"status"`
}

// PersonOf returns what a task's view says of u.
func PersonOf(u *User) Person {
	return Person{ID: u.ID, Name: u.Name, Email: u.Email, Title: u.Title, Department: u.Department, Location: u.Location,
		EmploymentType: u.EmploymentType, Manager: u.Manager, Status: u.Status}
}

// EntitlementName is an entitlement with the names people know it by.
type EntitlementName struct {
	// ID is "APP/ENT".
	ID string `json:"id"`
	// AppName and Name are the app's and the entitlement's names; for a
	// profile's built-in entitlement, AppName is the built-in app's and
	// Name the profile's ("Engineering onboarding") or its exclusion's.
	AppName string `json:"app_name"`
	Name    string `json:"name"`
	Risk    string `json:"risk"`
}

// ProfileContent is one entitlement a profile gives, and whether a task's
// subject holds it.
type ProfileContent struct {
	EntitlementName
	Held bool `json:"held"`
}

// GrantName is a grant with its entitlement's names.
type GrantName struct {
	Grant
	Names EntitlementName `json:"names"`
}

// riskOrder ranks risks; an unknown or empty risk ranks lowest.
var riskOrder = map[string]int{RiskLow: 1, RiskMedium: 2, RiskHigh: 3}

// HigherRisk returns the higher of two risks.
func HigherRisk(a, b string) string {
	if riskOrder[b] > riskOrder[a] {
		return b
	}
	return a
}
