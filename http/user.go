package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	User string `json:"user"`
}

// handleUsers handles GET /api/v1/users.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.UserFilter{
		Status:     q.str("status"),
		Department: q.str("department"),
		Manager:    q.str("manager"),
		Cursor:     q.str("cursor"),
		Limit:      q.int("limit"),
	}
	if q.err != nil {
		return q.err
	}
	page, err := s.service.Users(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// handleUser handles GET /api/v1/users/{id}.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.service.User(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// handleWhoami handles GET /api/v1/me.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) error {
	u, err := s.service.Whoami(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// handleCreateToken handles POST /api/v1/tokens.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	t, err := s.service.CreateToken(r.Context(), req.User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

// User returns one user.
func (c *Client) User(ctx context.Context, id string) (*roster.User, error) {
	return call[roster.User](ctx, c, http.MethodGet, "/api/v1/users/"+esc(id), nil, nil)
}

// Users returns one page of the users f selects.
func (c *Client) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	q := params{}.
		str("status", f.Status).
		str("department", f.Department).
		str("manager", f.Manager).
		str("cursor", f.Cursor).
		int("limit", f.Limit)
	return call[roster.Page[roster.User]](ctx, c, http.MethodGet, "/api/v1/users", url.Values(q), nil)
}

// Whoami returns the token's user.
func (c *Client) Whoami(ctx context.Context) (*roster.User, error) {
	return call[roster.User](ctx, c, http.MethodGet, "/api/v1/me", nil, nil)
}

// CreateToken issues an API token for user.
func (c *Client) CreateToken(ctx context.Context, user string) (*roster.Token, error) {
	return call[roster.Token](ctx, c, http.MethodPost, "/api/v1/tokens", nil, tokenRequest{User: user})
}
