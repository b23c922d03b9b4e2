package http

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

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
	q := newQuery(r)
	f := roster.ProfileFilter{User: q.str("user"), WithoutMembers: q.bool("without_members")}
	if q.err != nil {
		return q.err
	}
	profiles, err := s.service.Profiles(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(profiles))
	return nil
}

// handleProfile handles GET /api/v1/profiles/{id}.
func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.ProfileFilter{ID: pathID(r), User: q.str("user"), WithoutMembers: q.bool("without_members")}
	if q.err != nil {
		return q.err
	}
	ps, err := s.service.Profiles(r.Context(), f)
	if err != nil {
		return err
	}
	if len(ps) != 1 {
		return roster.Errorf(roster.ENOTFOUND, "profile %s not found", f.ID)
	}
	writeJSON(w, http.StatusOK, ps[0])
	return nil
}

// handleProfileMembers handles GET /api/v1/profiles/{id}/members.
func (s *Server) handleProfileMembers(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := roster.MemberFilter{Cursor: q.str("cursor"), Limit: q.int("limit")}
	if q.err != nil {
		return q.err
	}
	page, err := s.service.ProfileMembers(r.Context(), pathID(r), f)
	if err != nil {
		return err
	}
	writePage(w, page)
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

// Profile returns one profile with its members and automation state. It
// reads the profile without its members, then every page of them.
func (c *Client) Profile(ctx context.Context, id string) (*roster.ProfileView, error) {
	p, err := call[roster.ProfileView](ctx, c, http.MethodGet, "/api/v1/profiles/"+esc(id),
		url.Values(params{}.bool("without_members", true)), nil)
	if err != nil {
		return nil, err
	}
	p.Members = []roster.MemberView{}
	seen := map[string]bool{}
	for f := (roster.MemberFilter{Limit: roster.MaxPageSize}); ; {
		page, err := c.ProfileMembers(ctx, id, f)
		if err != nil {
			return nil, err
		}
		p.Members = append(p.Members, page.Items...)
		if page.NextCursor == "" {
			return p, nil
		}
		if seen[page.NextCursor] {
			return nil, fmt.Errorf("the server sent the page cursor %q twice; stopping to avoid a loop", page.NextCursor)
		}
		seen[page.NextCursor] = true
		f.Cursor = page.NextCursor
	}
}

// Profiles returns the profiles f selects.
func (c *Client) Profiles(ctx context.Context, f roster.ProfileFilter) ([]roster.ProfileView, error) {
	if f.ID != "" {
		p, err := call[roster.ProfileView](ctx, c, http.MethodGet, "/api/v1/profiles/"+esc(f.ID),
			url.Values(params{}.str("user", f.User).bool("without_members", f.WithoutMembers)), nil)
		if err != nil {
			return nil, err
		}
		return []roster.ProfileView{*p}, nil
	}
	return list[roster.ProfileView](ctx, c, http.MethodGet, "/api/v1/profiles",
		url.Values(params{}.str("user", f.User).bool("without_members", f.WithoutMembers)), nil)
}

// ProfileMembers returns one page of a profile's members.
func (c *Client) ProfileMembers(ctx context.Context, profile string, f roster.MemberFilter) (*roster.Page[roster.MemberView], error) {
	q := params{}.str("cursor", f.Cursor).int("limit", f.Limit)
	return call[roster.Page[roster.MemberView]](ctx, c, http.MethodGet, "/api/v1/profiles/"+esc(profile)+"/members", url.Values(q), nil)
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
