package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
)

// The declarative file is taken as it is (application/yaml, the form the
// client sends) or wrapped in JSON with the document base64-encoded.
func TestApplyBodies(t *testing.T) {
	ts := newTestServer(t)
	post := func(path, contentType string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer alice-token")
		req.Header.Set("Content-Type", contentType)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	doc := []byte("users:\n  - {id: alice}\n")

	status, b := post("/api/v1/apply?filename=org.yaml&dry_run=true", "application/yaml; charset=utf-8", doc)
	got := ts.service.last().Args[0].(roster.ApplyRequest)
	if status != http.StatusOK || got.Filename != "org.yaml" || !got.DryRun || !bytes.Equal(got.Document, doc) {
		t.Fatalf("raw YAML: status %d body %s, request %+v", status, b, got)
	}
	wrapped, _ := json.Marshal(roster.ApplyRequest{Filename: "org.json", Document: doc})
	status, b = post("/api/v1/apply", "application/json", wrapped)
	got = ts.service.last().Args[0].(roster.ApplyRequest)
	if status != http.StatusOK || got.Filename != "org.json" || got.DryRun || !bytes.Equal(got.Document, doc) {
		t.Fatalf("JSON: status %d body %s, request %+v", status, b, got)
	}

	calls := ts.service.changes()
	for _, tt := range []struct {
		name, path string
		body       []byte
		mention    string
	}{
		{"empty file", "/api/v1/apply", nil, "empty"},
		{"bad dry_run", "/api/v1/apply?dry_run=perhaps", doc, "dry_run"},
		{"too large", "/api/v1/apply", bytes.Repeat([]byte("#"), rosterhttp.MaxApplyBodySize+1), "limit of 256 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, b := post(tt.path, "application/yaml", tt.body)
			if status != http.StatusUnprocessableEntity || !strings.Contains(errorBody(t, b).Message, tt.mention) {
				t.Fatalf("status %d body %s, want 422 mentioning %q", status, b, tt.mention)
			}
		})
	}
	if n := ts.service.changes(); n != calls {
		t.Errorf("the service was called %d times for refused files", n-calls)
	}
}
