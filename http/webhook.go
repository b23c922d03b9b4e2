package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
)

// handleWebhooks handles GET /api/v1/webhooks.
func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) error {
	hs, err := s.service.Webhooks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(hs))
	return nil
}

// handleWebhookTest handles POST /api/v1/webhooks/{id}/test.
func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.TestWebhook(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// Webhooks lists the outbound webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]roster.WebhookStatus, error) {
	out, err := call[[]roster.WebhookStatus](ctx, c, http.MethodGet, "/api/v1/webhooks", nil, nil)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// TestWebhook sends a webhook.test message to a webhook now.
func (c *Client) TestWebhook(ctx context.Context, id string) (*roster.WebhookTestResult, error) {
	return call[roster.WebhookTestResult](ctx, c, http.MethodPost, "/api/v1/webhooks/"+url.PathEscape(id)+"/test", nil, struct{}{})
}
