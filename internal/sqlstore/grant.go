package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// GrantColumns are the columns GrantArgs returns the values of, in order.
const GrantColumns = `user_id, entitlement_id, app, sources, created_at, updated_at`

var grantUpsert = upsert("grants", 2, GrantColumns)

const grantColumns = `user_id, entitlement_id, sources, created_at, updated_at`

// scanGrant scans a row of grantColumns.
func scanGrant(r Row) (roster.Grant, error) {
	var v struct {
		g            roster.Grant
		sources      []byte
		created, upd timeDest
	}
	if err := r.Scan(&v.g.User, &v.g.Entitlement, &v.sources, &v.created, &v.upd); err != nil {
		return v.g, err
	}
	v.g.CreatedAt, v.g.UpdatedAt = v.created.T, v.upd.T
	return v.g, decJSON("grant sources", v.sources, &v.g.Sources)
}

// grantApp returns the app part of an "APP/ENT" entitlement id.
func grantApp(entitlement string) string {
	app, _, ok := strings.Cut(entitlement, "/")
	if !ok {
		return ""
	}
	return app
}

// GrantArgs returns the values of GrantColumns for g. Its sources are
// stored sorted and without duplicates.
func GrantArgs(d Dialect, g *roster.Grant) ([]any, error) {
	var sources []string
	if g.Sources != nil {
		sources = append([]string{}, g.Sources...)
		slices.Sort(sources)
		sources = slices.Compact(sources)
	}
	e := encoder{d: d}
	args := []any{g.User, g.Entitlement, grantApp(g.Entitlement), e.json(sources),
		e.time(g.CreatedAt), e.time(g.UpdatedAt)}
	return args, e.err
}

// Grant returns the grant of an entitlement to a user.
func (t *Tx) Grant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	g, err := one(ctx, t, scanGrant,
		roster.Errorf(roster.ENOTFOUND, "grant of %q to user %q not found", entitlement, user),
		`SELECT `+grantColumns+` FROM grants WHERE user_id = ? AND entitlement_id = ?`, user, entitlement)
	if failed(err) {
		return nil, fmt.Errorf("grant of %q to %q: %w", entitlement, user, err)
	}
	return g, err
}

// Grants returns one page of grants, ordered by (user, entitlement); those
// of an app, for any user, by (entitlement, user).
//
// An app's grants are those whose entitlement ids start with the app's id
// and a slash (an app's id has none): a range of the entitlement index,
// which both stores compare bytewise. No index orders an app's grants by
// user: one did, and every grant written moved an entry at random in it,
// an eighth of a large sync's index writes.
func (t *Tx) Grants(ctx context.Context, f roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	var w where
	w.eq("user_id", f.User)
	w.eq("entitlement_id", f.Entitlement)
	if f.App != "" {
		if strings.Contains(f.App, "/") {
			w.add("1 = 0") // no app's id has a slash
		}
		w.add("entitlement_id >= ? AND entitlement_id < ?", f.App+"/", f.App+"0") // '0' follows '/'
	}
	order := "user_id, entitlement_id"
	byEntitlement := f.App != "" && f.User == ""
	if byEntitlement {
		order = "entitlement_id, user_id"
	}
	if f.Cursor != "" {
		var k grantKey
		if err := t.D.DecodeCursor(f.Cursor, &k); err != nil || k.User == nil || k.Entitlement == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		// A row value: both databases range over the index with it.
		if byEntitlement {
			w.add("(entitlement_id, user_id) > (?, ?)", *k.Entitlement, *k.User)
		} else {
			w.add("(user_id, entitlement_id) > (?, ?)", *k.User, *k.Entitlement)
		}
	}
	p, err := page(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants`, &w, order, f.Limit,
		func(g *roster.Grant) any { return grantKey{User: &g.User, Entitlement: &g.Entitlement} })
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	return p, nil
}

// UserGrants returns every grant of one user, ordered by entitlement.
func (t *Tx) UserGrants(ctx context.Context, user string) ([]roster.Grant, error) {
	gs, err := List(ctx, t.Q, scanGrant,
		`SELECT `+grantColumns+` FROM grants WHERE user_id = ? ORDER BY entitlement_id`, user)
	if err != nil {
		return nil, fmt.Errorf("grants of %q: %w", user, err)
	}
	return gs, nil
}

// GrantsOf returns every grant of any of users. The users travel as one
// argument.
func (t *Tx) GrantsOf(ctx context.Context, users []string) ([]roster.Grant, error) {
	gs, err := listIn(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE `+t.D.In("user_id"), users)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// GrantsAmong returns the grants any of users holds of any of entitlements.
// Both lists travel as one argument each and meet the primary key.
func (t *Tx) GrantsAmong(ctx context.Context, users, entitlements []string) ([]roster.Grant, error) {
	gs, err := listIn(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants
		WHERE `+t.D.In("user_id")+` AND `+t.D.In("entitlement_id"), users, entitlements)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// Holders returns the distinct ids of the users holding any of the
// entitlements, ordered. The entitlements travel as one argument, so the list
// may be of any length.
func (t *Tx) Holders(ctx context.Context, entitlements []string) ([]string, error) {
	ids, err := listIn(ctx, t, ScanString, `
		SELECT DISTINCT user_id FROM grants
		WHERE `+t.D.In("entitlement_id")+`
		ORDER BY user_id`, entitlements)
	if err != nil {
		return nil, fmt.Errorf("holders: %w", err)
	}
	return ids, nil
}

// DeleteGrant removes a grant; removing one that does not exist is not an
// error.
func (t *Tx) DeleteGrant(ctx context.Context, user, entitlement string) error {
	if _, err := t.Q.Exec(ctx,
		`DELETE FROM grants WHERE user_id = ? AND entitlement_id = ?`, user, entitlement); err != nil {
		return fmt.Errorf("delete grant of %q to %q: %w", entitlement, user, err)
	}
	return nil
}

// PutGrant inserts or replaces a grant with an upsert. (SQLite writes grants
// behind instead.)
func (t *Tx) PutGrant(ctx context.Context, g *roster.Grant) error {
	args, err := GrantArgs(t.D, g)
	if err == nil {
		_, err = t.Q.Exec(ctx, grantUpsert, args...)
	}
	if err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, err)
	}
	return nil
}
