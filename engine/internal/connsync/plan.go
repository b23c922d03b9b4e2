// Package connsync plans a connector sync: given what a system reported (a
// connector.Snapshot) and what Roster holds of the connector's people,
// entitlements and grants, Plan decides which users to create, change and
// disable, which entitlements the system revealed, which grants to record
// and which were removed outside Roster, and whether the delete threshold
// holds the sync. Like roster.PlanSync it does no I/O: the engine reads the
// state into an Input, plans, and applies the Plan in one transaction.
package connsync

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/engine/internal/same"
)

// Input is what planning one sync of a connector needs.
type Input struct {
	// Connector is the connector as stored: its settings, and in its status
	// the entitlements it reported last and when it last synced.
	Connector *roster.Connector
	// Snapshot is what the system reported.
	Snapshot *connector.Snapshot
	// Users are every user Roster holds.
	Users []roster.User
	// Fed lists the users the connector fed before this sync; read only for
	// a source of people (Connector.Users).
	Fed []string
	// Entitlements holds which of EntitlementIDs exist already; Grants are
	// the grants of the connector's app. Both are read only when the sync
	// plans access (see PlansAccess).
	Entitlements map[string]bool
	Grants       []Grant
	// Started is when the system was read: a grant changed after it (by
	// provisioning while the system was read) is left alone. Now is when the
	// plan is applied, the time of what it creates and changes.
	Started, Now time.Time
	// Force carries out the sync whatever it removes: an admin resumed it.
	Force bool
}

// Grant is a grant of the connector's app as the planner sees it.
type Grant struct {
	Access
	UpdatedAt time.Time
}

// Access names a user's grant of an entitlement.
type Access struct {
	User, Entitlement string
}

// Plan is what a sync of a connector changes.
type Plan struct {
	// Result counts what the sync changes and lists what it skipped. When
	// the delete threshold holds the sync, Result.Held is set, Result.Reason
	// says why, and nothing is to be applied.
	Result *roster.ConnectorSyncResult
	// Users are the users to put, created or changed; Created and
	// StatusChanged say which were created and whose status changed.
	Users         []roster.User
	Created       map[string]bool
	StatusChanged map[string]bool
	// Fed lists the users the connector feeds after the sync, sorted; set
	// for a source of people.
	Fed []string
	// NewEntitlements are the entitlements the system revealed that Roster
	// lacks.
	NewEntitlements []roster.Entitlement
	// PlansAccess is set when the sync plans access; then Entitlements lists
	// the (app-local) ids of the entitlements the system reported, sorted,
	// which become the connector's status.
	PlansAccess  bool
	Entitlements []string
	// AddGrants and RemoveGrants are the grants the system reported that
	// Roster lacks, and those Roster holds that the system no longer
	// reports; both sorted.
	AddGrants, RemoveGrants []Access
	// ActiveFed and FedGrants are the active users the connector fed and the
	// grants of its app before this sync: what the delete threshold is a
	// share of.
	ActiveFed, FedGrants int
}

// maxSkipped bounds the list of items a sync reports it could not take in.
const maxSkipped = 20

func (pl *Plan) skip(what, why string) {
	if len(pl.Result.Skipped) < maxSkipped {
		pl.Result.Skipped = append(pl.Result.Skipped, roster.ConnectorSkippedItem{What: what, Why: why})
	}
}

// PlansAccess reports whether a sync of c reading snap plans access
// (entitlements and grants): not when neither the system nor c's last sync
// reported any, as for a source of people only, such as an HR feed.
func PlansAccess(c *roster.Connector, snap *connector.Snapshot) bool {
	return len(snap.Entitlements) > 0 || len(snap.Grants) > 0 || len(c.Status.Entitlements) > 0
}

