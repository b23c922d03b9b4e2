// Package http serves Roster's HTTP API and holds the Client that calls it.
//
// The Server turns each request under /api/v1/ into one call of a
// roster.Service, acting as the user its bearer token belongs to; the Client
// implements roster.Service over the same routes, so the CLI and the engine
// answer the same interface. Errors travel as
// {"error":{"code":"…","message":"…","details":[…]}} with the status that
// ErrorStatusCode gives their code.
package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/throttle"
)

// Request body limits: a declarative file may be large (100k users and 2M
// grants take about 110 MiB), anything else is small.
const (
	MaxApplyBodySize = 256 << 20
	MaxBodySize      = 1 << 20
	// MaxConcurrentApplies is how many declarative files the server reads
	// and applies at once; more wait their turn without being read.
	MaxConcurrentApplies = 2
)

// ServerConfig is what a Server needs.
type ServerConfig struct {
	// Service answers every API call. Required.
	Service roster.Service
	// Authenticate returns who acts with a bearer token (its user, the
	// token's id and its issuer), or an error with code EUNAUTHORIZED for a
	// token that may not act. Required.
	Authenticate func(ctx context.Context, token string) (roster.Actor, error)
	// Ready reports whether the server may take traffic (GET /healthz). Nil
	// means always ready.
	Ready func() bool
	// Registry receives the HTTP metrics and is served on GET /metrics, to
	// admins' and auditors' tokens. Nil creates one with the Go and process
	// collectors.
	Registry *prometheus.Registry
	// MetricsElsewhere serves the metrics only through MetricsHandler, on an
	// address of their own: GET /metrics is then not found here.
	MetricsElsewhere bool
	// Logger receives one debug line per request and every internal error.
	// Nil discards.
	Logger *slog.Logger
	// Failures throttles clients that keep presenting unknown tokens. Nil
	// makes one with throttle's defaults.
	Failures *throttle.Failures
	// ApplyTimeout is how long an admin's declarative file may take to
	// arrive and be applied, past the listener's usual read and write
	// deadlines. Zero leaves those deadlines as they are.
	ApplyTimeout time.Duration
	// SpoolDir is where an apply body larger than MaxBodySize is written
	// while it arrives; empty means os.TempDir().
	SpoolDir string
}

// Server is Roster's HTTP API. It does not listen: put Handler in an
// http.Server.
type Server struct {
	service      roster.Service
	authenticate func(ctx context.Context, token string) (roster.Actor, error)
	ready        func() bool
	registry     *prometheus.Registry
	logger       *slog.Logger

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mux              *http.ServeMux
	handler          http.Handler
	metricsElsewhere bool
	// applies holds a token for each apply being read or applied.
	applies      chan struct{}
	applyTimeout time.Duration
	spoolDir     string
	failures     *throttle.Failures
}

// NewServer returns a Server for cfg. It registers the HTTP metrics on
// cfg.Registry, reusing them when another Server already registered them.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{
		service:      cfg.Service,
		authenticate: cfg.Authenticate,
		ready:        cfg.Ready,
		registry:     cfg.Registry,
		logger:       cfg.Logger,
		applies:      make(chan struct{}, MaxConcurrentApplies),
		applyTimeout: cfg.ApplyTimeout,
		spoolDir:     cfg.SpoolDir,
		failures:     cfg.Failures,

		metricsElsewhere: cfg.MetricsElsewhere,
	}
	if s.failures == nil {
		s.failures = throttle.New(0, 0, nil)
	}
	if s.ready == nil {
		s.ready = func() bool { return true }
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.requests = register(s.registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern and status code.",
	}, []string{"method", "route", "code"}))
	s.duration = register(s.registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "roster_http_request_duration_seconds",
		Help:    "Time taken to answer HTTP requests, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"}))

	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.endpoint(rt))
	}
	s.mux.HandleFunc("/", s.handleNoRoute)
	s.handler = s.instrument(s.mux)
	return s
}

// Handler returns the handler that serves the API, /healthz and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// route is one entry of the route table.
type route struct {
	// pattern is a net/http ServeMux pattern; it is also the metrics label.
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request) error
	// public routes need no bearer token.
	public bool
	// maxBody overrides MaxBodySize.
	maxBody int64
}

