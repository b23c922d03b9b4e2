package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/connector"
)

// Grant adds who's account to the group that is entitlement.
func (c *Connector) Grant(ctx context.Context, who connector.Subject, entitlement string) error {
	token, err := c.token()
	if err != nil {
		return err
	}
	u, err := c.findUser(ctx, token, who)
	if errors.Is(err, connector.ErrNoAccount) {
		return connector.Permanent(fmt.Errorf("granting %s: %w", entitlement, err))
	}
	if err != nil {
		return fmt.Errorf("granting %s: %w", entitlement, err)
	}
	g, err := c.findGroup(ctx, token, entitlement)
	if err != nil {
		return fmt.Errorf("granting %s to %s: %w", entitlement, c.key(u), err)
	}
	op := map[string]any{
		"op":    "add",
		"path":  "members",
		"value": []map[string]string{{"value": u.ID}},
	}
	if err := c.patchGroup(ctx, token, g.ID, op); err != nil {
		return fmt.Errorf("adding %s to group %q: %w", c.key(u), g.DisplayName, err)
	}
	c.log.Info("scim group member added", "group", g.DisplayName, "account", c.key(u))
	return nil
}

// Revoke removes who's account from the group that is entitlement. A
// subject without an account, or not in the group, is already revoked.
func (c *Connector) Revoke(ctx context.Context, who connector.Subject, entitlement string) error {
	token, err := c.token()
	if err != nil {
		return err
	}
	u, err := c.findUser(ctx, token, who)
	if errors.Is(err, connector.ErrNoAccount) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoking %s: %w", entitlement, err)
	}
	g, err := c.findGroup(ctx, token, entitlement)
	if err != nil {
		return fmt.Errorf("revoking %s from %s: %w", entitlement, c.key(u), err)
	}
	op := map[string]any{
		"op":   "remove",
		"path": "members[value eq " + quote(u.ID) + "]",
	}
	err = c.patchGroup(ctx, token, g.ID, op)
	if status, scimType := statusOf(err); status == http.StatusBadRequest && scimType == "noTarget" {
		// RFC 7644 section 3.5.2.2: the filter matched no member.
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing %s from group %q: %w", c.key(u), g.DisplayName, err)
	}
	c.log.Info("scim group member removed", "group", g.DisplayName, "account", c.key(u))
	return nil
}

func (c *Connector) patchGroup(ctx context.Context, token, id string, op map[string]any) error {
	body := map[string]any{
		"schemas":    []string{patchOpSchema},
		"Operations": []map[string]any{op},
	}
	return c.do(ctx, token, http.MethodPatch, "/Groups/"+url.PathEscape(id), nil, body, nil)
}

func noAccount(who connector.Subject) error {
	return fmt.Errorf("scim: no user with %s %q: %w", matchName(who), who.Key(), connector.ErrNoAccount)
}

func matchName(who connector.Subject) string {
	if who.MatchBy == connector.MatchByEmail {
		return "e-mail"
	}
	return "key"
}

// findUser returns who's account, or an error wrapping connector.ErrNoAccount
// when there is none. It first asks
// the provider with a filter (for each candidate key), then, when that finds
// nobody or the filter is refused, lists every user that user_filter selects.
// Either way the answer is checked here: the key through connector.UserID,
// the primary e-mail case-insensitively.
func (c *Connector) findUser(ctx context.Context, token string, who connector.Subject) (*user, error) {
	var (
		match   func(*user) bool
		filters []string
	)
	switch who.MatchBy {
	case connector.MatchByEmail:
		if who.Email == "" {
			return nil, noAccount(who)
		}
		match = func(u *user) bool { return strings.EqualFold(u.email(), who.Email) }
		filters = []string{"emails[value eq " + quote(who.Email) + "]"}
	case connector.MatchByID, "":
		if who.ID == "" {
			return nil, noAccount(who)
		}
		want := connector.UserID(who.ID)
		match = func(u *user) bool { k := c.key(u); return k != "" && connector.UserID(k) == want }
		filters = []string{c.idAttribute + " eq " + quote(who.ID)}
		if hint := c.hintKey(want); hint != "" && hint != who.ID {
			filters = append(filters, c.idAttribute+" eq "+quote(hint))
		}
	default:
		return nil, connector.Permanent(fmt.Errorf("scim: unknown match_by %q", who.MatchBy))
	}

	pick := func(users []user) (*user, error) {
		var found *user
		for i := range users {
			u := &users[i]
			if !match(u) {
				continue
			}
			if found != nil && found.ID != u.ID {
				return nil, connector.Permanent(fmt.Errorf("scim: %s %q matches two users, %q (id %s) and %q (id %s)",
					matchName(who), who.Key(), c.key(found), found.ID, c.key(u), u.ID))
			}
			found = u
		}
		if found == nil {
			return nil, noAccount(who)
		}
		return found, nil
	}

	for _, f := range filters {
		users, err := c.listUsers(ctx, token, and(c.userFilter, f))
		if status, _ := statusOf(err); status == http.StatusBadRequest {
			c.log.Debug("scim provider refused a user filter: listing all users", "filter", f, "error", err)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("looking up user: %w", err)
		}
		if u, err := pick(users); !errors.Is(err, connector.ErrNoAccount) {
			return u, err
		}
	}
	users, err := c.listUsers(ctx, token, c.userFilter)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	c.remember(users, nil)
	return pick(users)
}

// findGroup returns the group whose displayName is entitlement, or else the
// one whose displayName connector.EntitlementID makes entitlement. No such
// group is a permanent error.
func (c *Connector) findGroup(ctx context.Context, token, entitlement string) (*group, error) {
	filters := []string{"displayName eq " + quote(entitlement)}
	if hint := c.hintGroup(entitlement); hint != "" && hint != entitlement {
		filters = append(filters, "displayName eq "+quote(hint))
	}
	pick := func(groups []group) (*group, error) {
		var found []*group
		for i := range groups {
			g := &groups[i]
			if g.DisplayName == entitlement {
				return g, nil
			}
			if connector.EntitlementID(g.DisplayName) == entitlement {
				found = append(found, g)
			}
		}
		switch len(found) {
		case 0:
			return nil, nil
		case 1:
			return found[0], nil
		}
		return nil, connector.Permanent(fmt.Errorf("scim: groups %q (id %s) and %q (id %s) both make entitlement %q",
			found[0].DisplayName, found[0].ID, found[1].DisplayName, found[1].ID, entitlement))
	}
	for _, f := range filters {
		groups, err := c.listGroups(ctx, token, and(c.groupFilter, f), true)
		if status, _ := statusOf(err); status == http.StatusBadRequest {
			c.log.Debug("scim provider refused a group filter: listing all groups", "filter", f, "error", err)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("looking up group %s: %w", entitlement, err)
		}
		if g, err := pick(groups); g != nil || err != nil {
			return g, err
		}
	}
	groups, err := c.listGroups(ctx, token, c.groupFilter, true)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	c.remember(nil, groups)
	g, err := pick(groups)
	if err == nil && g == nil {
		err = connector.Permanent(fmt.Errorf("scim: no group is entitlement %q (no displayName makes that id among the groups group_filter selects)", entitlement))
	}
	return g, err
}
