package connsync

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
)

var (
	started = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	now     = started.Add(time.Minute)
	lastOK  = started.Add(-time.Hour)
)

func user(id, email string, status string) roster.User {
	return roster.User{ID: id, Email: email, Name: id, Status: status, Role: roster.RoleUser, CreatedAt: lastOK, UpdatedAt: lastOK}
}

func grant(user, ent string, updated time.Time) Grant {
	return Grant{Access: Access{user, ent}, UpdatedAt: updated}
}

// outcome is what a plan decides, in a form a table can spell.
type outcome struct {
	Users         []string // ids of the users to put, in order
	Created       []string
	StatusChanged []string
	Fed           []string
	NewEnts       []string
	PlansAccess   bool
	Entitlements  []string
	Add, Remove   []Access
	Result        roster.ConnectorSyncResult
}

func outcomeOf(pl *Plan) outcome {
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	o := outcome{Created: keys(pl.Created), StatusChanged: keys(pl.StatusChanged), Fed: pl.Fed, PlansAccess: pl.PlansAccess,
		Entitlements: pl.Entitlements, Add: pl.AddGrants, Remove: pl.RemoveGrants, Result: *pl.Result}
	for _, u := range pl.Users {
		o.Users = append(o.Users, u.ID)
	}
	for _, e := range pl.NewEntitlements {
		o.NewEnts = append(o.NewEnts, e.ID)
	}
	return o
}

