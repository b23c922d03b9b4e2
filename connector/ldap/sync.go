package ldap

import (
	"context"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/connector"
)

// Sync reads the people under user_base_dn and the groups under
// group_base_dn with their members.
func (c *Connector) Sync(ctx context.Context) (*connector.Snapshot, error) {
	s, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()

	entries, err := s.search(c.userBase, c.userFilter, c.attrs.list())
	if err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	if c.disabledFilter != "" {
		off, err := s.search(c.userBase, and(c.userFilter, c.disabledFilter), nil)
		if err != nil {
			return nil, err
		}
		for _, e := range off {
			disabled[dnKey(e.DN)] = true
		}
	}

	// Entries in DN order, so that which of two entries with the same id is
	// kept does not depend on the server's order.
	slices.SortFunc(entries, func(a, b *goldap.Entry) int { return strings.Compare(dnKey(a.DN), dnKey(b.DN)) })
	byDN := map[string]string{} // dnKey -> account id
	seen := map[string]string{} // account id -> DN
	var kept []*goldap.Entry
	for _, e := range entries {
		id := e.GetAttributeValue(c.attrs.id)
		if id == "" {
			c.log.Warn("ldap: skipping an entry without the id attribute", "dn", e.DN, "attribute", c.attrs.id)
			continue
		}
		if other, dup := seen[id]; dup {
			c.log.Warn("ldap: skipping an entry whose id another entry has", "dn", e.DN, "id", id, "kept", other)
			continue
		}
		seen[id] = e.DN
		byDN[dnKey(e.DN)] = id
		kept = append(kept, e)
	}

	snap := &connector.Snapshot{}
	for _, e := range kept {
		snap.Accounts = append(snap.Accounts, connector.Account{
			ID:             e.GetAttributeValue(c.attrs.id),
			Email:          c.value(e, c.attrs.email),
			Name:           c.value(e, c.attrs.name),
			Department:     c.value(e, c.attrs.department),
			Title:          c.value(e, c.attrs.title),
			Location:       c.value(e, c.attrs.location),
			EmploymentType: c.value(e, c.attrs.employmentType),
			Manager:        c.manager(e, byDN),
			Disabled:       disabled[dnKey(e.DN)],
			Attributes:     map[string]string{"dn": e.DN},
		})
	}

	if c.groupBase != "" {
		if err := c.syncGroups(s, byDN, snap); err != nil {
			return nil, err
		}
	}
	connector.SortSnapshot(snap)
	return snap, nil
}

func (c *Connector) value(e *goldap.Entry, attr string) string {
	if attr == "" {
		return ""
	}
	return e.GetAttributeValue(attr)
}

// manager resolves the manager attribute, a DN, to that person's id.
func (c *Connector) manager(e *goldap.Entry, byDN map[string]string) string {
	v := c.value(e, c.attrs.manager)
	if v == "" {
		return ""
	}
	key := dnKey(v)
	if key == "" {
		return v // not a DN: taken to be the manager's id
	}
	if id, ok := byDN[key]; ok {
		return id
	}
	c.log.Debug("ldap: manager is not one of the people", "dn", e.DN, "manager", v)
	return ""
}

// groupAttrs lists the attributes read from each group.
func (c *Connector) groupAttrs() []string {
	attrs := []string{c.groupIDAttr, "description", "objectClass"}
	if c.memberAttr != "" {
		return append(attrs, c.memberAttr)
	}
	return append(attrs, "member", "uniqueMember")
}

// members returns a group's member DNs and the attribute that holds them.
func (c *Connector) members(g *goldap.Entry) (attr string, dns []string) {
	attr = c.memberAttr
	if attr == "" {
		attr = "member"
		for _, oc := range g.GetAttributeValues("objectClass") {
			if strings.EqualFold(oc, "groupOfUniqueNames") {
				attr = "uniqueMember"
			}
		}
	}
	return attr, g.GetEqualFoldAttributeValues(attr)
}

func (c *Connector) syncGroups(s *session, byDN map[string]string, snap *connector.Snapshot) error {
	groups, err := s.search(c.groupBase, c.groupFilter, c.groupAttrs())
	if err != nil {
		return err
	}
	slices.SortFunc(groups, func(a, b *goldap.Entry) int { return strings.Compare(dnKey(a.DN), dnKey(b.DN)) })
	seen := map[string]string{} // entitlement id -> DN
	for _, g := range groups {
		name := g.GetEqualFoldAttributeValue(c.groupIDAttr)
		if name == "" {
			c.log.Warn("ldap: skipping a group without the group id attribute", "dn", g.DN, "attribute", c.groupIDAttr)
			continue
		}
		id := connector.EntitlementID(name)
		if other, dup := seen[id]; dup {
			c.log.Warn("ldap: skipping a group whose entitlement id another group has", "dn", g.DN, "entitlement", id, "kept", other)
			continue
		}
		seen[id] = g.DN
		display := g.GetAttributeValue("description")
		if display == "" {
			display = name
		}
		snap.Entitlements = append(snap.Entitlements, connector.Entitlement{ID: id, Name: display})

		_, dns := c.members(g)
		granted := map[string]bool{}
		for _, dn := range dns {
			account, ok := byDN[dnKey(dn)]
			if !ok || granted[account] {
				continue // not one of the people (or listed twice)
			}
			granted[account] = true
			snap.Grants = append(snap.Grants, connector.Grant{Account: account, Entitlement: id})
		}
	}
	return nil
}