// EntitlementIDs returns the ids of the entitlements of app that snap
// reports, each once, in the snapshot's order: the entitlements whose
// existence Input.Entitlements holds.
func EntitlementIDs(app string, snap *connector.Snapshot) []string {
	ids := make([]string, 0, len(snap.Entitlements))
	seen := map[string]bool{}
	for _, se := range snap.Entitlements {
		id := roster.EntitlementID(app, se.ID)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// PlanSnapshot computes what a sync applying in.Snapshot changes. It maps
// the system's accounts to users (by id or by email, as the connector says),
// plans the users of a source of people, the entitlements and grants of the
// connector's app, and holds a sync that would remove more than the delete
// threshold allows, unless it is the connector's first good sync or forced.
func PlanSnapshot(in Input) *Plan {
	c, snap := in.Connector, in.Snapshot
	pl := &Plan{Result: &roster.ConnectorSyncResult{Connector: c.ID}, Created: map[string]bool{}, StatusChanged: map[string]bool{}}
	byID := make(map[string]*roster.User, len(in.Users))
	byEmail := make(map[string]*roster.User, len(in.Users))
	for i := range in.Users {
		u := &in.Users[i]
		byID[u.ID] = u
		if u.Email != "" {
			byEmail[strings.ToLower(u.Email)] = u
		}
	}
	// Map accounts to user ids.
	accountUser := make(map[string]string, len(snap.Accounts))
	for _, a := range snap.Accounts {
		var uid string
		if c.MatchBy == connector.MatchByEmail {
			if u := byEmail[strings.ToLower(a.Email)]; u != nil && a.Email != "" {
				uid = u.ID
			} else if c.Users && a.Email != "" {
				uid = connector.UserID(a.ID)
				if u := byID[uid]; u != nil && !strings.EqualFold(u.Email, a.Email) {
					pl.skip("account "+a.ID, fmt.Sprintf("user %s exists with another email", uid))
					continue
				}
			}
		} else {
			uid = connector.UserID(a.ID)
			if !c.Users && byID[uid] == nil {
				uid = ""
			}
		}
		if uid == "" || uid == "-" {
			pl.Result.Unmatched++
			continue
		}
		if uid == roster.AdminUser {
			pl.skip("account "+a.ID, "the built-in admin is not fed by connectors")
			continue
		}
		accountUser[a.ID] = uid
	}
	if c.Users {
		pl.planUsers(in, byID, accountUser)
	}
	if PlansAccess(c, snap) {
		pl.planAccess(in, accountUser)
	}
	if !in.Force && c.Status.LastOKAt != nil {
		if why := pl.OverThreshold(c.DeleteThresholdPercent); why != "" {
			pl.Result.Held, pl.Result.Reason = true, why
		}
	}
	return pl
}

// planUsers plans the users a source of people creates, updates and disables.
func (pl *Plan) planUsers(in Input, byID map[string]*roster.User, accountUser map[string]string) {
	for _, id := range in.Fed {
		if u := byID[id]; u != nil && u.Active() {
			pl.ActiveFed++
		}
	}
	listed := map[string]bool{}
	for _, a := range in.Snapshot.Accounts {
		uid, ok := accountUser[a.ID]
		if !ok || listed[uid] {
			continue
		}
		listed[uid] = true
		want := roster.User{ID: uid, Email: a.Email, Name: a.Name, Department: a.Department, Title: a.Title,
			Location: a.Location, EmploymentType: a.EmploymentType, StartDate: a.StartDate, EndDate: a.EndDate,
			Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, Notify: roster.NotifyEmail, Attributes: a.Attributes}
		if a.Manager != "" {
			if m, ok := accountUser[a.Manager]; ok {
				want.Manager = m
			} else {
				want.Manager = connector.UserID(a.Manager)
			}
		}
		if a.Disabled {
			want.Status = roster.UserDisabled
		}
		if want.Name == "" {
			want.Name = uid
		}
		old := byID[uid]
		if old == nil {
			want.CreatedAt, want.UpdatedAt = in.Now, in.Now
			pl.Created[uid] = true
			pl.Users = append(pl.Users, want)
			pl.Result.Users.Added++
			continue
		}
		next := *old
		next.Email, next.Name, next.Manager, next.Department, next.Title, next.Status =
			want.Email, want.Name, want.Manager, want.Department, want.Title, want.Status
		next.Location, next.EmploymentType, next.StartDate, next.EndDate =
			want.Location, want.EmploymentType, want.StartDate, want.EndDate
		if len(want.Attributes) > 0 {
			next.Attributes = want.Attributes
		}
		if same.Content(*old, next) {
			continue
		}
		next.UpdatedAt = in.Now
		if old.Status != next.Status {
			pl.StatusChanged[uid] = true
			if next.Status == roster.UserDisabled {
				pl.Result.Users.Disabled++
			} else {
				pl.Result.Users.Changed++
			}
		} else {
			pl.Result.Users.Changed++
		}
		pl.Users = append(pl.Users, next)
	}
	for _, id := range in.Fed {
		u := byID[id]
		if listed[id] || u == nil || !u.Active() || id == roster.AdminUser {
			continue
		}
		next := *u
		next.Status, next.UpdatedAt = roster.UserDisabled, in.Now
		pl.StatusChanged[id] = true
		pl.Result.Users.Disabled++
		pl.Users = append(pl.Users, next)
	}
	pl.Fed = make([]string, 0, len(listed))
	for id := range listed {
		pl.Fed = append(pl.Fed, id)
	}
	slices.Sort(pl.Fed)
}

// planAccess plans the entitlements and grants of the connector's app.
func (pl *Plan) planAccess(in Input, accountUser map[string]string) {
	c := in.Connector
	pl.PlansAccess = true
	seen := map[string]bool{}
	for _, se := range in.Snapshot.Entitlements {
		id := roster.EntitlementID(c.App, se.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		pl.Entitlements = append(pl.Entitlements, se.ID)
		if in.Entitlements[id] {
			continue
		}
		d := c.EntitlementDefaults
		provisioners := d.Provisioners
		if provisioners == nil {
			provisioners = []string{}
		}
		pl.NewEntitlements = append(pl.NewEntitlements, roster.Entitlement{ID: id, App: c.App, Name: cmp.Or(se.Name, se.ID),
			RequestPolicy: d.RequestPolicy, RevokePolicy: d.RevokePolicy, Provisioning: cmp.Or(d.Provisioning, roster.ProvisionConnector),
			Provisioners: provisioners, Risk: cmp.Or(d.Risk, roster.RiskLow), CreatedAt: in.Now, UpdatedAt: in.Now})
		pl.Result.Entitlements.Added++
	}
	slices.Sort(pl.Entitlements)
	for _, local := range c.Status.Entitlements {
		if !seen[roster.EntitlementID(c.App, local)] {
			pl.Result.Entitlements.Removed++
		}
	}
	want := map[Access]bool{}
	for _, g := range in.Snapshot.Grants {
		uid, ok := accountUser[g.Account]
		ent := roster.EntitlementID(c.App, g.Entitlement)
		if !ok || !seen[ent] {
			continue
		}
		want[Access{uid, ent}] = true
	}
	have := make(map[Access]bool, len(in.Grants))
	for _, g := range in.Grants {
		have[g.Access] = true
		pl.FedGrants++
		if !want[g.Access] && !g.UpdatedAt.After(in.Started) {
			pl.RemoveGrants = append(pl.RemoveGrants, g.Access)
		}
	}
	for key := range want {
		if !have[key] {
			pl.AddGrants = append(pl.AddGrants, key)
		}
	}
	sortAccess(pl.AddGrants)
	sortAccess(pl.RemoveGrants)
	pl.Result.Grants.Added, pl.Result.Grants.Removed = len(pl.AddGrants), len(pl.RemoveGrants)
}

func sortAccess(xs []Access) {
	slices.SortFunc(xs, func(a, b Access) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Entitlement, b.Entitlement))
	})
}

// OverThreshold says why the plan removes more than limit percent of the
// active users or grants the connector feeds, or "". Disabled users are
// checked first.
func (pl *Plan) OverThreshold(limit int) string {
	over := func(removed, of int) bool { return of > 0 && removed*100 > limit*of }
	r := pl.Result
	if n := r.Users.Disabled; over(n, pl.ActiveFed) {
		return fmt.Sprintf("it would disable %d of the %d active users it feeds, more than the delete threshold of %d%%", n, pl.ActiveFed, limit)
	}
	if n := r.Grants.Removed; over(n, pl.FedGrants) {
		return fmt.Sprintf("it would remove %d of the %d grants it feeds, more than the delete threshold of %d%%", n, pl.FedGrants, limit)
	}
	return ""
}