// TestPlanSnapshot plans connector syncs from tables: what the system
// reports, what Roster holds, and what the plan must decide.
func TestPlanSnapshot(t *testing.T) {
	people := func(c *roster.Connector) { c.Users = true }
	byEmail := func(c *roster.Connector) { c.MatchBy = connector.MatchByEmail }
	synced := func(c *roster.Connector) { c.Status.LastOKAt = &lastOK }
	holdsEnts := func(ents ...string) func(*roster.Connector) {
		return func(c *roster.Connector) { c.Status.Entitlements = ents }
	}
	ents := func(ids ...string) []connector.Entitlement {
		var out []connector.Entitlement
		for _, id := range ids {
			out = append(out, connector.Entitlement{ID: id})
		}
		return out
	}
	tenGrants := func() []Grant {
		var gs []Grant
		for i := range 10 {
			gs = append(gs, grant(string(rune('a'+i)), "gh/e1", lastOK))
		}
		return gs
	}
	tenAccounts := func(n int) []connector.Account {
		var as []connector.Account
		for i := range n {
			as = append(as, connector.Account{ID: string(rune('a' + i))})
		}
		return as
	}
	tenUsers := func() []roster.User {
		var us []roster.User
		for i := range 10 {
			us = append(us, user(string(rune('a'+i)), "", roster.UserActive))
		}
		return us
	}
	tenFed := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	grantsOf := func(n int) []connector.Grant {
		var gs []connector.Grant
		for i := range n {
			gs = append(gs, connector.Grant{Account: string(rune('a' + i)), Entitlement: "e1"})
		}
		return gs
	}

	tests := []struct {
		name      string
		connector []func(*roster.Connector)
		snap      connector.Snapshot
		users     []roster.User
		fed       []string
		existing  []string
		grants    []Grant
		force     bool
		want      outcome
	}{
		{
			name:      "an empty snapshot of a connector never synced changes nothing",
			connector: []func(*roster.Connector){people},
			want:      outcome{Fed: []string{}, Result: roster.ConnectorSyncResult{Connector: "c"}},
		},
		{
			name:      "new users are created, the admin and unmatched accounts are not",
			connector: []func(*roster.Connector){people},
			snap: connector.Snapshot{Accounts: []connector.Account{
				{ID: "bob", Name: "Bob"}, {ID: "amy"}, {ID: "admin"}, {ID: "amy"},
			}},
			want: outcome{Users: []string{"bob", "amy"}, Created: []string{"amy", "bob"}, Fed: []string{"amy", "bob"},
				Result: roster.ConnectorSyncResult{Connector: "c", Users: roster.ConnectorUserCounts{Added: 2},
					Skipped: []roster.ConnectorSkippedItem{{What: "account admin", Why: "the built-in admin is not fed by connectors"}}}},
		},
		{
			name:      "changed users: a new name, a status back to active, one disabled by the system; an unchanged one is left",
			connector: []func(*roster.Connector){people},
			snap: connector.Snapshot{Accounts: []connector.Account{
				{ID: "amy", Name: "Amy Smith"}, {ID: "bob"}, {ID: "cat", Disabled: true}, {ID: "dan"},
			}},
			users: []roster.User{user("amy", "", roster.UserActive), user("bob", "", roster.UserDisabled), user("cat", "", roster.UserActive), user("dan", "", roster.UserActive)},
			fed:   []string{"amy", "bob", "cat", "dan"},
			want: outcome{Users: []string{"amy", "bob", "cat"}, StatusChanged: []string{"bob", "cat"}, Fed: []string{"amy", "bob", "cat", "dan"},
				Result: roster.ConnectorSyncResult{Connector: "c", Users: roster.ConnectorUserCounts{Changed: 2, Disabled: 1}}},
		},
		{
			name:      "users the system no longer lists are disabled, unless already disabled or gone",
			connector: []func(*roster.Connector){people},
			snap:      connector.Snapshot{Accounts: []connector.Account{{ID: "amy"}}},
			users:     []roster.User{user("amy", "", roster.UserActive), user("bob", "", roster.UserActive), user("cat", "", roster.UserDisabled)},
			fed:       []string{"amy", "bob", "cat", "gone"},
			want: outcome{Users: []string{"bob"}, StatusChanged: []string{"bob"}, Fed: []string{"amy"},
				Result: roster.ConnectorSyncResult{Connector: "c", Users: roster.ConnectorUserCounts{Disabled: 1}}},
		},
		{
			name:      "match by email: case aside, another email refused, no email unmatched",
			connector: []func(*roster.Connector){people, byEmail},
			snap: connector.Snapshot{Accounts: []connector.Account{
				{ID: "a1", Email: "AMY@example.com"}, {ID: "bob", Email: "robert@example.com"}, {ID: "x"},
			}},
			users: []roster.User{user("amy", "amy@example.com", roster.UserActive), user("bob", "bob@example.com", roster.UserActive)},
			want: outcome{Users: []string{"amy"}, Fed: []string{"amy"},
				Result: roster.ConnectorSyncResult{Connector: "c", Users: roster.ConnectorUserCounts{Changed: 1}, Unmatched: 1,
					Skipped: []roster.ConnectorSkippedItem{{What: "account bob", Why: "user bob exists with another email"}}}},
		},
		{
			name:     "new entitlements are discovered, known ones kept, and one no longer reported is counted",
			snap:     connector.Snapshot{Entitlements: ents("e2", "e1", "e2", "e3")},
			existing: []string{"gh/e1"},
			connector: []func(*roster.Connector){
				holdsEnts("e1", "old"),
			},
			want: outcome{NewEnts: []string{"gh/e2", "gh/e3"}, PlansAccess: true, Entitlements: []string{"e1", "e2", "e3"},
				Result: roster.ConnectorSyncResult{Connector: "c", Entitlements: roster.ConnectorChangeCounts{Added: 2, Removed: 1}}},
		},
		{
			name: "grants the system reports are added, of matched accounts and reported entitlements only",
			snap: connector.Snapshot{Accounts: []connector.Account{{ID: "amy"}, {ID: "bob"}, {ID: "cat"}, {ID: "nobody"}}, Entitlements: ents("e1"), Grants: []connector.Grant{
				{Account: "bob", Entitlement: "e1"}, {Account: "amy", Entitlement: "e1"}, {Account: "amy", Entitlement: "e9"},
				{Account: "nobody", Entitlement: "e1"}, {Account: "cat", Entitlement: "e1"},
			}},
			users:    []roster.User{user("amy", "", roster.UserActive), user("bob", "", roster.UserActive), user("cat", "", roster.UserActive)},
			existing: []string{"gh/e1"},
			grants:   []Grant{grant("cat", "gh/e1", lastOK)},
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Add: []Access{{"amy", "gh/e1"}, {"bob", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Added: 2}, Unmatched: 1}},
		},
		{
			name:     "grants removed outside Roster are removed, but not one provisioned while the system was read",
			snap:     connector.Snapshot{Accounts: []connector.Account{{ID: "amy"}}, Entitlements: ents("e1"), Grants: []connector.Grant{{Account: "amy", Entitlement: "e1"}}},
			users:    []roster.User{user("amy", "", roster.UserActive), user("bob", "", roster.UserActive), user("cat", "", roster.UserActive)},
			existing: []string{"gh/e1"},
			grants:   []Grant{grant("amy", "gh/e1", lastOK), grant("bob", "gh/e1", started), grant("cat", "gh/e1", started.Add(time.Second))},
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Remove: []Access{{"bob", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Removed: 1}}},
		},
		{
			name:      "removing exactly the threshold's share of grants is not held",
			connector: []func(*roster.Connector){synced},
			snap:      connector.Snapshot{Accounts: tenAccounts(10), Entitlements: ents("e1"), Grants: grantsOf(8)},
			users:     tenUsers(),
			existing:  []string{"gh/e1"},
			grants:    tenGrants(),
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Remove: []Access{{"i", "gh/e1"}, {"j", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Removed: 2}}},
		},
		{
			name:      "one grant more is held",
			connector: []func(*roster.Connector){synced},
			snap:      connector.Snapshot{Accounts: tenAccounts(10), Entitlements: ents("e1"), Grants: grantsOf(7)},
			users:     tenUsers(),
			existing:  []string{"gh/e1"},
			grants:    tenGrants(),
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Remove: []Access{{"h", "gh/e1"}, {"i", "gh/e1"}, {"j", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Removed: 3}, Held: true,
					Reason: "it would remove 3 of the 10 grants it feeds, more than the delete threshold of 20%"}},
		},
		{
			name:      "a forced sync is not held",
			connector: []func(*roster.Connector){synced},
			snap:      connector.Snapshot{Accounts: tenAccounts(10), Entitlements: ents("e1"), Grants: grantsOf(7)},
			users:     tenUsers(),
			existing:  []string{"gh/e1"},
			grants:    tenGrants(),
			force:     true,
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Remove: []Access{{"h", "gh/e1"}, {"i", "gh/e1"}, {"j", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Removed: 3}}},
		},
		{
			name:     "a first sync is not held",
			snap:     connector.Snapshot{Accounts: tenAccounts(10), Entitlements: ents("e1")},
			users:    tenUsers(),
			existing: []string{"gh/e1"},
			grants:   tenGrants()[:3],
			want: outcome{PlansAccess: true, Entitlements: []string{"e1"}, Remove: []Access{{"a", "gh/e1"}, {"b", "gh/e1"}, {"c", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Grants: roster.ConnectorChangeCounts{Removed: 3}}},
		},
		{
			name:      "an empty snapshot of a synced source of people disables everyone it fed, and is held",
			connector: []func(*roster.Connector){people, synced},
			users:     tenUsers(),
			fed:       tenFed,
			want: outcome{Users: tenFed, StatusChanged: tenFed, Fed: []string{},
				Result: roster.ConnectorSyncResult{Connector: "c", Users: roster.ConnectorUserCounts{Disabled: 10}, Held: true,
					Reason: "it would disable 10 of the 10 active users it feeds, more than the delete threshold of 20%"}},
		},
		{
			name:      "an empty snapshot of a synced connector of access removes every grant and entitlement, and is held",
			connector: []func(*roster.Connector){synced, holdsEnts("e1")},
			users:     tenUsers(),
			grants:    tenGrants()[:1],
			want: outcome{PlansAccess: true, Remove: []Access{{"a", "gh/e1"}},
				Result: roster.ConnectorSyncResult{Connector: "c", Entitlements: roster.ConnectorChangeCounts{Removed: 1}, Grants: roster.ConnectorChangeCounts{Removed: 1}, Held: true,
					Reason: "it would remove 1 of the 1 grants it feeds, more than the delete threshold of 20%"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &roster.Connector{ID: "c", Type: "csv", App: "gh", MatchBy: connector.MatchByID, DeleteThresholdPercent: 20,
				EntitlementDefaults: roster.EntitlementDefaults{RequestPolicy: "auto"}}
			for _, f := range tt.connector {
				f(c)
			}
			in := Input{Connector: c, Snapshot: &tt.snap, Users: tt.users, Fed: tt.fed, Grants: tt.grants, Started: started, Now: now, Force: tt.force}
			if PlansAccess(c, &tt.snap) {
				in.Entitlements = map[string]bool{}
				for _, id := range EntitlementIDs(c.App, &tt.snap) {
					in.Entitlements[id] = slices.Contains(tt.existing, id)
				}
			}
			pl := PlanSnapshot(in)
			if got := outcomeOf(pl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, tt.want)
			}
			// Planning changes nothing it was given.
			if tt.users != nil && !reflect.DeepEqual(in.Users, tt.users) {
				t.Errorf("the plan changed its input's users")
			}
		})
	}
}

