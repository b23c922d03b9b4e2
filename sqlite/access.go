package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// PutGrant inserts or replaces a grant, written behind (see writeBehind).
// Its sources are stored sorted and without duplicates.
func (t *tx) PutGrant(ctx context.Context, g *roster.Grant) error {
	args, err := sqlstore.GrantArgs(dialect{}, g)
	if err == nil {
		err = t.tx.held.add(ctx, t.tx, t.tx.held.tables[1], args...)
	}
	if err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, err)
	}
	return nil
}

// grantInsert upserts grants, keyed by user and entitlement; it is written
// behind (see writeBehind). A grant put twice ends as put last.
var grantInsert = func() *insert {
	in := newUpsert("grants", strings.Split(sqlstore.GrantColumns, ", "), 2)
	// A grant created before it was updated was most likely written by an
	// earlier transaction (justified by one more profile, say): a new
	// grant's times are the same. Either way the put ends right (see
	// execUpsert); the guess only saves work.
	in.existing = func(row []any) bool {
		created, ok1 := row[4].(int64)
		updated, ok2 := row[5].(int64)
		return ok1 && ok2 && created < updated
	}
	return in
}()

// PutMember inserts or replaces a membership, written behind.
func (t *tx) PutMember(ctx context.Context, m *roster.Member) error {
	var e encoder
	since := e.time(m.Since)
	err := e.err
	if err == nil {
		err = t.tx.held.add(ctx, t.tx, t.tx.held.tables[2], m.Profile, m.User, string(m.Source), since)
	}
	if err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, err)
	}
	return nil
}

// memberInsert upserts memberships, keyed by profile and user; it is written
// behind.
var memberInsert = newUpsert("members", strings.Split(sqlstore.MemberColumns, ", "), 2)
