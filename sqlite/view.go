package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// ScanSync streams what planning the syncs of s.Profiles needs. The
// profiles and entitlements travel as JSON arrays; json_each gives each row
// its position in them (its key) and lets SQLite range over its indexes one
// entitlement or profile at a time. The big lists — users, holders, members —
// come as one JSON array of ids per entitlement or profile: a row costs far
// more to hand over through database/sql than SQLite takes to aggregate it.
// Their rows are read ahead in a goroutine of their own while the callbacks
// handle the ones before (pipelined), so that SQLite's work and the caller's
// overlap.
func (t *tx) ScanSync(ctx context.Context, s *roster.SyncScan) error {
	var e encoder
	ents, profiles := e.json(orNone(s.Entitlements)), e.json(orNone(s.Profiles))
	e.time(s.RemovalsSince) // out of range, it fails before any callback runs
	if e.err != nil {
		return fmt.Errorf("scan sync: %w", e.err)
	}
	if s.User != nil {
		err := pipelined(ctx, t.tx, `SELECT json_group_array(id) FROM (SELECT id FROM users ORDER BY id)`, nil,
			func(rows *sql.Rows) (ids string, err error) { return ids, rows.Scan(&ids) },
			func(ids string) error { return eachJSONString(ids, s.User) })
		if err != nil {
			return fmt.Errorf("scan sync: users: %w", err)
		}
	}
	if s.ChangedUser != nil {
		err := sqlstore.Each(ctx, t.Q, `SELECT id, rev FROM users WHERE rev > ?`, []any{s.RevsAfter},
			func(rows sqlstore.Row) error {
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
		// status <> 'active' would read every user; two ranges of
		// users_status read only the others.
		err := sqlstore.Each(ctx, t.Q, `SELECT id FROM users WHERE status < 'active' OR status > 'active'`, nil,
			func(rows sqlstore.Row) error {
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
		type row struct {
			i     int
			users string
		}
		err := pipelined(ctx, t.tx, `
			SELECT j.key, (SELECT json_group_array(g.user_id) FROM grants AS g WHERE g.entitlement_id = j.value)
			FROM json_each(?) AS j`, []any{ents},
			func(rows *sql.Rows) (r row, err error) { return r, rows.Scan(&r.i, &r.users) },
			func(r row) error { return eachJSONString(r.users, func(u string) error { return s.Holder(r.i, u) }) })
		if err != nil {
			return fmt.Errorf("scan sync: holders: %w", err)
		}
	}
	if len(s.Profiles) == 0 {
		return nil
	}
	if s.Member != nil {
		if err := t.scanMembers(ctx, s, profiles); err != nil {
			return fmt.Errorf("scan sync: members: %w", err)
		}
	}
	return t.ScanProfiles(ctx, s)
}

// scanMembers streams the members of s.Profiles (the JSON array profiles).
// Members join in batches, and most profiles' members all share one source
// and time of joining: for each profile, one row brings its users and the
// first and last (source, since) in the order of members_cover; when those
// differ, the profile's members are read again grouped by (source, since).
func (t *tx) scanMembers(ctx context.Context, s *roster.SyncScan, profiles string) error {
	type row struct {
		i                       int
		users                   string
		firstSource, lastSource sql.NullString
		firstSince, lastSince   sql.NullInt64
	}
	var mixed []string
	err := pipelined(ctx, t.tx, `
		SELECT j.key,
			(SELECT json_group_array(m.user_id) FROM members AS m WHERE m.profile_id = j.value),
			(SELECT m.source FROM members AS m WHERE m.profile_id = j.value ORDER BY m.source, m.since LIMIT 1),
			(SELECT m.since FROM members AS m WHERE m.profile_id = j.value ORDER BY m.source, m.since LIMIT 1),
			(SELECT m.source FROM members AS m WHERE m.profile_id = j.value ORDER BY m.source DESC, m.since DESC LIMIT 1),
			(SELECT m.since FROM members AS m WHERE m.profile_id = j.value ORDER BY m.source DESC, m.since DESC LIMIT 1)
		FROM json_each(?) AS j`, []any{profiles},
		func(rows *sql.Rows) (r row, err error) {
			return r, rows.Scan(&r.i, &r.users, &r.firstSource, &r.firstSince, &r.lastSource, &r.lastSince)
		},
		func(r row) error {
			if !r.firstSource.Valid {
				return nil // no members
			}
			if r.firstSource != r.lastSource || r.firstSince != r.lastSince {
				mixed = append(mixed, s.Profiles[r.i])
				return nil
			}
			m := roster.Member{Profile: s.Profiles[r.i], Source: roster.MemberSource(r.firstSource.String), Since: decTime(r.firstSince.Int64)}
			return eachJSONString(r.users, func(u string) error {
				m.User = u
				return s.Member(r.i, m)
			})
		})
	if err != nil || len(mixed) == 0 {
		return err
	}
	pos := make(map[string]int, len(s.Profiles))
	for i, p := range s.Profiles {
		pos[p] = i
	}
	var e encoder
	list := e.json(mixed)
	if e.err != nil {
		return e.err
	}
	return sqlstore.Each(ctx, t.Q, `
		SELECT profile_id, source, since, json_group_array(user_id) FROM members
		WHERE profile_id IN (SELECT value FROM json_each(?))
		GROUP BY profile_id, source, since`, []any{list},
		func(rows sqlstore.Row) error {
			var (
				profile, source, users string
				since                  int64
			)
			if err := rows.Scan(&profile, &source, &since, &users); err != nil {
				return err
			}
			i := pos[profile]
			m := roster.Member{Profile: s.Profiles[i], Source: roster.MemberSource(source), Since: decTime(since)}
			return eachJSONString(users, func(u string) error {
				m.User = u
				return s.Member(i, m)
			})
		})
}

// pipelined runs a query and calls fn on every row, as scan reads it, in the
// calling goroutine; the rows are read ahead in a goroutine of their own, so
// that SQLite computes the next rows while fn handles this one. It suits
// queries of few, large rows.
func pipelined[T any](ctx context.Context, tx querier, query string, args []any, scan func(*sql.Rows) (T, error), fn func(T) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	ahead := make(chan T, 8)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(ahead)
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				readErr = err
				return
			}
			select {
			case ahead <- v:
			case <-stop:
				return
			}
		}
		readErr = rows.Err()
	}()
	for v := range ahead {
		if err = fn(v); err != nil {
			close(stop)
			for range ahead {
			}
			return err
		}
	}
	// ahead is closed: the reader is done, and readErr set.
	return readErr
}

// eachJSONString calls fn with each string of the JSON array text a, as
// SQLite's json_group_array writes it. A string without escapes is passed as
// a part of a, without a copy.
func eachJSONString(a string, fn func(string) error) error {
	bad := func() error { return errors.New("malformed JSON array of strings") }
	if len(a) < 2 || a[0] != '[' || a[len(a)-1] != ']' {
		return bad()
	}
	a = a[1 : len(a)-1]
	for a != "" {
		if a[0] != '"' {
			return bad()
		}
		end := strings.IndexByte(a[1:], '"') + 1
		if end == 0 {
			return bad()
		}
		var v string
		if !strings.Contains(a[1:end], `\`) {
			v = a[1:end]
		} else {
			// An escaped string: find its real end, then let encoding/json
			// decode it.
			end = 1
			for ; end < len(a) && a[end] != '"'; end++ {
				if a[end] == '\\' {
					end++
				}
			}
			if end >= len(a) {
				return bad()
			}
			if err := json.Unmarshal([]byte(a[:end+1]), &v); err != nil {
				return err
			}
		}
		if err := fn(v); err != nil {
			return err
		}
		a = a[end+1:]
		if a != "" {
			if a[0] != ',' {
				return bad()
			}
			a = a[1:]
		}
	}
	return nil
}

// orNone returns xs, or an empty list for nil, so it encodes as a JSON array.
func orNone(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