// TestPlanSnapshotObjects checks the users and entitlements a plan writes:
// their fields, and their times.
func TestPlanSnapshotObjects(t *testing.T) {
	c := &roster.Connector{ID: "hr", App: "hr", Users: true, MatchBy: connector.MatchByID,
		EntitlementDefaults: roster.EntitlementDefaults{RevokePolicy: "manager", Risk: roster.RiskHigh}}
	old := user("amy", "amy@example.com", roster.UserActive)
	old.Attributes = map[string]string{"site": "lyon"}
	in := Input{Connector: c, Users: []roster.User{old}, Fed: []string{"amy"}, Started: started, Now: now, Snapshot: &connector.Snapshot{
		Accounts: []connector.Account{
			{ID: "amy", Email: "amy@example.com", Name: "amy", Manager: "b1", Title: "CTO"},
			{ID: "b1", Email: "bob@example.com", Name: "Bob", Department: "Sales", Manager: "zed", Attributes: map[string]string{"site": "oslo"}},
		},
		Entitlements: []connector.Entitlement{{ID: "staff", Name: "Staff"}, {ID: "vpn"}},
	}}
	in.Entitlements = map[string]bool{}
	pl := PlanSnapshot(in)
	amy := old
	amy.Manager, amy.Title, amy.UpdatedAt = "b1", "CTO", now
	bob := roster.User{ID: "b1", Email: "bob@example.com", Name: "Bob", Department: "Sales", Manager: "zed", Status: roster.UserActive, Kind: roster.UserPerson,
		Role: roster.RoleUser, Notify: roster.NotifyEmail, Attributes: map[string]string{"site": "oslo"}, CreatedAt: now, UpdatedAt: now}
	if want := []roster.User{amy, bob}; !reflect.DeepEqual(pl.Users, want) {
		t.Errorf("users\n got %+v\nwant %+v", pl.Users, want)
	}
	want := []roster.Entitlement{
		{ID: "hr/staff", App: "hr", Name: "Staff", RevokePolicy: "manager", Provisioning: roster.ProvisionConnector, Provisioners: []string{}, Risk: roster.RiskHigh, CreatedAt: now, UpdatedAt: now},
		{ID: "hr/vpn", App: "hr", Name: "vpn", RevokePolicy: "manager", Provisioning: roster.ProvisionConnector, Provisioners: []string{}, Risk: roster.RiskHigh, CreatedAt: now, UpdatedAt: now},
	}
	if !reflect.DeepEqual(pl.NewEntitlements, want) {
		t.Errorf("entitlements\n got %+v\nwant %+v", pl.NewEntitlements, want)
	}
}

