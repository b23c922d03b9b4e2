package sqlite

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
		g            roster.Grant
		sources      string
		created, upd int64
	)
	if err := r.Scan(&g.User, &g.Entitlement, &sources, &created, &upd); err != nil {
		return g, err
	}
	g.CreatedAt, g.UpdatedAt = decTime(created), decTime(upd)
	return g, decJSON("grant sources", sources, &g.Sources)
}

// Grant returns the grant of an entitlement to a user.
func (t *tx) Grant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	g, err := one(ctx, t.tx, scanGrant,
		roster.Errorf(roster.ENOTFOUND, "grant of %q to user %q not found", entitlement, user),
		`SELECT `+grantColumns+` FROM grants WHERE user_id = ? AND entitlement_id = ?`, user, entitlement)
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
		if err := paging.Decode(f.Cursor, &k); err != nil || k.User == nil || k.Entitlement == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("(user_id > ? OR (user_id = ? AND entitlement_id > ?))", *k.User, *k.User, *k.Entitlement)
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t.tx, scanGrant,
		`SELECT `+grantColumns+` FROM grants`+w.String()+` ORDER BY user_id, entitlement_id LIMIT ?`,
		append(w.args, n+1)...)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	return paginate(items, n, func(g *roster.Grant) any {
		return grantKey{User: &g.User, Entitlement: &g.Entitlement}
	}), nil
}

// UserGrants returns every grant of one user, ordered by entitlement.
func (t *tx) UserGrants(ctx context.Context, user string) ([]roster.Grant, error) {
	gs, err := list(ctx, t.tx, scanGrant,
		`SELECT `+grantColumns+` FROM grants WHERE user_id = ? ORDER BY entitlement_id`, user)
	if err != nil {
		return nil, fmt.Errorf("grants of %q: %w", user, err)
	}
	return gs, nil
}

