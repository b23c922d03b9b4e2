package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// --- profiles ---

const profileColumns = `id, name, description, entitlements, allow_enrollment_requests, enrollment, unenrollment, automation, sync, created_at, updated_at`

// scanProfile scans a row of profileColumns.
func scanProfile(r Row) (roster.Profile, error) {
	var v struct {
		p                                          roster.Profile
		ents, enroll, unenroll, automation, syncSt []byte
		created, upd                               timeDest
	}
	if err := r.Scan(&v.p.ID, &v.p.Name, &v.p.Description, &v.ents, &v.p.AllowEnrollmentRequests,
		&v.enroll, &v.unenroll, &v.automation, &v.syncSt, &v.created, &v.upd); err != nil {
		return v.p, err
	}
	v.p.CreatedAt, v.p.UpdatedAt = v.created.T, v.upd.T
	for _, c := range []struct {
		col string
		b   []byte
		v   any
	}{
		{"profile entitlements", v.ents, &v.p.Entitlements},
		{"profile enrollment", v.enroll, &v.p.Enrollment},
		{"profile unenrollment", v.unenroll, &v.p.Unenrollment},
		{"profile automation", v.automation, &v.p.Automation},
		{"profile sync", v.syncSt, &v.p.Sync},
	} {
		if err := decJSON(c.col, c.b, c.v); err != nil {
			return v.p, err
		}
	}
	return v.p, nil
}

var (
	profileTable  = newByID("profiles", "profile", "profiles", profileColumns, scanProfile)
	profileUpsert = upsert("profiles", 1, profileColumns)
)

// Profile returns an access profile by id.
func (t *Tx) Profile(ctx context.Context, id string) (*roster.Profile, error) {
	return profileTable.get(ctx, t, id)
}

// Profiles returns every access profile, ordered by id.
func (t *Tx) Profiles(ctx context.Context) ([]roster.Profile, error) {
	return profileTable.list(ctx, t)
}

// syncState returns s with its times in UTC and truncated to the microsecond,
// as the store keeps every time.
func syncState(s roster.SyncState) roster.SyncState {
	s.PausedAt = utcPtr(s.PausedAt)
	s.LastAt = utcPtr(s.LastAt)
	if s.Last != nil {
		last := *s.Last
		last.At = UTC(last.At)
		s.Last = &last
	}
	return s
}

