package sqlstore

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
)

// ScanProfiles is the part of ScanSync both stores read alike, after the
// members: the open tasks, denials and removals of s.Profiles.
func (t *Tx) ScanProfiles(ctx context.Context, s *roster.SyncScan) error {
	if len(s.Profiles) == 0 {
		return nil
	}
	if s.OpenTask != nil {
		if err := t.scanOpenTasks(ctx, s); err != nil {
			return err
		}
	}
	return t.scanDenialsAndRemovals(ctx, s)
}

// scanOpenTasks passes to s.OpenTask each open task of the enrollment
// entitlements of s.Profiles. Open tasks are few next to closed ones: it
// reads them all (through tasks_state), in the order of their ids, and
// keeps those.
func (t *Tx) scanOpenTasks(ctx context.Context, s *roster.SyncScan) error {
	of := make(map[string]int, len(s.Profiles))
	for i, p := range s.Profiles {
		of[roster.EnrollmentEntitlement(p)] = i
	}
	err := Each(ctx, t.Q, `SELECT id, kind, user_id, origin, entitlement_id FROM tasks
		WHERE state IN `+OpenStates+` ORDER BY id`, nil,
		func(r Row) error {
			var (
				o   roster.OpenTask
				ent string
			)
			if err := r.Scan(&o.ID, &o.Kind, &o.User, &o.Origin, &ent); err != nil {
				return err
			}
			if i, ok := of[ent]; ok {
				return s.OpenTask(i, o)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("scan sync: open tasks: %w", err)
	}
	return nil
}

// scanDenialsAndRemovals passes to s.Denial each denial of s.Profiles, and
// to s.Removals the number of removals from each of them at or after
// s.RemovalsSince. The profiles travel as one argument; each row carries
// the profile's position in them.
func (t *Tx) scanDenialsAndRemovals(ctx context.Context, s *roster.SyncScan) error {
	if s.Denial == nil && s.Removals == nil {
		return nil
	}
	e := t.enc()
	profiles, since := e.ids(s.Profiles), e.time(s.RemovalsSince)
	if e.err != nil {
		return fmt.Errorf("scan sync: %w", e.err)
	}
	if s.Denial != nil {
		err := Each(ctx, t.Q, `
			SELECT j.key, d.user_id, d.kind, d.at FROM `+t.D.Positions()+`
			JOIN denials AS d ON d.profile_id = j.value`, []any{profiles},
			func(r Row) error {
				var v struct {
					i  int
					d  roster.Denial
					at timeDest
				}
				if err := r.Scan(&v.i, &v.d.User, &v.d.Kind, &v.at); err != nil {
					return err
				}
				v.d.Profile, v.d.At = s.Profiles[v.i], v.at.T
				return s.Denial(v.i, v.d)
			})
		if err != nil {
			return fmt.Errorf("scan sync: denials: %w", err)
		}
	}
	if s.Removals != nil {
		err := Each(ctx, t.Q, `
			SELECT j.key, COUNT(*) FROM `+t.D.Positions()+`
			JOIN removals AS r ON r.profile_id = j.value AND r.at >= ?
			GROUP BY j.key`, []any{profiles, since},
			func(r Row) error {
				var i, n int
				if err := r.Scan(&i, &n); err != nil {
					return err
				}
				return s.Removals(i, n)
			})
		if err != nil {
			return fmt.Errorf("scan sync: removals: %w", err)
		}
	}
	return nil
}
