package sqlite

import (
	"context"
	"fmt"
)

// RuleProfiles returns the ids of the profiles whose rule names any of the
// entitlements, ordered.
func (t *tx) RuleProfiles(ctx context.Context, entitlements []string) ([]string, error) {
	if len(entitlements) == 0 {
		return []string{}, nil
	}
	var e encoder
	ents := e.json(entitlements)
	if e.err != nil {
		return nil, e.err
	}
	ids, err := list(ctx, t.tx, scanString, `
		SELECT DISTINCT profile_id FROM profile_rules
		WHERE entitlement_id IN (SELECT value FROM json_each(?))
		ORDER BY profile_id`, ents)
	if err != nil {
		return nil, fmt.Errorf("rule profiles: %w", err)
	}
	return ids, nil
}

// TriggerProfiles marks profiles for a sync.
func (t *tx) TriggerProfiles(ctx context.Context, profiles []string) error {
	for _, p := range profiles {
		if _, err := t.tx.ExecContext(ctx, `INSERT OR IGNORE INTO profile_triggers (profile_id) VALUES (?)`, p); err != nil {
			return fmt.Errorf("trigger profile %q: %w", p, err)
		}
	}
	return nil
}

// TriggeredProfiles returns up to limit marked profiles, ordered.
func (t *tx) TriggeredProfiles(ctx context.Context, limit int) ([]string, error) {
	ids, err := list(ctx, t.tx, scanString, `SELECT profile_id FROM profile_triggers ORDER BY profile_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("triggered profiles: %w", err)
	}
	return ids, nil
}

// ClearTrigger removes a profile's mark.
func (t *tx) ClearTrigger(ctx context.Context, profile string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM profile_triggers WHERE profile_id = ?`, profile); err != nil {
		return fmt.Errorf("clear trigger of %q: %w", profile, err)
	}
	return nil
}

// DisabledUsers returns those of ids whose status is not active, ordered.
func (t *tx) DisabledUsers(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{}, nil
	}
	var e encoder
	list_ := e.json(ids)
	if e.err != nil {
		return nil, e.err
	}
	out, err := list(ctx, t.tx, scanString, `
		SELECT id FROM users
		WHERE status <> 'active' AND id IN (SELECT value FROM json_each(?))
		ORDER BY id`, list_)
	if err != nil {
		return nil, fmt.Errorf("disabled users: %w", err)
	}
	return out, nil
}
