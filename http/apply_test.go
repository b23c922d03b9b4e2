package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

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

// TestApplyLargeBodySpooled checks that an apply body over 1 MiB is written
// to a temporary file (0600, in the spool directory) while it arrives,
// decoded whole from it, and the file removed once the request is done.
func TestApplyLargeBodySpooled(t *testing.T) {
	spool := t.TempDir()
	ts := newTestServerWith(t, rosterhttp.ServerConfig{SpoolDir: spool})
	doc := []byte("users:\n" + strings.Repeat("  - {id: someone, email: someone@example.com}\n", 3<<20/46))
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/apply?filename=big.yaml", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer alice-token")
	req.Header.Set("Content-Type", "application/yaml")
	type answer struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := ts.Client().Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, b, err}
	}()
	half := len(doc) / 2
	if _, err := pw.Write(doc[:half]); err != nil {
		t.Fatal(err)
	}
	// Half the file has arrived: it is in one file of the spool directory,
	// readable by the server's user alone.
	var spooled []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if spooled, err = os.ReadDir(spool); err != nil {
			t.Fatal(err)
		}
		if len(spooled) == 1 {
			if info, err := spooled[0].Info(); err == nil && info.Size() >= 1<<20 {
				if info.Mode().Perm() != 0o600 {
					t.Errorf("spooled file %s has mode %v, want 0600", info.Name(), info.Mode().Perm())
				}
				break
			}
		}
	}
	if len(spooled) != 1 {
		t.Fatalf("spool directory holds %d files while the body arrives, want 1", len(spooled))
	}
	if _, err := pw.Write(doc[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	a := <-done
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("apply: %d %v %.200s", a.status, a.err, a.body)
	}
	var res roster.ApplyResult
	if err := json.Unmarshal(a.body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0] != "read "+string(doc) {
		t.Errorf("the service did not receive the whole file (%d changes)", len(res.Changes))
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool directory still holds %v after the apply", left)
	}
}

// An apply or a plan that takes longer than the time a client has to send
// the file still answers: the time to answer starts when the work is done.
func TestLongApplyStillAnswers(t *testing.T) {
	ts := newTestServerWith(t, rosterhttp.ServerConfig{ApplyTimeout: 300 * time.Millisecond})
	ts.service.work = 700 * time.Millisecond
	for _, path := range []string{"/api/v1/apply", "/api/v1/plan"} {
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader("users: []\n"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer admin-token")
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s taking longer than the apply timeout: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, body %q, %v", path, resp.StatusCode, body, err)
		}
	}
}
