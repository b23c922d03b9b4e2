package roster

import (
	"time"
)

// Connector states.
const (
	ConnectorActive = "active"
	// ConnectorHeld: the last sync would have removed more than the delete
	// threshold allows; it waits for an admin to resume it.
	ConnectorHeld = "held"
)

// DefaultDeleteThreshold is the share of a connector's users or grants (in
// percent) a sync may remove before it is held.
const DefaultDeleteThreshold = 20

// Connector is a configured connection to a system that holds access: it
// reads users, entitlements and grants from the system into its App, and
// carries out the grant and revoke tasks of the app's entitlements whose
// provisioning is "connector".
type Connector struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	App  string `json:"app"`
	// Users makes the connector a source of people: it creates and updates
	// users, and disables those it no longer lists or lists as disabled.
	Users bool `json:"users"`
	// MatchBy is how accounts map to users: "id" or "email".
	MatchBy      string   `json:"match_by"`
	SyncInterval Duration `json:"sync_interval"`
	// DeleteThresholdPercent: a sync removing more than this share of the
	// users or grants the connector feeds is held.
	DeleteThresholdPercent int                 `json:"delete_threshold_percent"`
	EntitlementDefaults    EntitlementDefaults `json:"entitlement_defaults"`
	// Settings are the type's settings; secrets appear only as the names of
	// environment variables or files.
	Settings map[string]any `json:"settings"`
	// Status is the connector's runtime state.
	Status    ConnectorStatus `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// EntitlementDefaults are the settings an entitlement a connector discovers
// (one not declared under apps) gets.
type EntitlementDefaults struct {
	RequestPolicy string   `json:"request_policy,omitempty"`
	RevokePolicy  string   `json:"revoke_policy,omitempty"`
	Provisioning  string   `json:"provisioning"`
	Provisioners  []string `json:"provisioners,omitempty"`
	Risk          string   `json:"risk"`
}

// ConnectorStatus is a connector's runtime state: its last run and, when a
// sync is held, what it would do.
type ConnectorStatus struct {
	State   string        `json:"state"`
	LastRun *ConnectorRun `json:"last_run,omitempty"`
	// Held is the outcome the held sync would have, in figures.
	Held     *ConnectorSyncResult `json:"held,omitempty"`
	HeldAt   *time.Time           `json:"held_at,omitempty"`
	HeldWhy  string               `json:"held_reason,omitempty"`
	LastOKAt *time.Time           `json:"last_success_at,omitempty"`
	// Entitlements are the local ids of the entitlements the last applied
	// sync saw, to tell which ones disappeared.
	Entitlements []string `json:"entitlements,omitempty"`
}

// ConnectorRun is one sync of a connector.
type ConnectorRun struct {
	At       time.Time            `json:"at"`
	Duration Duration             `json:"duration"`
	Error    string               `json:"error,omitempty"`
	Result   *ConnectorSyncResult `json:"result,omitempty"`
}

// ConnectorSyncResult is what one connector sync changed (or, held, would
// change), in figures.
type ConnectorSyncResult struct {
	Connector    string                 `json:"connector"`
	Users        ConnectorUserCounts    `json:"users"`
	Entitlements ConnectorChangeCounts  `json:"entitlements"`
	Grants       ConnectorChangeCounts  `json:"grants"`
	Held         bool                   `json:"held"`
	Reason       string                 `json:"reason,omitempty"`
	Unmatched    int                    `json:"unmatched_accounts,omitempty"`
	Skipped      []ConnectorSkippedItem `json:"skipped,omitempty"`
}

// Changed reports whether the sync changed (or, held, would change)
// anything.
func (r *ConnectorSyncResult) Changed() bool {
	return r.Users != (ConnectorUserCounts{}) || r.Entitlements != (ConnectorChangeCounts{}) || r.Grants != (ConnectorChangeCounts{})
}

// ConnectorSkippedItem is something a sync could not take in, and why.
type ConnectorSkippedItem struct {
	What string `json:"what"`
	Why  string `json:"why"`
}

// ConnectorUserCounts counts the users a sync added, changed and disabled.
type ConnectorUserCounts struct {
	Added    int `json:"added"`
	Changed  int `json:"changed"`
	Disabled int `json:"disabled"`
}

// ConnectorChangeCounts counts what a sync added and removed.
type ConnectorChangeCounts struct {
	Added   int `json:"added"`
	Removed int `json:"removed"`
}

// ProvisionAttempt records the connector attempts at a task in provisioning.
type ProvisionAttempt struct {
	Task      int64     `json:"task"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
}

// MapTimes replaces every time in the connector's status with f of it; the
// stores use it to keep times in UTC at microsecond precision.
func (c *Connector) MapTimes(f func(time.Time) time.Time) {
	st := &c.Status
	for _, p := range []**time.Time{&st.HeldAt, &st.LastOKAt} {
		if *p != nil {
			t := f(**p)
			*p = &t
		}
	}
	if st.LastRun != nil {
		r := *st.LastRun
		r.At = f(r.At)
		st.LastRun = &r
	}
}
