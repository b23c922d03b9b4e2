package http

import (
	"context"
	"net/http"

	"github.com/rosterhq/roster"
)

// handleDelegate handles PUT /api/v1/users/{id}/delegation:
// {"delegate","until"}.
func (s *Server) handleDelegate(w http.ResponseWriter, r *http.Request) error {
	var req roster.DelegationRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	d, err := s.service.Delegate(r.Context(), pathID(r), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// handleEndDelegation handles DELETE /api/v1/users/{id}/delegation.
func (s *Server) handleEndDelegation(w http.ResponseWriter, r *http.Request) error {
	d, err := s.service.EndDelegation(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// handleDelegations handles GET /api/v1/users/{id}/delegation.
func (s *Server) handleDelegations(w http.ResponseWriter, r *http.Request) error {
	d, err := s.service.Delegations(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// Delegate names a delegate to decide in user's place.
func (c *Client) Delegate(ctx context.Context, user string, req roster.DelegationRequest) (*roster.Delegation, error) {
	return call[roster.Delegation](ctx, c, http.MethodPut, "/api/v1/users/"+esc(user)+"/delegation", nil, req)
}

// EndDelegation ends user's delegation.
func (c *Client) EndDelegation(ctx context.Context, user string) (*roster.Delegation, error) {
	return call[roster.Delegation](ctx, c, http.MethodDelete, "/api/v1/users/"+esc(user)+"/delegation", nil, nil)
}

// Delegations returns whom user named and for whom they decide.
func (c *Client) Delegations(ctx context.Context, user string) (*roster.UserDelegations, error) {
	return call[roster.UserDelegations](ctx, c, http.MethodGet, "/api/v1/users/"+esc(user)+"/delegation", nil, nil)
}
