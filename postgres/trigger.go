package postgres

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
	ids, err := list(ctx, t, scanString, `
		SELECT DISTINCT profile_id FROM profile_rules
		WHERE entitlement_id = ANY($1)
		ORDER BY profile_id`, entitlements)
	if err != nil {
		return nil, fmt.Errorf("rule profiles: %w", err)
	}
	return ids, nil
}

// TriggerProfiles marks profiles for a sync.
func (t *tx) TriggerProfiles(ctx context.Context, profiles []string) error {
	if len(profiles) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `
		INSERT INTO profile_triggers (profile_id) SELECT DISTINCT p FROM unnest($1::text[]) AS p
		ON CONFLICT DO NOTHING`, profiles); err != nil {
		return fmt.Errorf("trigger profiles: %w", err)
	}
	return nil
}

// TriggeredProfiles returns up to limit marked profiles, ordered.
func (t *tx) TriggeredProfiles(ctx context.Context, limit int) ([]string, error) {
	ids, err := list(ctx, t, scanString, `SELECT profile_id FROM profile_triggers ORDER BY profile_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("triggered profiles: %w", err)
	}
	return ids, nil
}

// ClearTrigger removes a profile's mark.
func (t *tx) ClearTrigger(ctx context.Context, profile string) error {
	if _, err := t.exec(ctx, `DELETE FROM profile_triggers WHERE profile_id = $1`, profile); err != nil {
		return fmt.Errorf("clear trigger of %q: %w", profile, err)
	}
	return nil
}

// DisabledUsers returns those of ids whose status is not active, ordered.
func (t *tx) DisabledUsers(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{}, nil
	}
	out, err := list(ctx, t, scanString, `
		SELECT id FROM users WHERE status <> 'active' AND id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("disabled users: %w", err)
	}
	return out, nil
}
