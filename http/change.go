package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster"
)

// handleChanges handles GET /api/v1/changes[?state=pending].
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.ChangeFilter{State: roster.ChangeState(q.str("state"))}
	if q.err != nil {
		return q.err
	}
	switch f.State {
	case "", roster.ChangePending, roster.ChangeApplied, roster.ChangeDenied:
	default:
		return roster.Errorf(roster.EINVALID, "state must be pending, applied or denied, not %q", f.State)
	}
	cs, err := s.service.Changes(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(cs))
	return nil
}

// handleChange handles GET /api/v1/changes/{id}.
func (s *Server) handleChange(w http.ResponseWriter, r *http.Request) error {
	id, err := changeID(r)
	if err != nil {
		return err
	}
	c, err := s.service.Change(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleChangeAction handles POST /api/v1/changes/{id}/approve and /deny.
func (s *Server) handleChangeAction(act func(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := changeID(r)
		if err != nil {
			return err
		}
		var req commentRequest
		if err := readJSON(r, &req, true); err != nil {
			return err
		}
		c, err := act(r.Context(), id, req.Comment)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func changeID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, roster.Errorf(roster.EINVALID, "change request id must be an integer, not %q", r.PathValue("id"))
	}
	return id, nil
}

func changePath(id int64) string { return "/api/v1/changes/" + strconv.FormatInt(id, 10) }

// Changes lists change requests, newest first.
func (c *Client) Changes(ctx context.Context, f roster.ChangeFilter) ([]roster.ChangeRequest, error) {
	return list[roster.ChangeRequest](ctx, c, http.MethodGet, "/api/v1/changes", url.Values(params{}.str("state", string(f.State))), nil)
}

// Change returns one change request.
func (c *Client) Change(ctx context.Context, id int64) (*roster.ChangeRequest, error) {
	return call[roster.ChangeRequest](ctx, c, http.MethodGet, changePath(id), nil, nil)
}

// ApproveChange approves and applies a change request.
func (c *Client) ApproveChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	return call[roster.ChangeRequest](ctx, c, http.MethodPost, changePath(id)+"/approve", nil, commentRequest{Comment: comment})
}

// DenyChange denies or withdraws a change request.
func (c *Client) DenyChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	return call[roster.ChangeRequest](ctx, c, http.MethodPost, changePath(id)+"/deny", nil, commentRequest{Comment: comment})
}