// GrantsOf returns every grant of any of users. The users travel as one
// JSON array.
func (t *tx) GrantsOf(ctx context.Context, users []string) ([]roster.Grant, error) {
	if len(users) == 0 {
		return []roster.Grant{}, nil
	}
	var e encoder
	us := e.json(users)
	if e.err != nil {
		return nil, e.err
	}
	gs, err := list(ctx, t.tx, scanGrant, `SELECT `+grantColumns+` FROM grants
		WHERE user_id IN (SELECT value FROM json_each(?))`, us)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// GrantsAmong returns the grants any of users holds of any of entitlements.
// Both lists travel as JSON arrays and meet the primary key.
func (t *tx) GrantsAmong(ctx context.Context, users, entitlements []string) ([]roster.Grant, error) {
	if len(users) == 0 || len(entitlements) == 0 {
		return []roster.Grant{}, nil
	}
	var e encoder
	us, ents := e.json(users), e.json(entitlements)
	if e.err != nil {
		return nil, e.err
	}
	gs, err := list(ctx, t.tx, scanGrant, `SELECT `+grantColumns+` FROM grants
		WHERE user_id IN (SELECT value FROM json_each(?)) AND entitlement_id IN (SELECT value FROM json_each(?))`, us, ents)
	if err != nil {
		return nil, fmt.Errorf("grants of %d users: %w", len(users), err)
	}
	return gs, nil
}

// Holders returns the distinct ids of the users holding any of the
// entitlements, ordered. The entitlements travel as one JSON array, so the
// list may be of any length.
func (t *tx) Holders(ctx context.Context, entitlements []string) ([]string, error) {
	if len(entitlements) == 0 {
		return []string{}, nil
	}
	var e encoder
	ents := e.json(entitlements)
	if e.err != nil {
		return nil, e.err
	}
	ids, err := list(ctx, t.tx, scanString, `
		SELECT DISTINCT user_id FROM grants
		WHERE entitlement_id IN (SELECT value FROM json_each(?))
		ORDER BY user_id`, ents)
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
	if err := t.tx.held.add(ctx, t.tx, t.tx.held.tables[1], args...); err != nil {
		return fmt.Errorf("put grant of %q to %q: %w", g.Entitlement, g.User, err)
	}
	return nil
}

// grantInsert upserts grants, keyed by user and entitlement; it is written
// behind (see writeBehind). A grant put twice ends as put last.
var grantInsert = newUpsert("grants", []string{"user_id", "entitlement_id", "app", "sources", "created_at", "updated_at"}, 2)

// DeleteGrant removes a grant; removing one that does not exist is not an
// error.
func (t *tx) DeleteGrant(ctx context.Context, user, entitlement string) error {
	if _, err := t.tx.ExecContext(ctx,
		`DELETE FROM grants WHERE user_id = ? AND entitlement_id = ?`, user, entitlement); err != nil {
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
		ents, enroll, unenroll, automation, syncSt string
		created, upd                               int64
	)
	if err := r.Scan(&p.ID, &p.Name, &p.Description, &ents, &p.AllowEnrollmentRequests,
		&enroll, &unenroll, &automation, &syncSt, &created, &upd); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = decTime(created), decTime(upd)
	for _, c := range []struct {
		col, s string
		v      any
	}{
		{"profile entitlements", ents, &p.Entitlements},
		{"profile enrollment", enroll, &p.Enrollment},
		{"profile unenrollment", unenroll, &p.Unenrollment},
		{"profile automation", automation, &p.Automation},
		{"profile sync", syncSt, &p.Sync},
	} {
		if err := decJSON(c.col, c.s, c.v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Profile returns an access profile by id.
func (t *tx) Profile(ctx context.Context, id string) (*roster.Profile, error) {
	p, err := one(ctx, t.tx, scanProfile, roster.Errorf(roster.ENOTFOUND, "profile %q not found", id),
		`SELECT `+profileColumns+` FROM profiles WHERE id = ?`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("profile %q: %w", id, err)
	}
	return p, err
}

// Profiles returns every access profile, ordered by id.
func (t *tx) Profiles(ctx context.Context) ([]roster.Profile, error) {
	ps, err := list(ctx, t.tx, scanProfile, `SELECT `+profileColumns+` FROM profiles ORDER BY id`)
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
	if _, err := t.tx.ExecContext(ctx, `
		INSERT INTO profiles (`+profileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			name = excluded.name, description = excluded.description,
			entitlements = excluded.entitlements,
			allow_enrollment_requests = excluded.allow_enrollment_requests,
			enrollment = excluded.enrollment, unenrollment = excluded.unenrollment,
			automation = excluded.automation, sync = excluded.sync,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put profile %q: %w", p.ID, err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM profile_rules WHERE profile_id = ?`, p.ID); err != nil {
		return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
	}
	for _, ent := range p.Automation.AnyEntitlement {
		if _, err := t.tx.ExecContext(ctx, `INSERT OR IGNORE INTO profile_rules (entitlement_id, profile_id) VALUES (?, ?)`, ent, p.ID); err != nil {
			return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
		}
	}
	return nil
}

// --- members ---

const memberColumns = `profile_id, user_id, source, since`

// scanMember scans a row of memberColumns.
func scanMember(r rowScanner) (roster.Member, error) {
	var (
		m     roster.Member
		since int64
	)
	err := r.Scan(&m.Profile, &m.User, &m.Source, &since)
	m.Since = decTime(since)
	return m, err
}

// Members returns a profile's members, ordered by user.
func (t *tx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	ms, err := list(ctx, t.tx, scanMember,
		`SELECT `+memberColumns+` FROM members WHERE profile_id = ? ORDER BY user_id`, profile)
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", profile, err)
	}
	return ms, nil
}

// Memberships returns the profiles a user is a member of, ordered by profile.
func (t *tx) Memberships(ctx context.Context, user string) ([]roster.Member, error) {
	ms, err := list(ctx, t.tx, scanMember,
		`SELECT `+memberColumns+` FROM members WHERE user_id = ? ORDER BY profile_id`, user)
	if err != nil {
		return nil, fmt.Errorf("memberships of %q: %w", user, err)
	}
	return ms, nil
}

// MembershipsOf returns the memberships of any of users, ordered by (user,
// profile). The users travel as one JSON array.
func (t *tx) MembershipsOf(ctx context.Context, users []string) ([]roster.Member, error) {
	if len(users) == 0 {
		return []roster.Member{}, nil
	}
	var e encoder
	us := e.json(users)
	if e.err != nil {
		return nil, e.err
	}
	ms, err := list(ctx, t.tx, scanMember, `SELECT `+memberColumns+` FROM members
		WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, profile_id`, us)
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
	if err := t.tx.held.add(ctx, t.tx, t.tx.held.tables[2], m.Profile, m.User, m.Source, since); err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, err)
	}
	return nil
}

// memberInsert upserts memberships, keyed by profile and user; it is written
// behind.
var memberInsert = newUpsert("members", strings.Split(memberColumns, ", "), 2)

// DeleteMember removes a membership; removing one that does not exist is not
// an error.
func (t *tx) DeleteMember(ctx context.Context, profile, user string) error {
	if _, err := t.tx.ExecContext(ctx,
		`DELETE FROM members WHERE profile_id = ? AND user_id = ?`, profile, user); err != nil {
		return fmt.Errorf("delete member %q of %q: %w", user, profile, err)
	}
	return nil
}

// --- denials ---

// scanDenial scans a row of profile_id, user_id, kind, at.
func scanDenial(r rowScanner) (roster.Denial, error) {
	var (
		d  roster.Denial
		at int64
	)
	err := r.Scan(&d.Profile, &d.User, &d.Kind, &at)
	d.At = decTime(at)
	return d, err
}

// Denials returns a profile's denials, ordered by user and kind.
func (t *tx) Denials(ctx context.Context, profile string) ([]roster.Denial, error) {
	ds, err := list(ctx, t.tx, scanDenial,
		`SELECT profile_id, user_id, kind, at FROM denials WHERE profile_id = ? ORDER BY user_id, kind`, profile)
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
	if _, err := t.tx.ExecContext(ctx, `
		INSERT INTO denials (profile_id, user_id, kind, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (profile_id, user_id, kind) DO UPDATE SET at = excluded.at`,
		d.Profile, d.User, d.Kind, at); err != nil {
		return fmt.Errorf("put %s denial of %q for %q: %w", d.Kind, d.User, d.Profile, err)
	}
	return nil
}

// DeleteDenial removes a denial; removing one that does not exist is not an
// error.
func (t *tx) DeleteDenial(ctx context.Context, profile, user string, kind roster.TaskKind) error {
	if _, err := t.tx.ExecContext(ctx,
		`DELETE FROM denials WHERE profile_id = ? AND user_id = ? AND kind = ?`, profile, user, kind); err != nil {
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
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO removals (profile_id, user_id, at) VALUES (?, ?, ?)`, profile, user, ts); err != nil {
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
	if err := t.tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM removals WHERE profile_id = ? AND at >= ?`, profile, ts).Scan(&n); err != nil {
		return 0, fmt.Errorf("count removals from %q: %w", profile, err)
	}
	return n, nil
}
