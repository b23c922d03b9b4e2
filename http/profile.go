package http

import (
	"context"
	"net/http"

	"github.com/rosterhq/roster"
)

// enrollRequest is the body of POST /api/v1/profiles/{id}/enroll and unenroll.
type enrollRequest struct {
	Users   []string `json:"users"`
	Comment string   `json:"comment"`
	// Exclude, for an unenrollment, also excludes the users from the rule.
	Exclude bool `json:"exclude,omitempty"`
}

// commentRequest is the body of the routes that take only a comment.
type commentRequest struct {
	Comment string `json:"comment"`
}

// handleProfiles handles GET /api/v1/profiles.
func (s *Server) handleProfiles(w http.ResponseWriter, r *http.Request) error {
	profiles, err := s.service.Profiles(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(profiles))
	return nil
}

// handleProfile handles GET /api/v1/profiles/{id}.
func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.service.Profile(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// handleSync handles POST /api/v1/profiles/{id}/sync.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.Sync(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleSyncAll handles POST /api/v1/sync.
func (s *Server) handleSyncAll(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.SyncAll(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(res))
	return nil
}

// handleResume handles POST /api/v1/profiles/{id}/resume.
func (s *Server) handleResume(w http.ResponseWriter, r *http.Request) error {
	res, err := s.service.Resume(r.Context(), pathID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleEnroll handles POST /api/v1/profiles/{id}/enroll.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	var req enrollRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	tasks, err := s.service.Enroll(r.Context(), pathID(r), req.Users, req.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(tasks))
	return nil
}

// handleUnenroll handles POST /api/v1/profiles/{id}/unenroll.
func (s *Server) handleUnenroll(w http.ResponseWriter, r *http.Request) error {
	var req enrollRequest
	if err := readJSON(r, &req, false); err != nil {
		return err
	}
	tasks, err := s.service.Unenroll(r.Context(), pathID(r), req.Users, req.Comment, req.Exclude)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(tasks))
	return nil
}

// handleRequestProfile handles POST /api/v1/profiles/{id}/request.
func (s *Server) handleRequestProfile(w http.ResponseWriter, r *http.Request) error {
	var req commentRequest
	if err := readJSON(r, &req, true); err != nil {
		return err
	}
	task, err := s.service.RequestProfile(r.Context(), pathID(r), req.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, task)
	return nil
}

// Sync syncs one profile now.
func (c *Client) Sync(ctx context.Context, profile string) (*roster.SyncResult, error) {
	return call[roster.SyncResult](ctx, c, http.MethodPost, "/api/v1/profiles/"+esc(profile)+"/sync", nil, nil)
}

// SyncAll syncs every profile whose automation is enabled.
func (c *Client) SyncAll(ctx context.Context) ([]roster.SyncResult, error) {
	return list[roster.SyncResult](ctx, c, http.MethodPost, "/api/v1/sync", nil, nil)
}

// Resume applies the staged plan of a paused profile.
func (c *Client) Resume(ctx context.Context, profile string) (*roster.SyncResult, error) {
	return call[roster.SyncResult](ctx, c, http.MethodPost, "/api/v1/profiles/"+esc(profile)+"/resume", nil, nil)
}

// Profile returns one profile with its members and automation state.
func (c *Client) Profile(ctx context.Context, id string) (*roster.ProfileView, error) {
	return call[roster.ProfileView](ctx, c, http.MethodGet, "/api/v1/profiles/"+esc(id), nil, nil)
}

// Profiles returns every profile.
func (c *Client) Profiles(ctx context.Context) ([]roster.ProfileView, error) {
	return list[roster.ProfileView](ctx, c, http.MethodGet, "/api/v1/profiles", nil, nil)
}

// Enroll starts manual enrollments of users in a profile.
func (c *Client) Enroll(ctx context.Context, profile string, users []string, comment string) ([]roster.Task, error) {
	return list[roster.Task](ctx, c, http.MethodPost, "/api/v1/profiles/"+esc(profile)+"/enroll", nil,
		enrollRequest{Users: users, Comment: comment})
}

// Unenroll starts manual unenrollments of users from a profile.
func (c *Client) Unenroll(ctx context.Context, profile string, users []string, comment string, exclude bool) ([]roster.Task, error) {
	return list[roster.Task](ctx, c, http.MethodPost, "/api/v1/profiles/"+esc(profile)+"/unenroll", nil,
		enrollRequest{Users: users, Comment: comment, Exclude: exclude})
}

// RequestProfile requests a profile for the token's user.
func (c *Client) RequestProfile(ctx context.Context, profile string, comment string) (*roster.Task, error) {
	return call[roster.Task](ctx, c, http.MethodPost, "/api/v1/profiles/"+esc(profile)+"/request", nil,
		commentRequest{Comment: comment})
}
