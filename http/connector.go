package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// handleConnectors handles GET /api/v1/connectors.
func (s *Server) handleConnectors(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.service.Connectors(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(cs))
	return nil
}

// handleConnector handles GET /api/v1/connectors/{id}.
func (s *Server) handleConnector(w http.ResponseWriter, r *http.Request) error {
	c, err := s.service.Connector(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleConnectorSync handles POST /api/v1/connectors/{id}/sync.
func (s *Server) handleConnectorSync(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.SyncConnector(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleConnectorResume handles POST /api/v1/connectors/{id}/resume.
func (s *Server) handleConnectorResume(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.ResumeConnector(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func connectorPath(id string) string { return "/api/v1/connectors/" + url.PathEscape(id) }

// Connectors lists the connectors.
func (c *Client) Connectors(ctx context.Context) ([]roster.Connector, error) {
	out, err := call[[]roster.Connector](ctx, c, http.MethodGet, "/api/v1/connectors", nil, nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// Connector returns one connector.
func (c *Client) Connector(ctx context.Context, id string) (*roster.Connector, error) {
	return call[roster.Connector](ctx, c, http.MethodGet, connectorPath(id), nil, nil)
}

// SyncConnector syncs a connector now and waits for it.
func (c *Client) SyncConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	return call[roster.ConnectorSyncResult](ctx, c, http.MethodPost, connectorPath(id)+"/sync", nil, struct{}{})
}

// ResumeConnector carries out a held connector sync.
func (c *Client) ResumeConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	return call[roster.ConnectorSyncResult](ctx, c, http.MethodPost, connectorPath(id)+"/resume", nil, struct{}{})
}
