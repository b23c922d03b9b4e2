package http

import (
	"context"
	"net/http"

	"github.com/rosterhq/roster"
)

// handleApply handles POST /api/v1/apply.
func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) error {
	var req roster.ApplyRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	res, err := s.service.Apply(r.Context(), req)
	if err != nil {
		return err
	}
	res.Changes = nonNil(res.Changes)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// Apply validates and, unless req.DryRun, applies a declarative file.
func (c *Client) Apply(ctx context.Context, req roster.ApplyRequest) (*roster.ApplyResult, error) {
	return call[roster.ApplyResult](ctx, c, http.MethodPost, "/api/v1/apply", nil, req)
}
