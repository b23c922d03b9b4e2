package sqlstore

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster"
)

// --- change requests ---

// A change request is kept whole as JSON; its state and author are columns
// too, for listing.

func scanChange(r Row) (roster.ChangeRequest, error) {
	var (
		c    roster.ChangeRequest
		data []byte
	)
	if err := r.Scan(&data); err != nil {
		return c, err
	}
	err := decJSON("change request", data, &c)
	return c, err
}

// CreateChange stores a new change request and gives it the next id. Two
// replicas that take the same id at once: the second fails with ECONFLICT,
// and the caller may try again.
func (t *Tx) CreateChange(ctx context.Context, c *roster.ChangeRequest) error {
	var next int64
	if err := t.Q.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM change_requests`).Scan(&next); err != nil {
		return fmt.Errorf("create change request: next id: %w", err)
	}
	c.ID = next
	e := t.enc()
	args := []any{c.ID, string(c.State), c.Author, e.time(c.CreatedAt), e.json(c)}
	if e.err != nil {
		return fmt.Errorf("create change request: %w", e.err)
	}
	_, err := t.Q.ExecUnique(ctx, `INSERT INTO change_requests (id, state, author, created_at, data) VALUES (?, ?, ?, ?, ?)`, args...)
	if t.D.UniqueViolation(err) {
		return roster.Errorf(roster.ECONFLICT, "another change request took id %d at the same moment: try again", c.ID)
	} else if err != nil {
		return fmt.Errorf("create change request: %w", err)
	}
	return nil
}

// Change returns one change request.
func (t *Tx) Change(ctx context.Context, id int64) (*roster.ChangeRequest, error) {
	c, err := one(ctx, t, scanChange, roster.Errorf(roster.ENOTFOUND, "change request %d not found", id),
		`SELECT data FROM change_requests WHERE id = ?`, id)
	if failed(err) {
		return nil, fmt.Errorf("change request %d: %w", id, err)
	}
	return c, err
}

// Changes lists the change requests f selects, newest first.
func (t *Tx) Changes(ctx context.Context, f roster.ChangeFilter) ([]roster.ChangeRequest, error) {
	q, args := `SELECT data FROM change_requests`, []any{}
	if f.State != "" {
		q, args = q+` WHERE state = ?`, append(args, string(f.State))
	}
	out, err := List(ctx, t.Q, scanChange, q+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("change requests: %w", err)
	}
	return out, nil
}

// UpdateChange stores a change request's new state.
func (t *Tx) UpdateChange(ctx context.Context, c *roster.ChangeRequest) error {
	e := t.enc()
	args := []any{string(c.State), e.json(c), c.ID}
	if e.err != nil {
		return fmt.Errorf("update change request %d: %w", c.ID, e.err)
	}
	n, err := t.Q.Exec(ctx, `UPDATE change_requests SET state = ?, data = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("update change request %d: %w", c.ID, err)
	}
	if n == 0 {
		return roster.Errorf(roster.ENOTFOUND, "change request %d not found", c.ID)
	}
	return nil
}
