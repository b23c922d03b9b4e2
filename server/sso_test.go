package server

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartSSO checks how Start wires single sign-on: the console's address
// is required and must be a bare origin, and the sign-in page offers SSO.
func TestStartSSO(t *testing.T) {
	start := func(base string) (*Server, error) {
		return Start(context.Background(), Config{DB: filepath.Join(t.TempDir(), "roster.db"), Addr: "127.0.0.1:0",
			BootstrapToken: strings.Repeat("b", 32), SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1, ConnectorTick: -1, ProvisionTick: -1,
			BaseURL: base, OIDCIssuer: "http://127.0.0.1:1", OIDCClientID: "roster", OIDCClientSecret: "secret"})
	}
	for _, base := range []string{"", "roster.example.com", "https://roster.example.com/console", "https://roster.example.com/?x=1", "ftp://roster.example.com"} {
		if s, err := start(base); err == nil || !strings.Contains(err.Error(), "--base-url") {
			if s != nil {
				s.Close(context.Background())
			}
			t.Errorf("Start with base URL %q: %v, want a refusal that names --base-url", base, err)
		}
	}
	s, err := start("https://roster.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	resp, err := http.Get(s.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `href="/auth/oidc/login?next=%2f"`) {
		t.Errorf("the sign-in page offers no SSO:\n%s", body)
	}
}
