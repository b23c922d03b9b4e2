package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/rosterhq/roster"
)

// yamlTypes are the media types of a declarative file sent as it is.
var yamlTypes = map[string]bool{"application/yaml": true, "application/x-yaml": true, "text/yaml": true}

// handleApply handles POST /api/v1/apply. The file comes either as it is,
// with Content-Type application/yaml (JSON being YAML too) and the query
// parameters filename, dry_run and confirm_over, or as a JSON
// roster.ApplyRequest whose document is base64 (a third larger on the wire).
func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) error {
	req, release, err := s.readApply(w, r, "apply declarative files")
	if err != nil {
		return err
	}
	defer release()
	res, err := s.service.Apply(r.Context(), req)
	s.answerAfterWork(w)
	if err != nil {
		return err
	}
	res.Changes = nonNil(res.Changes)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handlePlan handles POST /api/v1/plan: what applying the file would do,
// changing nothing. The file comes as for an apply.
func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) error {
	req, release, err := s.readApply(w, r, "plan declarative files")
	if err != nil {
		return err
	}
	defer release()
	plan, err := s.service.Plan(r.Context(), req)
	s.answerAfterWork(w)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, plan)
	return nil
}

// answerAfterWork gives an apply or a plan whose work is done the apply
// timeout again to write its answer: the deadline readApplyRequest set
// bounds sending the file, not how long the organisation takes to change,
// and an apply that ran past it must still say what it did.
func (s *Server) answerAfterWork(w http.ResponseWriter) {
	if s.applyTimeout > 0 {
		// Only a writer that cannot set deadlines refuses; its answer then
		// goes as it would have.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.applyTimeout))
	}
}

// readApply reads the declarative file of an apply or a plan. Only an
// admin's file is read: anyone else is refused before the body, which may be
// 256 MiB, is taken in (the engine checks again). release gives back the
// request's place among the MaxConcurrentApplies files held at once.
func (s *Server) readApply(w http.ResponseWriter, r *http.Request, what string) (req roster.ApplyRequest, release func(), err error) {
	me, err := s.service.Whoami(r.Context())
	if err != nil {
		return req, nil, err
	}
	if me.Role != roster.RoleAdmin {
		return req, nil, roster.Errorf(roster.EFORBIDDEN, "only admins may %s", what)
	}
	select {
	case s.applies <- struct{}{}:
		release = func() { <-s.applies }
	case <-r.Context().Done():
		return req, nil, r.Context().Err()
	}
	if req, err = s.readApplyRequest(w, r); err != nil {
		release()
		return req, nil, err
	}
	return req, release, nil
}

// readApplyRequest reads the file and the query parameters of an apply.
func (s *Server) readApplyRequest(w http.ResponseWriter, r *http.Request) (roster.ApplyRequest, error) {
	var req roster.ApplyRequest
	if s.applyTimeout > 0 {
		// A large file takes longer to send, apply and answer than a request.
		rc, deadline := http.NewResponseController(w), time.Now().Add(s.applyTimeout)
		if err := rc.SetReadDeadline(deadline); err != nil {
			return req, fmt.Errorf("extend the read deadline of an apply: %w", err)
		}
		if err := rc.SetWriteDeadline(deadline); err != nil {
			return req, fmt.Errorf("extend the write deadline of an apply: %w", err)
		}
	}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); yamlTypes[media] {
		doc, err := s.readApplyBody(r.Body)
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return req, roster.Errorf(roster.EINVALID, "the declarative file is larger than the limit of %d MiB", maxErr.Limit>>20)
		} else if err != nil {
			return req, roster.Errorf(roster.EINVALID, "reading the declarative file: %v", err)
		}
		if len(doc) == 0 {
			return req, roster.Errorf(roster.EINVALID, "request body is empty: a declarative file is expected")
		}
		q := r.URL.Query()
		req = roster.ApplyRequest{Filename: q.Get("filename"), Document: doc}
		if v := q.Get("dry_run"); v != "" {
			if req.DryRun, err = strconv.ParseBool(v); err != nil {
				return req, roster.Errorf(roster.EINVALID, "query parameter dry_run: %q is not true or false", v)
			}
		}
		if v := q.Get("summary"); v != "" {
			if req.Summary, err = strconv.ParseBool(v); err != nil {
				return req, roster.Errorf(roster.EINVALID, "query parameter summary: %q is not true or false", v)
			}
		}
		if v := q.Get("confirm_over"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return req, roster.Errorf(roster.EINVALID, "query parameter confirm_over: %q is not a number of people (0 or more)", v)
			}
			req.ConfirmOver = &n
		}
	} else if err := readJSON(r, &req, false); err != nil {
		return req, err
	}
	if req.ConfirmOver != nil && *req.ConfirmOver < 0 {
		return req, roster.Errorf(roster.EINVALID, "confirm_over: %d is not a number of people (0 or more)", *req.ConfirmOver)
	}
	return req, nil
}

// readApplyBody reads a declarative file sent as it is. Up to MaxBodySize it
// is read into memory as it comes; a larger one is first written to a
// temporary file (0600, in the spool directory, removed before
// readApplyBody returns) and then read back into a buffer of its exact size,
// rather than into one that grows, and is copied, as the body arrives.
func (s *Server) readApplyBody(body io.Reader) ([]byte, error) {
	head, err := io.ReadAll(io.LimitReader(body, MaxBodySize+1))
	if err != nil || len(head) <= MaxBodySize {
		return head, err
	}
	f, err := os.CreateTemp(s.spoolDir, "roster-apply-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("spool the file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		return nil, fmt.Errorf("spool the file: %w", err)
	}
	head = nil
	n, err := io.Copy(f, body)
	if err != nil {
		return nil, err
	}
	doc := make([]byte, int64(MaxBodySize+1)+n)
	if _, err := f.ReadAt(doc, 0); err != nil {
		return nil, fmt.Errorf("read the spooled file: %w", err)
	}
	return doc, nil
}

// Apply validates and, unless req.DryRun, applies a declarative file. The
// file is sent as it is (application/yaml), not wrapped in JSON.
func (c *Client) Apply(ctx context.Context, req roster.ApplyRequest) (*roster.ApplyResult, error) {
	q := url.Values{"filename": {req.Filename}}
	if req.DryRun {
		q.Set("dry_run", "true")
	}
	if req.ConfirmOver != nil {
		q.Set("confirm_over", strconv.Itoa(*req.ConfirmOver))
	}
	return call[roster.ApplyResult](ctx, c, http.MethodPost, "/api/v1/apply", q, rawBody{contentType: "application/yaml", data: req.Document})
}

// Plan says what applying a declarative file would do now, changing
// nothing. The file is sent as it is, as for Apply.
func (c *Client) Plan(ctx context.Context, req roster.ApplyRequest) (*roster.ChangePlan, error) {
	q := url.Values{"filename": {req.Filename}}
	if req.Summary {
		q.Set("summary", "true")
	}
	return call[roster.ChangePlan](ctx, c, http.MethodPost, "/api/v1/plan", q, rawBody{contentType: "application/yaml", data: req.Document})
}

// rawBody is a request body sent as it is rather than as JSON.
type rawBody struct {
	contentType string
	data        []byte
}
