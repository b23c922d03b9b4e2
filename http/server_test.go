package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/testenv"
)

// The tokens the test server knows, and the users they belong to.
var tokens = map[string]string{"alice-token": "alice", "admin-token": "admin"}

// testServer is a Server over a fakeService, listening on a local port.
type testServer struct {
	*httptest.Server
	service  *fakeService
	registry *prometheus.Registry
	ready    atomic.Bool
	logs     *testenv.Buffer
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServerWith(t, rosterhttp.ServerConfig{})
}

// newTestServerWith is newTestServer with cfg's other fields (SpoolDir,
// ApplyTimeout).
func newTestServerWith(t *testing.T, cfg rosterhttp.ServerConfig) *testServer {
	t.Helper()
	ts := &testServer{service: &fakeService{}, registry: prometheus.NewRegistry(), logs: &testenv.Buffer{}}
	ts.ready.Store(true)
	s := rosterhttp.NewServer(rosterhttp.ServerConfig{
		SpoolDir:     cfg.SpoolDir,
		ApplyTimeout: cfg.ApplyTimeout,
		Service:      ts.service,
		Authenticate: func(ctx context.Context, token string) (roster.Actor, error) {
			if token == "broken-store" {
				return roster.Actor{}, errors.New("token store is down")
			}
			if u, ok := tokens[token]; ok {
				return roster.Actor{User: u}, nil
			}
			return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "invalid API token")
		},
		Ready:    ts.ready.Load,
		Registry: ts.registry,
		Logger:   slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ts.Server = httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// do sends a request with the given bearer token ("" for none) and returns
// the status and body.
func (ts *testServer) do(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// errorBody decodes an error answer.
func errorBody(t *testing.T, b []byte) roster.Error {
	t.Helper()
	var body struct {
		Error *roster.Error `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error == nil {
		t.Fatalf("error body %q is not {\"error\":{…}}: %v", b, err)
	}
	return *body.Error
}

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t)
	for _, tt := range []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"no header", "", http.StatusUnauthorized, roster.EUNAUTHORIZED},
		{"not bearer", "Basic YWxpY2U6cHc=", http.StatusUnauthorized, roster.EUNAUTHORIZED},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, roster.EUNAUTHORIZED},
		{"unknown token", "Bearer nope", http.StatusUnauthorized, roster.EUNAUTHORIZED},
		{"token store fails", "Bearer broken-store", http.StatusInternalServerError, roster.EINTERNAL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/me", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, b)
			}
			if got := errorBody(t, b).Code; got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if tt.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate header")
			}
		})
	}
	if n := ts.service.count(); n != 0 {
		t.Errorf("service was called %d times without a valid token", n)
	}

	status, b := ts.do(t, http.MethodGet, "/api/v1/me", "alice-token", "")
	if status != http.StatusOK {
		t.Fatalf("valid token: status = %d, body %s", status, b)
	}
	if got := ts.service.last(); got.Method != "Whoami" || got.Actor != "alice" {
		t.Errorf("service saw %+v, want Whoami acting as alice", got)
	}
}

func TestErrorStatus(t *testing.T) {
	for _, tt := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{roster.Errorf(roster.EINVALID, "bad"), http.StatusUnprocessableEntity, roster.EINVALID, "bad"},
		{roster.Errorf(roster.ENOTFOUND, "no user bob"), http.StatusNotFound, roster.ENOTFOUND, "no user bob"},
		{roster.Errorf(roster.ECONFLICT, "already pending"), http.StatusConflict, roster.ECONFLICT, "already pending"},
		{roster.Errorf(roster.EFORBIDDEN, "admins only"), http.StatusForbidden, roster.EFORBIDDEN, "admins only"},
		{roster.Errorf(roster.EUNAUTHORIZED, "expired"), http.StatusUnauthorized, roster.EUNAUTHORIZED, "expired"},
		{roster.Errorf(roster.EINTERNAL, "oops"), http.StatusInternalServerError, roster.EINTERNAL, "oops"},
		{errors.New("disk on fire at /var/lib/roster"), http.StatusInternalServerError, roster.EINTERNAL, "internal error"},
		{joined(roster.Errorf(roster.ENOTFOUND, "wrapped")), http.StatusNotFound, roster.ENOTFOUND, "wrapped"},
	} {
		t.Run(tt.code+"/"+tt.message, func(t *testing.T) {
			ts := newTestServer(t)
			ts.service.err = tt.err
			status, b := ts.do(t, http.MethodGet, "/api/v1/users/bob", "alice-token", "")
			if status != tt.status {
				t.Fatalf("status = %d, want %d", status, tt.status)
			}
			if got := errorBody(t, b); got.Code != tt.code || got.Message != tt.message {
				t.Errorf("error = %+v, want code %q message %q", got, tt.code, tt.message)
			}
			if rosterhttp.ErrorStatusCode(tt.code) != tt.status {
				t.Errorf("ErrorStatusCode(%q) = %d, want %d", tt.code, rosterhttp.ErrorStatusCode(tt.code), tt.status)
			}
		})
	}
}

func joined(err error) error { return errors.Join(errors.New("context"), err) }

func TestInternalErrorIsLoggedNotSent(t *testing.T) {
	ts := newTestServer(t)
	ts.service.err = errors.New("disk on fire at /var/lib/roster")
	_, b := ts.do(t, http.MethodGet, "/api/v1/apps", "alice-token", "")
	if bytes.Contains(b, []byte("disk on fire")) {
		t.Errorf("internal error text leaked: %s", b)
	}
	if !strings.Contains(ts.logs.String(), "disk on fire") {
		t.Errorf("internal error not logged; log:\n%s", ts.logs.String())
	}
}

func TestQueryParameters(t *testing.T) {
	ts := newTestServer(t)
	status, b := ts.do(t, http.MethodGet,
		"/api/v1/tasks?state=done&kind=grant&user=bob&entitlement=github%2Fadmin&profile=eng&origin=manual&approver=sam&open=true&cursor=c2&limit=5",
		"alice-token", "")
	if status != http.StatusOK {
		t.Fatalf("status = %d, body %s", status, b)
	}
	want := roster.TaskFilter{State: "done", Kind: "grant", User: "bob", Entitlement: "github/admin", Profile: "eng",
		Origin: "manual", Approver: "sam", OpenOnly: true, Cursor: "c2", Limit: 5}
	if got := ts.service.last().Args[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("filter = %+v, want %+v", got, want)
	}
	var page roster.Page[roster.Task]
	if err := json.Unmarshal(b, &page); err != nil || page.NextCursor != "next:c2" {
		t.Errorf("page = %s (%v), want next_cursor next:c2", b, err)
	}

	_, _ = ts.do(t, http.MethodGet, "/api/v1/events?since=2024-05-01T09:00:00Z&cursor=e9&limit=2", "alice-token", "")
	wantEvents := roster.EventFilter{Since: at, Cursor: "e9", Limit: 2}
	if got := ts.service.last().Args[0].(roster.EventFilter); !got.Since.Equal(at) || got.Cursor != "e9" || got.Limit != 2 {
		t.Errorf("event filter = %+v, want %+v", got, wantEvents)
	}
}

func TestInvalidRequests(t *testing.T) {
	ts := newTestServer(t)
	for _, tt := range []struct {
		name, method, path, body string
		mention                  string
	}{
		{"malformed JSON", "POST", "/api/v1/profiles/eng/enroll", `{"users": [`, "malformed JSON"},
		{"syntax error", "POST", "/api/v1/profiles/eng/enroll", `{"users": ["a",]}`, "malformed JSON"},
		{"wrong type", "POST", "/api/v1/profiles/eng/enroll", `{"users": "bob"}`, `"users"`},
		{"unknown field", "POST", "/api/v1/grants", `{"user":"bob","entitlment":"github/admin"}`, "entitlment"},
		{"empty body", "POST", "/api/v1/apply", ``, "empty"},
		{"two values", "POST", "/api/v1/tokens", `{"user":"a"} {"user":"b"}`, "single JSON value"},
		{"task id", "GET", "/api/v1/tasks/twelve", ``, `"twelve"`},
		{"task action id", "POST", "/api/v1/tasks/1.5/approve", `{}`, `"1.5"`},
		{"limit", "GET", "/api/v1/grants?limit=ten", ``, "limit"},
		{"open", "GET", "/api/v1/tasks?open=maybe", ``, "open"},
		{"since", "GET", "/api/v1/events?since=yesterday", ``, "since"},
		{"too large", "POST", "/api/v1/tokens", `{"user":"` + strings.Repeat("a", rosterhttp.MaxBodySize) + `"}`, "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, b := ts.do(t, tt.method, tt.path, "alice-token", tt.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422 (body %s)", status, b)
			}
			e := errorBody(t, b)
			if e.Code != roster.EINVALID || !strings.Contains(e.Message, tt.mention) {
				t.Errorf("error = %+v, want code invalid mentioning %s", e, tt.mention)
			}
		})
	}
	if n := ts.service.changes(); n != 0 {
		t.Errorf("service was called %d times for invalid requests", n)
	}

	// A comment body is optional.
	if status, b := ts.do(t, http.MethodPost, "/api/v1/tasks/12/deny", "alice-token", ""); status != http.StatusOK {
		t.Errorf("deny without body: status = %d, body %s", status, b)
	}
}

func TestUnknownRoutes(t *testing.T) {
	ts := newTestServer(t)
	status, b := ts.do(t, http.MethodGet, "/api/v1/nothing", "alice-token", "")
	if status != http.StatusNotFound || errorBody(t, b).Code != roster.ENOTFOUND {
		t.Errorf("unknown route: status %d body %s, want 404 not_found", status, b)
	}
	status, b = ts.do(t, http.MethodGet, "/api/v1/sync", "alice-token", "")
	if status != http.StatusMethodNotAllowed || !strings.Contains(errorBody(t, b).Message, "POST") {
		t.Errorf("wrong method: status %d body %s, want 405 naming POST", status, b)
	}
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t)
	status, b := ts.do(t, http.MethodGet, "/healthz", "", "")
	if status != http.StatusOK || strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Errorf("ready: status %d body %s", status, b)
	}
	ts.ready.Store(false)
	if status, b := ts.do(t, http.MethodGet, "/healthz", "", ""); status != http.StatusServiceUnavailable {
		t.Errorf("not ready: status %d body %s, want 503", status, b)
	}
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t)
	ts.do(t, http.MethodGet, "/api/v1/profiles/eng", "alice-token", "")
	ts.do(t, http.MethodGet, "/api/v1/profiles/ops", "alice-token", "")
	ts.do(t, http.MethodGet, "/api/v1/profiles/ops", "", "")

	if status, _ := ts.do(t, http.MethodGet, "/metrics", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("metrics without a token: status %d, want 401", status)
	}
	status, b := ts.do(t, http.MethodGet, "/metrics", "alice-token", "")
	if status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	for _, want := range []string{
		`roster_http_requests_total{code="200",method="GET",route="GET /api/v1/profiles/{id}"} 2`,
		`roster_http_requests_total{code="401",method="GET",route="GET /api/v1/profiles/{id}"} 1`,
		`roster_http_request_duration_seconds_count{method="GET",route="GET /api/v1/profiles/{id}"} 3`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s\n%s", want, grepLines(b, "roster_http"))
		}
	}
	if !strings.Contains(ts.logs.String(), "route=\"GET /api/v1/profiles/{id}\"") {
		t.Errorf("request not logged at debug level; log:\n%s", ts.logs.String())
	}
}

// TestMetricsShareRegistry checks that two servers may share a registry.
func TestMetricsShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := rosterhttp.ServerConfig{Service: &fakeService{}, Registry: reg,
		Authenticate: func(context.Context, string) (roster.Actor, error) { return roster.Actor{User: "alice"}, nil }}
	rosterhttp.NewServer(cfg)
	s := rosterhttp.NewServer(cfg)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	n, err := reg.Gather()
	if err != nil || len(n) == 0 {
		t.Fatalf("gather: %v, %d families", err, len(n))
	}
}

func grepLines(b []byte, substr string) string {
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, substr) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
