package http

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// handleApps handles GET /api/v1/apps.
func (s *Server) handleApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.service.Apps(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(apps))
	return nil
}

// handleEntitlements handles GET /api/v1/entitlements.
func (s *Server) handleEntitlements(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.EntitlementFilter{
		App:    q.str("app"),
		Cursor: q.str("cursor"),
		Limit:  q.int("limit"),
	}
	if q.err != nil {
		return q.err
	}
	page, err := s.service.Entitlements(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// handlePolicies handles GET /api/v1/policies.
func (s *Server) handlePolicies(w http.ResponseWriter, r *http.Request) error {
	policies, err := s.service.Policies(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(policies))
	return nil
}

// handleSettings handles GET /api/v1/settings.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) error {
	settings, err := s.service.Settings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settings)
	return nil
}

// handleEvents handles GET /api/v1/events.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.EventFilter{
		Action:     roster.AuditAction(q.str("action")),
		Actor:      q.str("actor"),
		ObjectType: q.str("object_type"),
		ObjectID:   q.str("object_id"),
		Since:      q.time("since"),
		Until:      q.time("until"),
		Newest:     q.bool("newest"),
		Cursor:     q.str("cursor"),
		Limit:      q.int("limit"),
	}
	if q.err != nil {
		return q.err
	}
	if as := q.str("actions"); as != "" {
		for _, a := range strings.Split(as, ",") {
			f.Actions = append(f.Actions, roster.AuditAction(a))
		}
	}
	page, err := s.service.Events(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// Apps returns every app.
func (c *Client) Apps(ctx context.Context) ([]roster.App, error) {
	return list[roster.App](ctx, c, http.MethodGet, "/api/v1/apps", nil, nil)
}

// Entitlements returns one page of the entitlements f selects.
func (c *Client) Entitlements(ctx context.Context, f roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	q := params{}.
		str("app", f.App).
		str("cursor", f.Cursor).
		int("limit", f.Limit)
	return call[roster.Page[roster.Entitlement]](ctx, c, http.MethodGet, "/api/v1/entitlements", url.Values(q), nil)
}

// Policies returns every policy.
func (c *Client) Policies(ctx context.Context) ([]roster.Policy, error) {
	return list[roster.Policy](ctx, c, http.MethodGet, "/api/v1/policies", nil, nil)
}

// Settings returns the tenant settings.
func (c *Client) Settings(ctx context.Context) (*roster.Settings, error) {
	return call[roster.Settings](ctx, c, http.MethodGet, "/api/v1/settings", nil, nil)
}

// Events returns one page of the audit events f selects.
func (c *Client) Events(ctx context.Context, f roster.EventFilter) (*roster.Page[roster.Event], error) {
	q := params{}.
		str("action", string(f.Action)).
		str("actor", f.Actor).
		str("object_type", f.ObjectType).
		str("object_id", f.ObjectID).
		str("cursor", f.Cursor).
		bool("newest", f.Newest).
		int("limit", f.Limit)
	if !f.Since.IsZero() {
		url.Values(q).Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		url.Values(q).Set("until", f.Until.Format(time.RFC3339Nano))
	}
	if len(f.Actions) > 0 {
		as := make([]string, len(f.Actions))
		for i, a := range f.Actions {
			as[i] = string(a)
		}
		url.Values(q).Set("actions", strings.Join(as, ","))
	}
	return call[roster.Page[roster.Event]](ctx, c, http.MethodGet, "/api/v1/events", url.Values(q), nil)
}
