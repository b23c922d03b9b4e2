package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// scanConnector scans a row of (body, created_at, updated_at).
func scanConnector(r Row) (roster.Connector, error) {
	var v struct {
		c            roster.Connector
		body         []byte
		created, upd timeDest
	}
	if err := r.Scan(&v.body, &v.created, &v.upd); err != nil {
		return v.c, err
	}
	if err := decJSON("connector", v.body, &v.c); err != nil {
		return v.c, err
	}
	v.c.CreatedAt, v.c.UpdatedAt = v.created.T, v.upd.T
	return v.c, nil
}

var (
	// A connector is its JSON body; id repeats the body's for the key.
	connectorTable  = newByID("connectors", "connector", "connectors", "body, created_at, updated_at", scanConnector)
	connectorUpsert = upsert("connectors", 1, "id, body, created_at, updated_at")
	stagedUpsert    = upsert("connector_staged", 1, "connector_id, snapshot")
	attemptUpsert   = upsert("provision_attempts", 1, "task_id, attempts, next_at, last_error")
)

// Connector returns a connector by id.
func (t *Tx) Connector(ctx context.Context, id string) (*roster.Connector, error) {
	return connectorTable.get(ctx, t, id)
}

// Connectors returns every connector, ordered by id.
func (t *Tx) Connectors(ctx context.Context) ([]roster.Connector, error) {
	return connectorTable.list(ctx, t)
}

// PutConnector inserts or replaces a connector.
func (t *Tx) PutConnector(ctx context.Context, c *roster.Connector) error {
	e := t.enc()
	body := *c
	body.CreatedAt, body.UpdatedAt = UTC(c.CreatedAt), UTC(c.UpdatedAt)
	body.MapTimes(UTC)
	args := []any{c.ID, e.json(body), e.time(c.CreatedAt), e.time(c.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put connector %q: %w", c.ID, e.err)
	}
	if _, err := t.Q.Exec(ctx, connectorUpsert, args...); err != nil {
		return fmt.Errorf("put connector %q: %w", c.ID, err)
	}
	return nil
}

// ConnectorUsers lists the users a connector feeds, sorted.
func (t *Tx) ConnectorUsers(ctx context.Context, connector string) ([]string, error) {
	ids, err := List(ctx, t.Q, ScanString,
		`SELECT user_id FROM connector_users WHERE connector_id = ? ORDER BY user_id`, connector)
	if err != nil {
		return nil, fmt.Errorf("users of connector %q: %w", connector, err)
	}
	return ids, nil
}

// SetConnectorUsers replaces the list of users a connector feeds.
func (t *Tx) SetConnectorUsers(ctx context.Context, connector string, users []string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM connector_users WHERE connector_id = ?`, connector); err != nil {
		return fmt.Errorf("set users of connector %q: %w", connector, err)
	}
	if err := t.insertIDs(ctx, `connector_users (connector_id, user_id)`, `?, id`, users, connector); err != nil {
		return fmt.Errorf("set users of connector %q: %w", connector, err)
	}
	return nil
}

// StagedSnapshot returns the snapshot a held sync keeps.
func (t *Tx) StagedSnapshot(ctx context.Context, connector string) ([]byte, error) {
	b, err := one(ctx, t, func(r Row) (b []byte, err error) { err = r.Scan(&b); return },
		roster.Errorf(roster.ENOTFOUND, "connector %q holds no sync", connector),
		`SELECT snapshot FROM connector_staged WHERE connector_id = ?`, connector)
	if failed(err) {
		return nil, fmt.Errorf("staged snapshot of %q: %w", connector, err)
	} else if err != nil {
		return nil, err
	}
	return *b, nil
}

// PutStagedSnapshot replaces (or, with nil data, deletes) a held sync's snapshot.
func (t *Tx) PutStagedSnapshot(ctx context.Context, connector string, data []byte) error {
	var err error
	if data == nil {
		_, err = t.Q.Exec(ctx, `DELETE FROM connector_staged WHERE connector_id = ?`, connector)
	} else {
		_, err = t.Q.Exec(ctx, stagedUpsert, connector, data)
	}
	if err != nil {
		return fmt.Errorf("put staged snapshot of %q: %w", connector, err)
	}
	return nil
}

// DueConnectorTasks lists tasks a connector should provision now.
func (t *Tx) DueConnectorTasks(ctx context.Context, now time.Time, limit int) ([]roster.Task, error) {
	e := t.enc()
	at := e.time(now)
	if e.err != nil {
		return nil, e.err
	}
	ts, err := List(ctx, t.Q, scanTask, `
		SELECT `+prefixed("t.", taskColumns)+` FROM tasks t
		LEFT JOIN provision_attempts a ON a.task_id = t.id
		WHERE t.state = 'pending_provisioning' AND t.provisioning = 'connector'
			AND (a.task_id IS NULL OR a.next_at <= ?)
		ORDER BY t.id LIMIT ?`, at, limit)
	if err != nil {
		return nil, fmt.Errorf("due connector tasks: %w", err)
	}
	return ts, nil
}

// ProvisionAttempt returns a task's connector attempts.
func (t *Tx) ProvisionAttempt(ctx context.Context, task int64) (*roster.ProvisionAttempt, error) {
	a, err := one(ctx, t, func(r Row) (roster.ProvisionAttempt, error) {
		var a roster.ProvisionAttempt
		var next timeDest
		err := r.Scan(&a.Task, &a.Attempts, &next, &a.LastError)
		a.NextAt = next.T
		return a, err
	}, roster.Errorf(roster.ENOTFOUND, "no attempts"),
		`SELECT task_id, attempts, next_at, last_error FROM provision_attempts WHERE task_id = ?`, task)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return &roster.ProvisionAttempt{Task: task}, nil
	} else if err != nil {
		return nil, fmt.Errorf("provision attempts of task %d: %w", task, err)
	}
	return a, nil
}

// PutProvisionAttempt records a task's connector attempts.
func (t *Tx) PutProvisionAttempt(ctx context.Context, a *roster.ProvisionAttempt) error {
	e := t.enc()
	next := e.time(a.NextAt)
	if e.err != nil {
		return e.err
	}
	if _, err := t.Q.Exec(ctx, attemptUpsert, a.Task, a.Attempts, next, a.LastError); err != nil {
		return fmt.Errorf("put provision attempts of task %d: %w", a.Task, err)
	}
	return nil
}

// DeleteProvisionAttempt forgets a task's connector attempts.
func (t *Tx) DeleteProvisionAttempt(ctx context.Context, task int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM provision_attempts WHERE task_id = ?`, task); err != nil {
		return fmt.Errorf("delete provision attempts of task %d: %w", task, err)
	}
	return nil
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
