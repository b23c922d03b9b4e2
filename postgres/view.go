package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// ScanSync streams what planning the syncs of s.Profiles needs. The
// profiles and entitlements travel as text[] parameters; unnest WITH
// ORDINALITY gives each row its position in them.
func (t *tx) ScanSync(ctx context.Context, s *roster.SyncScan) error {
	// A RemovalsSince out of range fails before any callback runs.
	if _, err := (dialect{}).Time(s.RemovalsSince); err != nil {
		return fmt.Errorf("scan sync: %w", err)
	}
	if s.User != nil {
		err := sqlstore.Each(ctx, t.Q, `SELECT id FROM users ORDER BY id`, nil, func(rows sqlstore.Row) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			return s.User(id)
		})
		if err != nil {
			return fmt.Errorf("scan sync: users: %w", err)
		}
	}
	if s.ChangedUser != nil {
		err := sqlstore.Each(ctx, t.Q, `SELECT id, rev FROM users WHERE rev > $1`, []any{s.RevsAfter}, func(rows sqlstore.Row) error {
			var (
				id  string
				rev int64
			)
			if err := rows.Scan(&id, &rev); err != nil {
				return err
			}
			return s.ChangedUser(id, rev)
		})
		if err != nil {
			return fmt.Errorf("scan sync: changed users: %w", err)
		}
	}
	if s.Disabled != nil {
		err := sqlstore.Each(ctx, t.Q, `SELECT id FROM users WHERE status <> 'active'`, nil, func(rows sqlstore.Row) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			return s.Disabled(id)
		})
		if err != nil {
			return fmt.Errorf("scan sync: disabled users: %w", err)
		}
	}
	if s.Holder != nil && len(s.Entitlements) > 0 {
		err := sqlstore.Each(ctx, t.Q, `
			SELECT j.n - 1, g.user_id FROM unnest($1::text[]) WITH ORDINALITY AS j (id, n)
			JOIN grants AS g ON g.entitlement_id = j.id`, []any{s.Entitlements},
			func(rows sqlstore.Row) error {
				var (
					i    int
					user string
				)
				if err := rows.Scan(&i, &user); err != nil {
					return err
				}
				return s.Holder(i, user)
			})
		if err != nil {
			return fmt.Errorf("scan sync: holders: %w", err)
		}
	}
	if len(s.Profiles) == 0 {
		return nil
	}
	if s.Member != nil {
		err := sqlstore.Each(ctx, t.Q, `
			SELECT j.n - 1, m.user_id, m.source, m.since FROM unnest($1::text[]) WITH ORDINALITY AS j (id, n)
			JOIN members AS m ON m.profile_id = j.id`, []any{s.Profiles},
			func(rows sqlstore.Row) error {
				var (
					i int
					m roster.Member
				)
				if err := rows.Scan(&i, &m.User, &m.Source, &m.Since); err != nil {
					return err
				}
				m.Profile, m.Since = s.Profiles[i], decTime(m.Since)
				return s.Member(i, m)
			})
		if err != nil {
			return fmt.Errorf("scan sync: members: %w", err)
		}
	}
	return t.ScanProfiles(ctx, s)
}

// MembershipsOf returns the memberships of any of users, ordered by (user,
// profile). The users travel as one array. The statement is planned anew at
// each call, for its array (pgx's unnamed statement): a plan cached while
// the table was small — before a first sync of many profiles fills it —
// scans every membership and compares it with every user of the array, and
// took three fifths of enabling 300 profiles at once; planned for the
// array at hand, the query reads the members_user index.
func (t *tx) MembershipsOf(ctx context.Context, users []string) ([]roster.Member, error) {
	if len(users) == 0 {
		return []roster.Member{}, nil
	}
	ms, err := t.membershipsWhere(ctx, `user_id = ANY($1::text[])`, users)
	if err != nil {
		return nil, fmt.Errorf("memberships of %d users: %w", len(users), err)
	}
	return ms, nil
}

// MembershipsAmong returns the memberships of any of users in any of
// profiles, ordered by (user, profile), planned anew for its arrays like
// MembershipsOf.
func (t *tx) MembershipsAmong(ctx context.Context, users, profiles []string) ([]roster.Member, error) {
	if len(users) == 0 || len(profiles) == 0 {
		return []roster.Member{}, nil
	}
	ms, err := t.membershipsWhere(ctx, `user_id = ANY($1::text[]) AND profile_id = ANY($2::text[])`, users, profiles)
	if err != nil {
		return nil, fmt.Errorf("memberships of %d users among %d profiles: %w", len(users), len(profiles), err)
	}
	return ms, nil
}

// membershipsWhere returns the memberships that where selects, ordered by
// (user, profile), the statement planned for its arguments at each call.
func (t *tx) membershipsWhere(ctx context.Context, where string, args ...any) ([]roster.Member, error) {
	return sqlstore.List(ctx, t.Q, func(r sqlstore.Row) (roster.Member, error) {
		var m roster.Member
		err := r.Scan(&m.Profile, &m.User, &m.Source, &m.Since)
		m.Since = decTime(m.Since)
		return m, err
	}, `SELECT profile_id, user_id, source, since FROM members
		WHERE `+where+` ORDER BY user_id, profile_id`, append([]any{pgx.QueryExecModeExec}, args...)...)
}