// TestDeleteThreshold checks the edges of the delete threshold.
func TestDeleteThreshold(t *testing.T) {
	for _, tc := range []struct {
		name              string
		activeFed, grants int
		disabled, removed int
		limit             int
		want              string
	}{
		{"nothing removed", 10, 100, 0, 0, 20, ""},
		{"exactly the limit is allowed", 10, 100, 2, 20, 20, ""},
		{"one user over", 10, 100, 3, 0, 20, "disable 3 of the 10 active users"},
		{"grants over", 10, 100, 0, 21, 20, "remove 21 of the 100 grants"},
		{"users checked first", 10, 100, 5, 50, 20, "disable 5 of the 10"},
		{"nothing fed yet", 0, 0, 3, 4, 20, ""},
		{"zero tolerates nothing", 10, 100, 0, 1, 0, "remove 1 of the 100 grants"},
		{"100 tolerates everything", 10, 100, 10, 100, 100, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := &Plan{Result: &roster.ConnectorSyncResult{}, ActiveFed: tc.activeFed, FedGrants: tc.grants}
			pl.Result.Users.Disabled, pl.Result.Grants.Removed = tc.disabled, tc.removed
			got := pl.OverThreshold(tc.limit)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("OverThreshold(%d) = %q, want %q", tc.limit, got, tc.want)
			}
		})
	}
}
