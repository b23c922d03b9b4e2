package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// handleUsers handles GET /api/v1/users.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.UserFilter{
		Query:      q.str("q"),
		Status:     q.str("status"),
		Department: q.str("department"),
		Manager:    q.str("manager"),
		Cursor:     q.str("cursor"),
		Limit:      q.int("limit"),
		Total:      q.bool("total"),
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

// handleWhy handles GET /api/v1/users/{id}/why?entitlement=APP/ENT.
func (s *Server) handleWhy(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	ent := q.str("entitlement")
	if q.err != nil {
		return q.err
	}
	if ent == "" {
		return roster.Errorf(roster.EINVALID, "entitlement is required: ?entitlement=APP/ENT")
	}
	x, err := s.service.Why(r.Context(), pathID(r), ent)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
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

// User returns one user.
func (c *Client) User(ctx context.Context, id string) (*roster.User, error) {
	return call[roster.User](ctx, c, http.MethodGet, "/api/v1/users/"+esc(id), nil, nil)
}

// Why explains a user's access to one entitlement.
func (c *Client) Why(ctx context.Context, user, entitlement string) (*roster.Explanation, error) {
	return call[roster.Explanation](ctx, c, http.MethodGet, "/api/v1/users/"+esc(user)+"/why", url.Values(params{}.str("entitlement", entitlement)), nil)
}

// Users returns one page of the users f selects.
func (c *Client) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	q := params{}.
		str("q", f.Query).
		str("status", f.Status).
		str("department", f.Department).
		str("manager", f.Manager).
		str("cursor", f.Cursor).
		int("limit", f.Limit).
		bool("total", f.Total)
	return call[roster.Page[roster.User]](ctx, c, http.MethodGet, "/api/v1/users", url.Values(q), nil)
}

// Whoami returns the token's user.
func (c *Client) Whoami(ctx context.Context) (*roster.User, error) {
	return call[roster.User](ctx, c, http.MethodGet, "/api/v1/me", nil, nil)
}
