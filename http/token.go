package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// handleCreateToken handles POST /api/v1/tokens: {"user","name","expires"}.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var req roster.TokenRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	t, err := s.service.CreateToken(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

// handleTokens handles GET /api/v1/tokens[?user=U].
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	user := q.str("user")
	if q.err != nil {
		return q.err
	}
	ts, err := s.service.Tokens(r.Context(), user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(ts))
	return nil
}

// handleRevokeToken handles DELETE /api/v1/tokens/{id}.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.service.RevokeToken(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// handleSessions handles GET /api/v1/sessions[?user=U].
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	user := q.str("user")
	if q.err != nil {
		return q.err
	}
	ss, err := s.service.Sessions(r.Context(), user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(ss))
	return nil
}

// handleRevokeSession handles DELETE /api/v1/sessions/{id}.
func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.service.RevokeSession(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// CreateToken issues an API token.
func (c *Client) CreateToken(ctx context.Context, req roster.TokenRequest) (*roster.Token, error) {
	return call[roster.Token](ctx, c, http.MethodPost, "/api/v1/tokens", nil, req)
}

// Tokens lists API tokens: the caller's own, or user's.
func (c *Client) Tokens(ctx context.Context, user string) ([]roster.Token, error) {
	out, err := call[[]roster.Token](ctx, c, http.MethodGet, "/api/v1/tokens", url.Values(params{}.str("user", user)), nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, id string) (*roster.Token, error) {
	return call[roster.Token](ctx, c, http.MethodDelete, "/api/v1/tokens/"+esc(id), nil, nil)
}

// Sessions lists console sessions: the caller's own, or user's.
func (c *Client) Sessions(ctx context.Context, user string) ([]roster.Session, error) {
	out, err := call[[]roster.Session](ctx, c, http.MethodGet, "/api/v1/sessions", url.Values(params{}.str("user", user)), nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RevokeSession ends a console session.
func (c *Client) RevokeSession(ctx context.Context, id string) (*roster.Session, error) {
	return call[roster.Session](ctx, c, http.MethodDelete, "/api/v1/sessions/"+esc(id), nil, nil)
}