// routes is the route table: every endpoint the Server answers.
func (s *Server) routes() []route {
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	return []route{
		{pattern: "GET /healthz", handle: s.handleHealthz, public: true},
		{pattern: "GET /metrics", handle: s.readers(serve(metrics))},

		{pattern: "POST /api/v1/apply", handle: s.handleApply, maxBody: MaxApplyBodySize},
		{pattern: "POST /api/v1/plan", handle: s.handlePlan, maxBody: MaxApplyBodySize},
		{pattern: "POST /api/v1/sync", handle: s.handleSyncAll},

		{pattern: "GET /api/v1/profiles", handle: s.handleProfiles},
		{pattern: "GET /api/v1/profiles/{id}", handle: s.handleProfile},
		{pattern: "GET /api/v1/profiles/{id}/members", handle: s.handleProfileMembers},
		{pattern: "POST /api/v1/profiles/{id}/sync", handle: s.handleSync},
		{pattern: "POST /api/v1/profiles/{id}/resume", handle: s.handleResume},
		{pattern: "POST /api/v1/profiles/{id}/enroll", handle: s.handleEnroll},
		{pattern: "POST /api/v1/profiles/{id}/unenroll", handle: s.handleUnenroll},
		{pattern: "POST /api/v1/profiles/{id}/request", handle: s.handleRequestProfile},

		{pattern: "GET /api/v1/changes", handle: s.handleChanges},
		{pattern: "GET /api/v1/changes/{id}", handle: s.handleChange},
		{pattern: "POST /api/v1/changes/{id}/approve", handle: s.handleChangeAction(s.service.ApproveChange)},
		{pattern: "POST /api/v1/changes/{id}/deny", handle: s.handleChangeAction(s.service.DenyChange)},
		{pattern: "GET /api/v1/tasks", handle: s.handleTasks},
		{pattern: "GET /api/v1/tasks/{id}", handle: s.handleTask},
		{pattern: "GET /api/v1/tasks/{id}/view", handle: s.handleTaskView},
		{pattern: "POST /api/v1/tasks/{id}/approve", handle: s.handleTaskAction(s.service.ApproveTask)},
		{pattern: "POST /api/v1/tasks/{id}/deny", handle: s.handleTaskAction(s.service.DenyTask)},
		{pattern: "POST /api/v1/tasks/{id}/provision", handle: s.handleTaskAction(s.service.ProvisionTask)},
		{pattern: "POST /api/v1/tasks/{id}/cancel", handle: s.handleTaskAction(s.service.CancelTask)},
		{pattern: "POST /api/v1/tasks/{id}/retry", handle: s.handleTaskAction(s.service.RetryTask)},

		{pattern: "GET /api/v1/connectors", handle: s.handleConnectors},
		{pattern: "GET /api/v1/connectors/{id}", handle: s.handleConnector},
		{pattern: "POST /api/v1/connectors/{id}/sync", handle: s.handleConnectorSync},
		{pattern: "POST /api/v1/connectors/{id}/resume", handle: s.handleConnectorResume},
		{pattern: "GET /api/v1/webhooks", handle: s.handleWebhooks},
		{pattern: "POST /api/v1/webhooks/{id}/test", handle: s.handleWebhookTest},

		{pattern: "GET /api/v1/grants", handle: s.handleGrants},
		{pattern: "POST /api/v1/grants", handle: s.handleAddGrant},
		{pattern: "DELETE /api/v1/grants", handle: s.handleRemoveGrant},

		{pattern: "GET /api/v1/users", handle: s.handleUsers},
		{pattern: "GET /api/v1/users/{id}", handle: s.handleUser},
		{pattern: "GET /api/v1/users/{id}/why", handle: s.handleWhy},
		{pattern: "GET /api/v1/users/{id}/delegation", handle: s.handleDelegations},
		{pattern: "PUT /api/v1/users/{id}/delegation", handle: s.handleDelegate},
		{pattern: "DELETE /api/v1/users/{id}/delegation", handle: s.handleEndDelegation},
		{pattern: "GET /api/v1/me", handle: s.handleWhoami},
		{pattern: "POST /api/v1/tokens", handle: s.handleCreateToken},
		{pattern: "GET /api/v1/tokens", handle: s.handleTokens},
		{pattern: "DELETE /api/v1/tokens/{id}", handle: s.handleRevokeToken},
		{pattern: "GET /api/v1/sessions", handle: s.handleSessions},
		{pattern: "DELETE /api/v1/sessions/{id}", handle: s.handleRevokeSession},

		{pattern: "GET /api/v1/apps", handle: s.handleApps},
		{pattern: "GET /api/v1/entitlements", handle: s.handleEntitlements},
		{pattern: "GET /api/v1/policies", handle: s.handlePolicies},
		{pattern: "GET /api/v1/settings", handle: s.handleSettings},
		{pattern: "GET /api/v1/events", handle: s.handleEvents},
		{pattern: "GET /api/v1/audit/verify", handle: s.handleVerifyAudit},
		{pattern: "GET /api/v1/audit/export", handle: s.handleExportAudit},
	}
}

