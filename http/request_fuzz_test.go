package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/testenv"
)

// bodyRoutes are the API's routes that read a JSON body; optional ones
// accept an empty body.
var bodyRoutes = []struct {
	method, path string
	optional     bool
}{
	{"POST", "/api/v1/apply", false},
	{"POST", "/api/v1/plan", false},
	{"POST", "/api/v1/profiles/eng/enroll", false},
	{"POST", "/api/v1/profiles/eng/unenroll", false},
	{"POST", "/api/v1/profiles/eng/request", true},
	{"POST", "/api/v1/tasks/12/approve", true},
	{"POST", "/api/v1/tasks/12/deny", true},
	{"POST", "/api/v1/tasks/12/provision", true},
	{"POST", "/api/v1/tasks/12/cancel", true},
	{"POST", "/api/v1/tasks/12/retry", true},
	{"POST", "/api/v1/grants", false},
	{"POST", "/api/v1/tokens", false},
}

// FuzzRequestBody sends any body to each route that decodes JSON, through
// the real Server's handler over the fake service, as an admin. Whatever the
// body, the answer is never a 5xx, and an error answer is a JSON error body
// with a code. A body that is not JSON (or not UTF-8) is refused with 422,
// code invalid, before the service hears of it.
//
// Its seed corpus is every string literal of this package's tests that
// looks like JSON, on every route.
func FuzzRequestBody(f *testing.F) {
	var seeds []string
	for _, s := range testenv.StringLiterals(f, ".", 0) {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			seeds = append(seeds, s)
		}
	}
	seeds = append(seeds, "", " ", "null", `{"comment":"ok"}`, `{"users":["bob"]}`, `{"filename":"f.yaml","document":"dXNlcnM6IFtd"}`)
	for i := range bodyRoutes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	service := &fakeService{}
	handler := rosterhttp.NewServer(rosterhttp.ServerConfig{
		Service: service,
		Authenticate: func(ctx context.Context, token string) (roster.Actor, error) {
			if token == "admin-token" {
				return roster.Actor{User: roster.AdminUser}, nil
			}
			return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "invalid API token")
		},
	}).Handler()
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-token")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		// The fake keeps every call; one input's are enough.
		service.mu.Lock()
		service.calls = nil
		service.mu.Unlock()
		handler.ServeHTTP(rec, req)
		status, answer := rec.Code, rec.Body.Bytes()
		if status >= 500 {
			t.Fatalf("%s %s %q: status %d, body %s", rt.method, rt.path, body, status, answer)
		}
		if status >= 400 {
			var e struct {
				Error *roster.Error `json:"error"`
			}
			if err := json.Unmarshal(answer, &e); err != nil || e.Error == nil || e.Error.Code == "" {
				t.Fatalf("%s %s %q: status %d with body %s, not a JSON error", rt.method, rt.path, body, status, answer)
			}
		}
		empty := len(bytes.TrimSpace(body)) == 0
		if (utf8.Valid(body) && json.Valid(body)) || (rt.optional && empty) {
			return
		}
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("%s %s %q (not JSON): status %d, body %s; want 422", rt.method, rt.path, body, status, answer)
		}
		var e struct {
			Error *roster.Error `json:"error"`
		}
		if json.Unmarshal(answer, &e); e.Error == nil || e.Error.Code != roster.EINVALID {
			t.Fatalf("%s %s %q (not JSON): body %s; want code invalid", rt.method, rt.path, body, answer)
		}
		if n := service.changes(); n != 0 {
			t.Fatalf("%s %s %q (not JSON): the service was called %d times", rt.method, rt.path, body, n)
		}
	})
}
