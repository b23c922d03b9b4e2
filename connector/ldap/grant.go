package ldap

import (
	"context"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/connector"
)

// Grant adds the subject's DN to the group's member attribute.
func (c *Connector) Grant(ctx context.Context, who connector.Subject, entitlement string) error {
	if c.groupBase == "" {
		return connector.Permanent(fmt.Errorf("ldap: granting %s: %w", entitlement, errNoGroups))
	}
	s, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer s.close()

	user, err := s.findAccount(who)
	if err != nil {
		return err
	}
	if user == "" {
		return connector.Permanent(fmt.Errorf("ldap: granting %s: %s %q under %s: %w",
			entitlement, who.MatchBy, who.Key(), c.userBase, connector.ErrNoAccount))
	}
	group, attr, err := s.findGroup(entitlement)
	if err != nil {
		return err
	}
	mod := goldap.NewModifyRequest(group, nil)
	mod.Add(attr, []string{user})
	err = s.conn.Modify(mod)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultAttributeOrValueExists) {
		return nil // already a member
	}
	if err != nil {
		return s.fail(err, "adding %s to %s of %s", user, attr, group)
	}
	return nil
}

// Revoke removes the subject's DN from the group's member attribute.
func (c *Connector) Revoke(ctx context.Context, who connector.Subject, entitlement string) error {
	if c.groupBase == "" {
		return connector.Permanent(fmt.Errorf("ldap: revoking %s: %w", entitlement, errNoGroups))
	}
	s, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer s.close()

	user, err := s.findAccount(who)
	if err != nil || user == "" {
		return err // no account: nothing to revoke
	}
	group, attr, err := s.findGroup(entitlement)
	if err != nil {
		return err
	}
	mod := goldap.NewModifyRequest(group, nil)
	mod.Delete(attr, []string{user})
	err = s.conn.Modify(mod)
	switch {
	case err == nil:
		return nil
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute):
		return nil // not a member
	case goldap.IsErrorWithCode(err, goldap.LDAPResultObjectClassViolation):
		return connector.Permanent(fmt.Errorf(
			"ldap: removing %s from %s of %s would leave the group without the member its schema requires (add another member or delete the group): %w",
			user, attr, group, err))
	}
	return s.fail(err, "removing %s from %s of %s", user, attr, group)
}

// findAccount returns the DN of the subject's entry among the people, or ""
// when there is none.
func (s *session) findAccount(who connector.Subject) (string, error) {
	c := s.c
	var attr string
	var match func(value string) bool
	var filter string
	switch who.MatchBy {
	case connector.MatchByID:
		attr = c.attrs.id
		want := connector.UserID(who.ID)
		match = func(v string) bool { return connector.UserID(v) == want }
		filter = likeFilter(attr, want)
	case connector.MatchByEmail:
		if c.attrs.email == "" {
			return "", connector.Permanent(fmt.Errorf("ldap: match_by email, but settings.user_attributes.email is empty"))
		}
		attr = c.attrs.email
		match = func(v string) bool { return strings.EqualFold(v, who.Email) }
		filter = "(" + attr + "=" + goldap.EscapeFilter(who.Email) + ")"
	default:
		return "", connector.Permanent(fmt.Errorf("ldap: unknown match_by %q (want id or email)", who.MatchBy))
	}
	if who.Key() == "" {
		return "", nil
	}

	find := func(filter string) ([]string, error) {
		entries, err := s.search(c.userBase, and(c.userFilter, filter), []string{attr})
		if err != nil {
			return nil, err
		}
		var dns []string
		for _, e := range entries {
			for _, v := range e.GetEqualFoldAttributeValues(attr) {
				if match(v) {
					dns = append(dns, e.DN)
					break
				}
			}
		}
		return dns, nil
	}
	dns, err := find(filter)
	if err == nil && len(dns) == 0 && who.MatchBy == connector.MatchByID {
		// The server matches by the attribute's own rules, which may be
		// stricter than Roster's (case-exact, or no substring matching):
		// compare every account's id here before saying there is none.
		dns, err = find("")
	}
	switch {
	case err != nil:
		return "", err
	case len(dns) > 1:
		return "", connector.Permanent(fmt.Errorf("ldap: %s %q matches %d entries under %s (%s); it must match one",
			who.MatchBy, who.Key(), len(dns), c.userBase, strings.Join(dns, "; ")))
	case len(dns) == 1:
		return dns[0], nil
	}
	return "", nil
}

// findGroup returns the DN of the group whose entitlement id is id, and the
// attribute that holds its members.
func (s *session) findGroup(id string) (dn, memberAttr string, err error) {
	c := s.c
	find := func(filter string) ([]*goldap.Entry, error) {
		entries, err := s.search(c.groupBase, and(c.groupFilter, filter), c.groupAttrs())
		if err != nil {
			return nil, err
		}
		var out []*goldap.Entry
		for _, e := range entries {
			if connector.EntitlementID(e.GetEqualFoldAttributeValue(c.groupIDAttr)) == id {
				out = append(out, e)
			}
		}
		return out, nil
	}
	groups, err := find(likeFilter(c.groupIDAttr, id))
	if err == nil && len(groups) == 0 {
		groups, err = find("")
	}
	switch {
	case err != nil:
		return "", "", err
	case len(groups) == 0:
		return "", "", connector.Permanent(fmt.Errorf("ldap: no group with %s %q under %s matching %s",
			c.groupIDAttr, id, c.groupBase, c.groupFilter))
	case len(groups) > 1:
		dns := make([]string, len(groups))
		for i, g := range groups {
			dns[i] = g.DN
		}
		return "", "", connector.Permanent(fmt.Errorf("ldap: entitlement %q matches %d groups under %s (%s); it must match one",
			id, len(groups), c.groupBase, strings.Join(dns, "; ")))
	}
	attr, _ := c.members(groups[0])
	return groups[0].DN, attr, nil
}

// likeFilter returns a filter for attr matching every value that Roster's id
// rules could have turned into id: each '-' in id may stand for any
// character that ids do not allow, so it becomes a wildcard.
func likeFilter(attr, id string) string {
	parts := strings.Split(id, "-")
	for i, p := range parts {
		parts[i] = goldap.EscapeFilter(p)
	}
	value := strings.Join(parts, "*")
	for strings.Contains(value, "**") {
		value = strings.ReplaceAll(value, "**", "*")
	}
	if value == "*" {
		return ""
	}
	return "(" + attr + "=" + value + ")"
}
