package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/rosterhq/roster"
)

// --- grants ---

const grantColumns = `user_id, entitlement_id, sources, created_at, updated_at`

// scanGrant scans a row of grantColumns.
func scanGrant(r rowScanner) (roster.Grant, error) {
	var (
		g       roster.Grant
		sources []byte
	)
	if err := r.Scan(&g.User, &g.Entitlement, &sources, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return g, err
	}
	g.CreatedAt, g.UpdatedAt = decTime(g.CreatedAt), decTime(g.UpdatedAt)
	return g, decJSON("grant sources", sources, &g.Sources)
}

// Grant returns the grant of an entitlement to a user.
func (t *tx) Grant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	g, err := one(ctx, t, scanGrant,
		roster.Errorf(roster.ENOTFOUND, "grant of %q to user %q not found", entitlement, user),
		`SELECT `+grantColumns+` FROM grants WHERE user_id = $1 AND entitlement_id = $2`, user, entitlement)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("grant of %q to %q: %w", entitlement, user, err)
	}
	return g, err
}

// Grants returns one page of grants, ordered by (user, entitlement).
func (t *tx) Grants(ctx context.Context, f roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	var w where
	w.eq("user_id", f.User)
	w.eq("entitlement_id", f.Entitlement)
	w.eq("app", f.App)
	if f.Cursor != "" {
		var k grantKey
		if err := decodeCursor(f.Cursor, &k); err != nil || k.User == nil || k.Entitlement == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("(user_id, entitlement_id) > (" + w.arg(*k.User) + ", " + w.arg(*k.Entitlement) + ")")
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t, scanGrant,
		`SELECT `+grantColumns+` FROM grants`+w.String()+` ORDER BY user_id, entitlement_id LIMIT `+w.arg(n+1),
		w.args...)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	return paginate(items, n, func(g *roster.Grant) any {
		return grantKey{User: &g.User, Entitlement: &g.Entitlement}
	}), nil
}

// UserGrants returns every grant of one user, ordered by entitlement.
func (t *tx) UserGrants(ctx context.Context, user string) ([]roster.Grant, error) {
	gs, err := list(ctx, t, scanGrant,
		`SELECT `+grantColumns+` FROM grants WHERE user_id = $1 ORDER BY entitlement_id`, user)
	if err != nil {
		return nil, fmt.Errorf("grants of %q: %w", user, err)
	}
	return gs, nil
}

// BulkGrants does nothing on PostgreSQL: its writes are not held back by
// index maintenance the way SQLite's are.
func (t *tx) BulkGrants(ctx context.Context, n int) (end func() error, err error) {
	return func() error { return nil }, nil
}

// GrantsOf returns every grant of any of users.
func (t *tx) GrantsOf(ctx context.Context, users []string) ([]roster.Grant, error) {
	if len(users) == 0 {
		return []roster.Grant{}, nil
	}
	gs, err := list(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants WHERE user_id = ANY($1::text[])`, users)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// GrantsAmong returns the grants any of users holds of any of entitlements.
func (t *tx) GrantsAmong(ctx context.Context, users, entitlements []string) ([]roster.Grant, error) {
	if len(users) == 0 || len(entitlements) == 0 {
		return []roster.Grant{}, nil
	}
	gs, err := list(ctx, t, scanGrant, `SELECT `+grantColumns+` FROM grants
		WHERE user_id = ANY($1::text[]) AND entitlement_id = ANY($2::text[])`, users, entitlements)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// Holders returns the distinct ids of the users holding any of the
// entitlements, ordered. The entitlements travel as one text[] parameter, so
// the list may be of any length.
func (t *tx) Holders(ctx context.Context, entitlements []string) ([]string, error) {
	if len(entitlements) == 0 {
		return []string{}, nil
	}
	ids, err := list(ctx, t, scanString, `
		SELECT DISTINCT user_id FROM grants
		WHERE entitlement_id = ANY($1)
		ORDER BY user_id`, entitlements)
	if err != nil {
		return nil, fmt.Errorf("holders: %w", err)
	}
	return ids, nil
}

// grantApp returns the app part of an "APP/ENT" entitlement id.
func grantApp(entitlement string) string {
	app, _, ok := strings.Cut(entitlement, "/")
	if !ok {
		return ""
	}
	return app
}

// PutGrant inserts or replaces a grant. Its sources are stored sorted and
// without duplicates.
func (t *tx) PutGrant(ctx context.Context, g *roster.Grant) error {
	var sources []string
	if g.Sources != nil {
		sources = append([]string{}, g.Sources...)
		slices.Sort(sources)
		sources = slices.Compact(sources)
	}
	var e encoder
	args := []any{g.User, g.Entitlement, grantApp(g.Entitlement), e.json(sources),
		e.time(g.CreatedAt), e.time(g.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO grants (user_id, entitlement_id, app, sources, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, entitlement_id) DO UPDATE SET
			app = excluded.app, sources = excluded.sources,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, err)
	}
	return nil
}

// DeleteGrant removes a grant; removing one that does not exist is not an
// error.
func (t *tx) DeleteGrant(ctx context.Context, user, entitlement string) error {
	if _, err := t.exec(ctx,
		`DELETE FROM grants WHERE user_id = $1 AND entitlement_id = $2`, user, entitlement); err != nil {
		return fmt.Errorf("delete grant of %q to %q: %w", entitlement, user, err)
	}
	return nil
}

// --- profiles ---

const profileColumns = `id, name, description, entitlements, allow_enrollment_requests, enrollment, unenrollment, automation, sync, created_at, updated_at`

// scanProfile scans a row of profileColumns.
func scanProfile(r rowScanner) (roster.Profile, error) {
	var (
		p                                          roster.Profile
		ents, enroll, unenroll, automation, syncSt []byte
	)
	if err := r.Scan(&p.ID, &p.Name, &p.Description, &ents, &p.AllowEnrollmentRequests,
		&enroll, &unenroll, &automation, &syncSt, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = decTime(p.CreatedAt), decTime(p.UpdatedAt)
	for _, c := range []struct {
		col string
		b   []byte
		v   any
	}{
		{"profile entitlements", ents, &p.Entitlements},
		{"profile enrollment", enroll, &p.Enrollment},
		{"profile unenrollment", unenroll, &p.Unenrollment},
		{"profile automation", automation, &p.Automation},
		{"profile sync", syncSt, &p.Sync},
	} {
		if err := decJSON(c.col, c.b, c.v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Profile returns an access profile by id.
func (t *tx) Profile(ctx context.Context, id string) (*roster.Profile, error) {
	p, err := one(ctx, t, scanProfile, roster.Errorf(roster.ENOTFOUND, "profile %q not found", id),
		`SELECT `+profileColumns+` FROM profiles WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("profile %q: %w", id, err)
	}
	return p, err
}