// PutProfile inserts or replaces an access profile, and the index of the
// entitlements its rule names that RuleProfiles reads.
func (t *Tx) PutProfile(ctx context.Context, p *roster.Profile) error {
	e := t.enc()
	args := []any{p.ID, p.Name, p.Description, e.json(p.Entitlements), p.AllowEnrollmentRequests,
		e.json(p.Enrollment), e.json(p.Unenrollment), e.json(p.Automation), e.json(syncState(p.Sync)),
		e.time(p.CreatedAt), e.time(p.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put profile %q: %w", p.ID, e.err)
	}
	if _, err := t.Q.Exec(ctx, profileUpsert, args...); err != nil {
		return fmt.Errorf("put profile %q: %w", p.ID, err)
	}
	if _, err := t.Q.Exec(ctx, `DELETE FROM profile_rules WHERE profile_id = ?`, p.ID); err != nil {
		return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
	}
	if err := t.insertIDs(ctx, `profile_rules (entitlement_id, profile_id)`, `id, ?`, p.Automation.RuleEntitlements(), p.ID); err != nil {
		return fmt.Errorf("put profile %q: rule index: %w", p.ID, err)
	}
	if _, err := t.Q.Exec(ctx, `DELETE FROM profile_fields WHERE profile_id = ?`, p.ID); err != nil {
		return fmt.Errorf("put profile %q: field index: %w", p.ID, err)
	}
	if r := p.Automation.Reads; r != nil {
		if err := t.insertIDs(ctx, `profile_fields (field, profile_id)`, `id, ?`, r.Fields, p.ID); err != nil {
			return fmt.Errorf("put profile %q: field index: %w", p.ID, err)
		}
	}
	return nil
}

// PutProfileSyncs replaces profiles' sync states alone, a statement each
// (on SQLite, a statement costs no round trip).
func (t *Tx) PutProfileSyncs(ctx context.Context, syncs map[string]roster.SyncState) error {
	ids, states, err := t.ProfileSyncArgs(syncs)
	if err != nil {
		return err
	}
	for i, id := range ids {
		n, err := t.Q.Exec(ctx, `UPDATE profiles SET sync = ? WHERE id = ?`, states[i], id)
		if err != nil {
			return fmt.Errorf("put profile %q's sync: %w", id, err)
		}
		if n == 0 {
			return roster.Errorf(roster.ENOTFOUND, "profile %q not found", id)
		}
	}
	return nil
}

// ProfileSyncArgs returns the ids of syncs, sorted, and their sync states
// encoded as the profiles table stores them: PutProfileSyncs' arguments.
func (t *Tx) ProfileSyncArgs(syncs map[string]roster.SyncState) (ids []string, states []any, err error) {
	ids = slices.Sorted(maps.Keys(syncs))
	e := t.enc()
	for _, id := range ids {
		states = append(states, e.json(syncState(syncs[id])))
	}
	if e.err != nil {
		return nil, nil, fmt.Errorf("put profiles' syncs: %w", e.err)
	}
	return ids, states, nil
}

// FieldProfiles returns the ids of the profiles whose expression reads any
// of the user fields, ordered.
func (t *Tx) FieldProfiles(ctx context.Context, fields []string) ([]string, error) {
	ids, err := listIn(ctx, t, ScanString, `
		SELECT DISTINCT profile_id FROM profile_fields
		WHERE `+t.D.In("field")+`
		ORDER BY profile_id`, fields)
	if err != nil {
		return nil, fmt.Errorf("field profiles: %w", err)
	}
	return ids, nil
}

// insertIDs inserts into table (its name and column list) one row per id,
// skipping the rows already there. row lists the row's values: "id" is the
// id, and each "?" takes the next of lead.
func (t *Tx) insertIDs(ctx context.Context, table, row string, ids []string, lead ...any) error {
	if len(ids) == 0 {
		return nil
	}
	if each := t.D.EachID(len(ids)); each != "" {
		arg, err := t.D.IDs(ids)
		if err != nil {
			return err
		}
		// WHERE true tells SQLite that ON CONFLICT is not a join's.
		_, err = t.Q.Exec(ctx, `INSERT INTO `+table+` SELECT `+row+` FROM `+each+`
			WHERE true ON CONFLICT DO NOTHING`, append(lead, arg)...)
		return err
	}
	cols := strings.Split(row, ", ")
	query := `INSERT INTO ` + table + ` VALUES (` + strings.Repeat("?, ", len(cols)-1) + `?) ON CONFLICT DO NOTHING`
	args := make([]any, len(cols))
	for _, id := range ids {
		k := 0
		for i, c := range cols {
			if c == "id" {
				args[i] = id
			} else {
				args[i] = lead[k]
				k++
			}
		}
		if _, err := t.Q.Exec(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// RuleProfiles returns the ids of the profiles whose rule names any of the
// entitlements, ordered.
func (t *Tx) RuleProfiles(ctx context.Context, entitlements []string) ([]string, error) {
	ids, err := listIn(ctx, t, ScanString, `
		SELECT DISTINCT profile_id FROM profile_rules
		WHERE `+t.D.In("entitlement_id")+`
		ORDER BY profile_id`, entitlements)
	if err != nil {
		return nil, fmt.Errorf("rule profiles: %w", err)
	}
	return ids, nil
}

// TriggerProfiles marks profiles for a sync.
func (t *Tx) TriggerProfiles(ctx context.Context, profiles []string) error {
	if err := t.insertIDs(ctx, `profile_triggers (profile_id)`, `id`, profiles); err != nil {
		return fmt.Errorf("trigger profiles: %w", err)
	}
	return nil
}

// TriggeredProfiles returns up to limit marked profiles, ordered.
func (t *Tx) TriggeredProfiles(ctx context.Context, limit int) ([]string, error) {
	ids, err := List(ctx, t.Q, ScanString, `SELECT profile_id FROM profile_triggers ORDER BY profile_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("triggered profiles: %w", err)
	}
	return ids, nil
}

// ClearTrigger removes a profile's mark.
func (t *Tx) ClearTrigger(ctx context.Context, profile string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM profile_triggers WHERE profile_id = ?`, profile); err != nil {
		return fmt.Errorf("clear trigger of %q: %w", profile, err)
	}
	return nil
}

// --- members ---

// MemberColumns are the columns of a membership.
const MemberColumns = `profile_id, user_id, source, since`

var memberUpsert = upsert("members", 2, MemberColumns)

// scanMember scans a row of MemberColumns.
func scanMember(r Row) (roster.Member, error) {
	var v struct {
		m     roster.Member
		since timeDest
	}
	err := r.Scan(&v.m.Profile, &v.m.User, &v.m.Source, &v.since)
	v.m.Since = v.since.T
	return v.m, err
}

// Members returns a profile's members, ordered by user.
func (t *Tx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	ms, err := List(ctx, t.Q, scanMember,
		`SELECT `+MemberColumns+` FROM members WHERE profile_id = ? ORDER BY user_id`, profile)
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", profile, err)
	}
	return ms, nil
}

// EachMemberOfQuery is the query of EachMemberOf in d's spelling, with its
// one placeholder, the profiles: read through the primary key (profile_id,
// user_id), a profile after the other, already in order.
func EachMemberOfQuery(d Dialect) string {
	return `SELECT ` + MemberColumns + ` FROM members WHERE ` + d.In("profile_id") + ` ORDER BY profile_id, user_id`
}

// EachMemberOf calls fn with each member of any of profiles, ordered by
// (profile, user), as the rows arrive. The profiles travel as one argument.
func (t *Tx) EachMemberOf(ctx context.Context, profiles []string, fn func(roster.Member) error) error {
	if len(profiles) == 0 {
		return nil
	}
	arg, err := t.D.IDs(profiles)
	if err == nil {
		err = Each(ctx, t.Q, EachMemberOfQuery(t.D), []any{arg}, func(r Row) error {
			m, err := scanMember(r)
			if err != nil {
				return err
			}
			return fn(m)
		})
	}
	if err != nil {
		return fmt.Errorf("members of %d profiles: %w", len(profiles), err)
	}
	return nil
}

// MembersPage returns a page of a profile's members, ordered by user.
func (t *Tx) MembersPage(ctx context.Context, profile string, f roster.MemberFilter) (*roster.Page[roster.Member], error) {
	var w where
	w.add("profile_id = ?", profile)
	if err := t.after(&w, "user_id", f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanMember, `SELECT `+MemberColumns+` FROM members`, &w, "user_id", f.Limit,
		func(m *roster.Member) any { return stringKey{ID: &m.User} })
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", profile, err)
	}
	return p, nil
}

// MemberCounts returns how many members each profile that has any has.
func (t *Tx) MemberCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	err := Each(ctx, t.Q, `SELECT profile_id, COUNT(*) FROM members GROUP BY profile_id`, nil, func(r Row) error {
		var id string
		var n int
		if err := r.Scan(&id, &n); err != nil {
			return err
		}
		counts[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	return counts, nil
}

// Memberships returns the profiles a user is a member of, ordered by profile.
func (t *Tx) Memberships(ctx context.Context, user string) ([]roster.Member, error) {
	ms, err := List(ctx, t.Q, scanMember,
		`SELECT `+MemberColumns+` FROM members WHERE user_id = ? ORDER BY profile_id`, user)
	if err != nil {
		return nil, fmt.Errorf("memberships of %q: %w", user, err)
	}
	return ms, nil
}

// MembershipsOf returns the memberships of any of users, ordered by (user,
// profile). The users travel as one argument.
func (t *Tx) MembershipsOf(ctx context.Context, users []string) ([]roster.Member, error) {
	ms, err := listIn(ctx, t, scanMember, `SELECT `+MemberColumns+` FROM members
		WHERE `+t.D.In("user_id")+` ORDER BY user_id, profile_id`, users)
	if err != nil {
		return nil, fmt.Errorf("memberships of %d users: %w", len(users), err)
	}
	return ms, nil
}

// MembershipsAmong returns the memberships of any of users in any of
// profiles, ordered by (user, profile). Both lists are short (a window of
// users, the few profiles sharing an entitlement), so the store seeks each
// pair in the primary key instead of reading each user's every membership.
//
// When the profiles are many (a popular entitlement is in many), seeking
// each pair costs more than reading each user's memberships and keeping
// those among the profiles: the profile test is then kept off the index
// (the column joined to an empty string), past about as many profiles as a
// user has memberships. At dense20k (37 a user), 150 profiles of 2,500
// users took 97 ms one way and 51 ms the other, 5 profiles 10 ms and 16 ms.
func (t *Tx) MembershipsAmong(ctx context.Context, users, profiles []string) ([]roster.Member, error) {
	profileCol := "profile_id"
	if len(profiles) > seekProfilesMax {
		profileCol = "profile_id || ''"
	}
	ms, err := listIn(ctx, t, scanMember, `SELECT `+MemberColumns+` FROM members
		WHERE `+t.D.In("user_id")+` AND `+t.D.In(profileCol)+` ORDER BY user_id, profile_id`, users, profiles)
	if err != nil {
		return nil, fmt.Errorf("memberships of %d users among %d profiles: %w", len(users), len(profiles), err)
	}
	return ms, nil
}

// seekProfilesMax is the most profiles for which MembershipsAmong seeks
// each (user, profile) pair.
const seekProfilesMax = 32

// PutMember inserts or replaces a membership with an upsert. (SQLite writes
// memberships behind instead.)
func (t *Tx) PutMember(ctx context.Context, m *roster.Member) error {
	e := t.enc()
	since := e.time(m.Since)
	err := e.err
	if err == nil {
		_, err = t.Q.Exec(ctx, memberUpsert, m.Profile, m.User, m.Source, since)
	}
	if err != nil {
		return fmt.Errorf("put member %q of %q: %w", m.User, m.Profile, err)
	}
	return nil
}

// DeleteMember removes a membership; removing one that does not exist is not
// an error.
func (t *Tx) DeleteMember(ctx context.Context, profile, user string) error {
	if _, err := t.Q.Exec(ctx,
		`DELETE FROM members WHERE profile_id = ? AND user_id = ?`, profile, user); err != nil {
		return fmt.Errorf("delete member %q of %q: %w", user, profile, err)
	}
	return nil
}

// --- denials ---

// scanDenial scans a row of profile_id, user_id, kind, at.
func scanDenial(r Row) (roster.Denial, error) {
	var v struct {
		d  roster.Denial
		at timeDest
	}
	err := r.Scan(&v.d.Profile, &v.d.User, &v.d.Kind, &v.at)
	v.d.At = v.at.T
	return v.d, err
}

var denialUpsert = upsert("denials", 3, "profile_id, user_id, kind, at")

// Denials returns a profile's denials, ordered by user and kind.
func (t *Tx) Denials(ctx context.Context, profile string) ([]roster.Denial, error) {
	ds, err := List(ctx, t.Q, scanDenial,
		`SELECT profile_id, user_id, kind, at FROM denials WHERE profile_id = ? ORDER BY user_id, kind`, profile)
	if err != nil {
		return nil, fmt.Errorf("denials of %q: %w", profile, err)
	}
	return ds, nil
}

// PutDenial inserts or replaces the denial for (profile, user, kind).
func (t *Tx) PutDenial(ctx context.Context, d *roster.Denial) error {
	e := t.enc()
	at := e.time(d.At)
	if e.err != nil {
		return fmt.Errorf("put denial: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx, denialUpsert, d.Profile, d.User, d.Kind, at); err != nil {
		return fmt.Errorf("put %s denial of %q for %q: %w", d.Kind, d.User, d.Profile, err)
	}
	return nil
}

// DeleteDenial removes a denial; removing one that does not exist is not an
// error.
func (t *Tx) DeleteDenial(ctx context.Context, profile, user string, kind roster.TaskKind) error {
	if _, err := t.Q.Exec(ctx,
		`DELETE FROM denials WHERE profile_id = ? AND user_id = ? AND kind = ?`, profile, user, kind); err != nil {
		return fmt.Errorf("delete %s denial of %q for %q: %w", kind, user, profile, err)
	}
	return nil
}

// --- removals ---

// AddRemoval records that automation removed (or started removing) a user
// from a profile.
func (t *Tx) AddRemoval(ctx context.Context, profile, user string, at time.Time) error {
	e := t.enc()
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("add removal: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx,
		`INSERT INTO removals (profile_id, user_id, at) VALUES (?, ?, ?)`, profile, user, ts); err != nil {
		return fmt.Errorf("add removal of %q from %q: %w", user, profile, err)
	}
	return nil
}

// CountRemovals counts removals from a profile at or after since.
func (t *Tx) CountRemovals(ctx context.Context, profile string, since time.Time) (int, error) {
	e := t.enc()
	ts := e.time(since)
	if e.err != nil {
		return 0, fmt.Errorf("count removals: %w", e.err)
	}
	var n int
	if err := t.Q.QueryRow(ctx,
		`SELECT COUNT(*) FROM removals WHERE profile_id = ? AND at >= ?`, profile, ts).Scan(&n); err != nil {
		return 0, fmt.Errorf("count removals from %q: %w", profile, err)
	}
	return n, nil
}

// --- leases ---

// AcquireLease takes or renews the named lease for holder until now+ttl. It
// succeeds when the lease is free, expired, or already held by holder.
func (t *Tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	e := t.enc()
	nowT, until := e.time(now), e.time(now.Add(ttl))
	if e.err != nil {
		return false, fmt.Errorf("lease %q: %w", name, e.err)
	}
	n, err := t.Q.Exec(ctx, `
		INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`, name, holder, until, nowT)
	if err != nil {
		return false, fmt.Errorf("lease %q: %w", name, err)
	}
	return n == 1, nil
}

// Leases returns the names, without prefix, of the leases under prefix held
// at now, in byte order. The table holds a lease per worker and per claimed
// profile: it is read whole, and the prefix compared as bytes, whatever the
// database's collation.
func (t *Tx) Leases(ctx context.Context, prefix string, now time.Time) ([]string, error) {
	e := t.enc()
	nowT := e.time(now)
	if e.err != nil {
		return nil, fmt.Errorf("leases %q: %w", prefix, e.err)
	}
	names, err := List(ctx, t.Q, ScanString, `SELECT name FROM leases WHERE expires_at > ?`, nowT)
	if err != nil {
		return nil, fmt.Errorf("leases %q: %w", prefix, err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) })
	for i, n := range names {
		names[i] = n[len(prefix):]
	}
	slices.Sort(names)
	return names, nil
}

// ReleaseLease gives up the named lease if holder holds it.
func (t *Tx) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}
