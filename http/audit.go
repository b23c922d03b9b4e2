package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rosterhq/roster"
)

// ndjson is the media type of the audit export: one JSON event a line.
const ndjson = "application/x-ndjson"

// exportWriteTime is how long the export may take to send each page of
// events: the server's write timeout would otherwise cut a long log short.
const exportWriteTime = time.Minute

// handleVerifyAudit handles GET /api/v1/audit/verify.
func (s *Server) handleVerifyAudit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.service.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handleExportAudit handles GET /api/v1/audit/export: every event at or
// after ?since=, in chain order, one JSON object a line, streamed as the
// pages are read. An error once lines are sent cuts the answer short, so a
// client never takes a partial export for a whole one.
func (s *Server) handleExportAudit(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	since := q.time("since")
	if q.err != nil {
		return q.err
	}
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	started, n := false, 0
	err := s.service.ExportEvents(r.Context(), since, func(ev *roster.Event) error {
		if !started {
			w.Header().Set("Content-Type", ndjson)
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if n++; n%1000 == 1 {
			_ = rc.SetWriteDeadline(time.Now().Add(exportWriteTime))
		}
		return enc.Encode(ev)
	})
	if err == nil {
		err = bw.Flush()
	}
	if !started && err == nil {
		w.Header().Set("Content-Type", ndjson)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if started && err != nil {
		s.logger.Error("audit export cut short", "error", err, "events", n)
		panic(http.ErrAbortHandler)
	}
	return err
}

// VerifyAudit recomputes the audit chain on the server.
func (c *Client) VerifyAudit(ctx context.Context) (*roster.AuditVerification, error) {
	return call[roster.AuditVerification](ctx, c, http.MethodGet, "/api/v1/audit/verify", nil, nil)
}

// ExportEvents reads the server's audit export and calls fn with each event.
func (c *Client) ExportEvents(ctx context.Context, since time.Time, fn func(*roster.Event) error) error {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.Format(time.RFC3339Nano))
	}
	u := c.baseURL + "/api/v1/audit/export"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building request to %s: %w", u, err)
	}
	req.Header.Set("Accept", ndjson)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("GET /api/v1/audit/export: %w", ctxErr)
		}
		return fmt.Errorf("could not reach the Roster server at %s: %w", c.baseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev roster.Event
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return roster.Errorf(roster.EINTERNAL, "the audit export was cut short: %v", err)
		}
		if err := fn(&ev); err != nil {
			return err
		}
	}
}