// serve adapts a plain http.Handler to the route table.
// MetricsHandler serves the Prometheus metrics without a token, for an
// address of their own (roster serve --metrics-addr) that only the scraper
// reaches.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// readers lets only admins and auditors through to h: the metrics say how
// many tasks, syncs and failures there are, which is not for everyone.
func (s *Server) readers(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.metricsElsewhere {
			return roster.Errorf(roster.ENOTFOUND, "the metrics are served on an address of their own (roster serve --metrics-addr)")
		}
		me, err := s.service.Whoami(r.Context())
		if err != nil {
			return err
		}
		if me.Role != roster.RoleAdmin && me.Role != roster.RoleAuditor {
			return roster.Errorf(roster.EFORBIDDEN, "only admins and auditors read the metrics (or serve them on their own address with roster serve --metrics-addr)")
		}
		return h(w, r)
	}
}

func serve(h http.Handler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// endpoint wraps one route: it limits the body, authenticates the caller
// unless the route is public, and answers the error the route returns.
func (s *Server) endpoint(rt route) http.Handler {
	limit := rt.maxBody
	if limit == 0 {
		limit = MaxBodySize
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers carry who holds what: no cache keeps them.
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := checkText(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !rt.public {
			client := throttle.Client(r)
			if wait, blocked := s.failures.Blocked(client); blocked {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				s.writeError(w, r, roster.Errorf(roster.ETOOMANY, "too many requests with a missing or unknown token from your address: try again in %d s", int(wait.Seconds())+1))
				return
			}
			actor, err := s.authenticateRequest(r)
			if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
				s.failures.Fail(client)
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if rec, ok := w.(*recorder); ok {
				rec.user = actor.User
			}
			r = r.WithContext(roster.WithActor(r.Context(), actor))
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticateRequest returns who acts with the request's bearer token.
func (s *Server) authenticateRequest(r *http.Request) (roster.Actor, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "missing API token: send the header \"Authorization: Bearer TOKEN\"")
	}
	actor, err := s.authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return roster.Actor{}, err
	}
	if actor.User == "" {
		return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "invalid API token")
	}
	return actor, nil
}

// handleNoRoute answers a request no route matches: 405 when the path exists
// for other methods, 404 otherwise.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{Error: roster.Errorf(roster.EINVALID,
			"method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or "))})
		return
	}
	s.writeError(w, r, roster.Errorf(roster.ENOTFOUND, "no such route: %s %s", r.Method, r.URL.Path))
}

// handleHealthz answers 200 once the server is ready, 503 before.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// instrument counts, times and logs every request, and turns a panic into an
// internal error.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, v)
				if !rec.wrote {
					s.writeError(rec, r, err)
				} else {
					s.logger.ErrorContext(r.Context(), "internal error", "error", err)
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			// ServeMux sets r.Pattern to the pattern it matched.
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
			s.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
			s.logger.DebugContext(r.Context(), "http request",
				"method", r.Method, "path", r.URL.Path, "route", route,
				"status", status, "duration", elapsed, "user", rec.user)
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder remembers the status a handler answered and the user it acted as.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	user   string
}

