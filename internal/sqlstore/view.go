package sqlstore

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
)

// ScanOpenTasks is the part of ScanSync both stores read alike: it passes
// to s.OpenTask each open task of the enrollment entitlements of
// s.Profiles. Open tasks are few next to closed ones: it reads them all, in
// the order of their ids, and keeps those.
func (t *Tx) ScanOpenTasks(ctx context.Context, s *roster.SyncScan) error {
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