// Profiles returns every access profile, ordered by id.
func (t *tx) Profiles(ctx context.Context) ([]roster.Profile, error) {
	ps, err := list(ctx, t, scanProfile, `SELECT `+profileColumns+` FROM profiles ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	return ps, nil
}

// syncState returns s with its times in UTC and truncated to the microsecond,
// as the store keeps every time.
func syncState(s roster.SyncState) roster.SyncState {
	s.PausedAt = utcPtr(s.PausedAt)
	s.LastAt = utcPtr(s.LastAt)
	if s.Last != nil {
		last := *s.Last
		last.At = utc(last.At)
		s.Last = &last
	}
	return s
}

// PutProfile inserts or replaces an access profile.
func (t *tx) PutProfile(ctx context.Context, p *roster.Profile) error {
	var e encoder
	args := []any{p.ID, p.Name, p.Description, e.json(p.Entitlements), p.AllowEnrollmentRequests,
		e.json(p.Enrollment), e.json(p.Unenrollment), e.json(p.Automation), e.json(syncState(p.Sync)),
		e.time(p.CreatedAt), e.time(p.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put profile %q: %w", p.ID, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO profiles (`+profileColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET
			name = excluded.name, description = excluded.description,
			entitlements = excluded.entitlements,
			allow_enrollment_requests = excluded.allow_enrollment_requests,
			enrollment = excluded.enrollment, unenrollment = excluded.unenrollment,
			automation = excluded.automation, sync = excluded.sync,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put profile %q: %w", p.ID, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM profile_rules WHERE profile_id = $1`, p.ID); err != nil {
		return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
	}
	if len(p.Automation.AnyEntitlement) > 0 {
		if _, err := t.exec(ctx, `
			INSERT INTO profile_rules (entitlement_id, profile_id)
			SELECT DISTINCT e, $2 FROM unnest($1::text[]) AS e
			ON CONFLICT DO NOTHING`, p.Automation.AnyEntitlement, p.ID); err != nil {
			return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
		}
	}
	return nil
}

// --- members ---

const memberColumns = `profile_id, user_id, source, since`

// scanMember scans a row of memberColumns.
func scanMember(r rowScanner) (roster.Member, error) {
	var m roster.Member
	err := r.Scan(&m.Profile, &m.User, &m.Source, &m.Since)
	m.Since = decTime(m.Since)
	return m, err
}

// Members returns a profile's members, ordered by user.
func (t *tx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	ms, err := list(ctx, t, scanMember,
		`SELECT `+memberColumns+` FROM members WHERE profile_id = $1 ORDER BY user_id`, profile)
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", profile, err)
	}
	return ms, nil
}