// WriteHeader records the status.
func (rec *recorder) WriteHeader(status int) {
	if !rec.wrote {
		rec.status, rec.wrote = status, true
	}
	rec.ResponseWriter.WriteHeader(status)
}

// Write records an implicit 200.
func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wrote {
		rec.status, rec.wrote = http.StatusOK, true
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// register registers c on reg, or returns the collector already registered
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("registering HTTP metrics: %v", err))
	}
	return c
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// readJSON decodes the request body into v. Unknown fields are errors; an
// empty body leaves v as it is when optional is true.
func readJSON(r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if !utf8.Valid(body) {
		return roster.Errorf(roster.EINVALID, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return roster.Errorf(roster.EINVALID, "request body must hold a single JSON value")
	}
	if bytes.Contains(body, []byte(`\u0000`)) && holdsNUL(reflect.ValueOf(v)) {
		return roster.Errorf(roster.EINVALID, "request body holds a NUL character (\\u0000), which is not allowed in text")
	}
	return nil
}

// holdsNUL reports whether any string reachable from v holds a NUL character.
func holdsNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.ContainsRune(v.String(), 0)
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && holdsNUL(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && holdsNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false // bytes, such as a base64 document, are checked where read
		}
		for i := range v.Len() {
			if holdsNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if holdsNUL(it.Key()) || holdsNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}

// checkText refuses a request whose path or query holds a NUL character or
// is not valid UTF-8: no store keeps such text, and PostgreSQL refuses it.
func checkText(r *http.Request) error {
	for _, s := range []string{r.URL.Path, r.URL.RawQuery} {
		if strings.Contains(s, "%00") || strings.ContainsRune(s, 0) {
			return roster.Errorf(roster.EINVALID, "the request's address holds a NUL character (%%00), which is not allowed")
		}
	}
	if !utf8.ValidString(r.URL.Path) {
		return roster.Errorf(roster.EINVALID, "the request's path is not valid UTF-8")
	}
	for name, vs := range r.URL.Query() {
		for _, v := range append(vs, name) {
			if !utf8.ValidString(v) {
				return roster.Errorf(roster.EINVALID, "query parameter %q is not valid UTF-8", strings.ToValidUTF8(name, "?"))
			}
		}
	}
	return nil
}

// nonNil returns s, or an empty slice when s is nil, so lists encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writePage answers a page, its items never null.
func writePage[T any](w http.ResponseWriter, p *roster.Page[T]) {
	if p == nil {
		p = &roster.Page[T]{}
	}
	writeJSON(w, http.StatusOK, roster.Page[T]{Items: nonNil(p.Items), NextCursor: p.NextCursor})
}

// pathID returns the {id} path value, which the mux guarantees is not empty.
func pathID(r *http.Request) string { return r.PathValue("id") }

// taskID parses the {id} path value of a task route.
func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, roster.Errorf(roster.EINVALID, "task id must be an integer, not %q", r.PathValue("id"))
	}
	return id, nil
}

// query reads typed query parameters, keeping the first error.
type query struct {
	values url.Values
	err    error
}

func newQuery(r *http.Request) *query { return &query{values: r.URL.Query()} }

func (q *query) str(name string) string { return q.values.Get(name) }

func (q *query) int(name string) int {
	s := q.values.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil && q.err == nil {
		q.err = roster.Errorf(roster.EINVALID, "query parameter %s must be an integer, not %q", name, s)
	}
	return n
}

func (q *query) bool(name string) bool {
	s := q.values.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil && q.err == nil {
		q.err = roster.Errorf(roster.EINVALID, "query parameter %s must be true or false, not %q", name, s)
	}
	return b
}

func (q *query) time(name string) time.Time {
	s := q.values.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil && q.err == nil {
		q.err = roster.Errorf(roster.EINVALID, "query parameter %s must be an RFC 3339 time such as 2024-05-01T09:00:00Z, not %q", name, s)
	}
	return t
}
