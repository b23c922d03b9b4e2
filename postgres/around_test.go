package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/sqlstore"
	"github.com/rosterhq/roster/postgres"
)

// TestAroundReadsByIndexes: each statement of a decision's Around looks up
// what it reads in an index, in an organisation of 20,000 entitlements
// (and as many rules, grants, memberships and tasks), analyzed. Asked as
// "id IN (the profile's contents)", PostgreSQL expected a hundred rows of
// jsonb_array_elements_text and read the entitlements and rules whole: 2
// and 3 ms a decision.
func TestAroundReadsByIndexes(t *testing.T) {
	ctx := context.Background()
	_, conn := migrated(t)
	for _, stmt := range []string{
		`INSERT INTO entitlements SELECT 'app-' || (i / 100) || '/ent-' || i, 'app-' || (i / 100), 'n', 'auto', 'auto', 'none', '[]', 'low', '', now(), now()
			FROM generate_series(1, 20000) i`,
		`INSERT INTO profiles SELECT 'p' || i, 'n', '', jsonb_build_array('app-1/ent-' || (100 + i), 'app-2/ent-' || (200 + i)), false, '{}', '{}', '{}', '{}', now(), now()
			FROM generate_series(1, 500) i`,
		`INSERT INTO profile_rules SELECT 'app-' || (i / 100) || '/ent-' || i, 'p' || (i % 500 + 1) FROM generate_series(1, 20000) i`,
		`INSERT INTO grants (user_id, entitlement_id, app, sources, created_at, updated_at)
			SELECT 'u' || (i % 5000), 'app-' || (i / 100) || '/ent-' || i, 'app-' || (i / 100), '["direct"]', now(), now() FROM generate_series(1, 20000) i`,
		`INSERT INTO members (profile_id, user_id, source, since) SELECT 'p' || (i % 500 + 1), 'u' || i, 'automation', now() FROM generate_series(1, 20000) i`,
		`INSERT INTO tasks (kind, user_id, entitlement_id, state, origin, profile_id, policy_id, steps, step, approvers, provisioning,
				provisioners, bypass, requested_by, reason, error, history, created_at, updated_at)
			SELECT 'grant', 'u' || (i % 5000), 'app-' || (i / 100) || '/ent-' || i,
				CASE WHEN i % 10 = 0 THEN 'pending_approval' ELSE 'done' END, 'manual', '', 'auto', '[]', 0, '[]', 'none',
				'[]', '', '', '', '', '[]', now(), now() FROM generate_series(1, 20000) i`,
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// By values, as a decision reads them, and by the task, as its locks'
	// round trip reads them.
	var task int64
	if err := conn.QueryRow(ctx, `SELECT min(id) FROM tasks WHERE user_id = 'u42'`).Scan(&task); err != nil {
		t.Fatal(err)
	}
	stmts, args := postgres.AroundStatements(sqlstore.AroundKey{User: "u42", Profile: "p5", Entitlement: "app-3/ent-300"})
	byTask, taskArgs := postgres.AroundStatements(sqlstore.AroundKey{Task: task})
	stmts, args = append(stmts, byTask...), append(args, taskArgs...)
	for i, stmt := range stmts {
		if strings.Contains(stmt, "FROM delegations") {
			continue // a handful of rows: read whole
		}
		var plan string
		if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+stmt, args[i]...).Scan(&plan); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		if strings.Contains(plan, `"Seq Scan"`) {
			t.Errorf("%s\nreads a table whole:\n%s", stmt, plan)
		}
	}
}