// Memberships returns the profiles a user is a member of, ordered by profile.
func (t *tx) Memberships(ctx context.Context, user string) ([]roster.Member, error) {
	ms, err := list(ctx, t, scanMember,
		`SELECT `+memberColumns+` FROM members WHERE user_id = $1 ORDER BY profile_id`, user)
	if err != nil {
		return nil, fmt.Errorf("memberships of %q: %w", user, err)
	}
	return ms, nil
}

// MembershipsOf returns the memberships of any of users, ordered by (user,
// profile).
func (t *tx) MembershipsOf(ctx context.Context, users []string) ([]roster.Member, error) {
	if len(users) == 0 {
		return []roster.Member{}, nil
	}
	ms, err := list(ctx, t, scanMember, `SELECT `+memberColumns+` FROM members
		WHERE user_id = ANY($1::text[]) ORDER BY user_id, profile_id`, users)
	if err != nil {
		return nil, fmt.Errorf("memberships of %d users: %w", len(users), err)
	}
	return ms, nil
}

// PutMember inserts or replaces a membership.
func (t *tx) PutMember(ctx context.Context, m *roster.Member) error {
	var e encoder
	since := e.time(m.Since)
	if e.err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO members (`+memberColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (profile_id, user_id) DO UPDATE SET source = excluded.source, since = excluded.since`,
		m.Profile, m.User, m.Source, since); err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, err)
	}
	return nil
}

// DeleteMember removes a membership; removing one that does not exist is not
// an error.
func (t *tx) DeleteMember(ctx context.Context, profile, user string) error {
	if _, err := t.exec(ctx,
		`DELETE FROM members WHERE profile_id = $1 AND user_id = $2`, profile, user); err != nil {
		return fmt.Errorf("delete member %q of %q: %w", user, profile, err)
	}
	return nil
}

// --- denials ---

// scanDenial scans a row of profile_id, user_id, kind, at.
func scanDenial(r rowScanner) (roster.Denial, error) {
	var d roster.Denial
	err := r.Scan(&d.Profile, &d.User, &d.Kind, &d.At)
	d.At = decTime(d.At)
	return d, err
}

// Denials returns a profile's denials, ordered by user and kind.
func (t *tx) Denials(ctx context.Context, profile string) ([]roster.Denial, error) {
	ds, err := list(ctx, t, scanDenial,
		`SELECT profile_id, user_id, kind, at FROM denials WHERE profile_id = $1 ORDER BY user_id, kind`, profile)
	if err != nil {
		return nil, fmt.Errorf("denials of %q: %w", profile, err)
	}
	return ds, nil
}

// PutDenial inserts or replaces the denial for (profile, user, kind).
func (t *tx) PutDenial(ctx context.Context, d *roster.Denial) error {
	var e encoder
	at := e.time(d.At)
	if e.err != nil {
		return fmt.Errorf("put denial: %w", e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO denials (profile_id, user_id, kind, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (profile_id, user_id, kind) DO UPDATE SET at = excluded.at`,
		d.Profile, d.User, d.Kind, at); err != nil {
		return fmt.Errorf("put %s denial of %q for %q: %w", d.Kind, d.User, d.Profile, err)
	}
	return nil
}

// DeleteDenial removes a denial; removing one that does not exist is not an
// error.
func (t *tx) DeleteDenial(ctx context.Context, profile, user string, kind roster.TaskKind) error {
	if _, err := t.exec(ctx,
		`DELETE FROM denials WHERE profile_id = $1 AND user_id = $2 AND kind = $3`, profile, user, kind); err != nil {
		return fmt.Errorf("delete %s denial of %q for %q: %w", kind, user, profile, err)
	}
	return nil
}

// --- removals ---

// AddRemoval records that automation removed (or started removing) a user
// from a profile.
func (t *tx) AddRemoval(ctx context.Context, profile, user string, at time.Time) error {
	var e encoder
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("add removal: %w", e.err)
	}
	if _, err := t.exec(ctx,
		`INSERT INTO removals (profile_id, user_id, at) VALUES ($1, $2, $3)`, profile, user, ts); err != nil {
		return fmt.Errorf("add removal of %q from %q: %w", user, profile, err)
	}
	return nil
}

// CountRemovals counts removals from a profile at or after since.
func (t *tx) CountRemovals(ctx context.Context, profile string, since time.Time) (int, error) {
	var e encoder
	ts := e.time(since)
	if e.err != nil {
		return 0, fmt.Errorf("count removals: %w", e.err)
	}
	var n int
	if err := t.queryRow(ctx,
		`SELECT COUNT(*) FROM removals WHERE profile_id = $1 AND at >= $2`, profile, ts).Scan(&n); err != nil {
		return 0, fmt.Errorf("count removals from %q: %w", profile, err)
	}
	return n, nil
}
