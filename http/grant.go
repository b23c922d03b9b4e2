package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// grantRequest is the body of POST /api/v1/grants.
type grantRequest struct {
	User        string `json:"user"`
	Entitlement string `json:"entitlement"`
}

// handleGrants handles GET /api/v1/grants.
func (s *Server) handleGrants(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.GrantFilter{
		User:        q.str("user"),
		Entitlement: q.str("entitlement"),
		App:         q.str("app"),
		Cursor:      q.str("cursor"),
		Limit:       q.int("limit"),
	}
	if q.err != nil {
		return q.err
	}
	page, err := s.service.Grants(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// handleAddGrant handles POST /api/v1/grants.
func (s *Server) handleAddGrant(w http.ResponseWriter, r *http.Request) error {
	var req grantRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	g, err := s.service.AddGrant(r.Context(), req.User, req.Entitlement)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// handleRemoveGrant handles DELETE /api/v1/grants?user=U&entitlement=E.
func (s *Server) handleRemoveGrant(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := s.service.RemoveGrant(r.Context(), q.Get("user"), q.Get("entitlement")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Grants returns one page of the grants f selects.
func (c *Client) Grants(ctx context.Context, f roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	q := params{}.
		str("user", f.User).
		str("entitlement", f.Entitlement).
		str("app", f.App).
		str("cursor", f.Cursor).
		int("limit", f.Limit)
	return call[roster.Page[roster.Grant]](ctx, c, http.MethodGet, "/api/v1/grants", url.Values(q), nil)
}

// AddGrant records that user holds entitlement (the direct source).
func (c *Client) AddGrant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	return call[roster.Grant](ctx, c, http.MethodPost, "/api/v1/grants", nil,
		grantRequest{User: user, Entitlement: entitlement})
}

// RemoveGrant records that user no longer holds entitlement.
func (c *Client) RemoveGrant(ctx context.Context, user, entitlement string) error {
	q := url.Values{"user": {user}, "entitlement": {entitlement}}
	return c.do(ctx, http.MethodDelete, "/api/v1/grants", q, nil, nil)
}
