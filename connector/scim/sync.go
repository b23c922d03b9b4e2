package scim

import (
	"context"
	"fmt"
	"net/url"

	"github.com/rosterhq/roster/connector"
)

// Sync lists the provider's users and groups and reports them as accounts,
// entitlements and grants.
func (c *Connector) Sync(ctx context.Context) (*connector.Snapshot, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	users, err := c.listUsers(ctx, token, c.userFilter)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	groups, err := c.listGroups(ctx, token, c.groupFilter, false)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	c.remember(users, groups)

	snap := &connector.Snapshot{}
	keyOf := map[string]string{}   // SCIM id -> account key
	byUserID := map[string]*user{} // connector.UserID(key) -> user
	for i := range users {
		u := &users[i]
		k := c.key(u)
		if k == "" {
			c.log.Warn("scim user has no "+c.idAttribute+": skipped", "scim_id", u.ID, "userName", u.UserName)
			continue
		}
		if other, dup := byUserID[connector.UserID(k)]; dup {
			return nil, connector.Permanent(fmt.Errorf("scim: users %q (id %s) and %q (id %s) have keys that make the same Roster user id %q",
				c.key(other), other.ID, k, u.ID, connector.UserID(k)))
		}
		byUserID[connector.UserID(k)] = u
		keyOf[u.ID] = k
	}
	for i := range users {
		u := &users[i]
		k, ok := keyOf[u.ID]
		if !ok {
			continue
		}
		a := connector.Account{
			ID:             k,
			Email:          u.email(),
			Name:           u.DisplayName,
			Title:          u.Title,
			Location:       u.locality(),
			EmploymentType: u.UserType,
			Disabled:       u.Active.set && !u.Active.val,
			Attributes:     map[string]string{"scim_id": u.ID},
		}
		if a.Name == "" {
			a.Name = u.Name.Formatted
		}
		if u.UserName != "" {
			a.Attributes["userName"] = u.UserName
		}
		if u.ExternalID != "" {
			a.Attributes["externalId"] = u.ExternalID
		}
		if e := u.Enterprise; e != nil {
			a.Department = e.Department
			if e.Manager.Value != "" {
				a.Manager = keyOf[e.Manager.Value]
			}
		}
		snap.Accounts = append(snap.Accounts, a)
	}

	// Groups whose names make the same entitlement id: the one named
	// exactly that wins (Grant picks it too), else the first listed.
	chosen := map[string]int{} // entitlement id -> index in groups
	for i, g := range groups {
		if g.DisplayName == "" {
			c.log.Warn("scim group has no displayName: skipped", "scim_id", g.ID)
			continue
		}
		id := connector.EntitlementID(g.DisplayName)
		j, dup := chosen[id]
		if !dup || (g.DisplayName == id && groups[j].DisplayName != id) {
			chosen[id] = i
		}
		if dup {
			c.log.Warn("scim groups make the same entitlement id: only one is used",
				"entitlement", id, "used", groups[chosen[id]].DisplayName, "groups", []string{groups[j].DisplayName, g.DisplayName})
		}
	}
	for id, i := range chosen {
		g := &groups[i]
		snap.Entitlements = append(snap.Entitlements, connector.Entitlement{ID: id, Name: g.DisplayName})
		members := map[string]bool{}
		for _, m := range g.Members {
			k, ok := keyOf[m.Value]
			if !ok || members[k] || (m.Type != "" && m.Type != "User") {
				continue
			}
			members[k] = true
			snap.Grants = append(snap.Grants, connector.Grant{Account: k, Entitlement: id})
		}
	}
	connector.SortSnapshot(snap)
	return snap, nil
}

func (c *Connector) listUsers(ctx context.Context, token, filter string) ([]user, error) {
	return list(ctx, c, token, "/Users", filter, nil, func(u *user) string { return u.ID })
}

// listGroups lists groups, without their members when brief is set (for
// lookups, where the members are not needed and may be many).
func (c *Connector) listGroups(ctx context.Context, token, filter string, brief bool) ([]group, error) {
	var extra url.Values
	if brief {
		extra = url.Values{"excludedAttributes": {"members"}}
	}
	return list(ctx, c, token, "/Groups", filter, extra, func(g *group) string { return g.ID })
}
