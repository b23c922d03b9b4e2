package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/sqlite"
)

// profilesOrg is the organisation of BenchmarkProfilesList: 30,000 users
// and 100 profiles, synced, with their task history.
var profilesOrg = gen.Config{Users: 30_000, Apps: 40, Entitlements: 600, Profiles: 100, GrantsPerUser: 20, Seed: 1}

// BenchmarkProfilesList times GET /api/v1/profiles, the list every user may
// ask for, on an organisation of 30,000 users: as a plain user (the one with
// the most memberships), who sees only their own membership and tasks, and
// as the admin, who sees everything, and as the admin without the members
// (the console's profile list). It calls the API with a plain HTTP
// client, so that it runs on any version of the server.
func BenchmarkProfilesList(b *testing.B) {
	org := gen.Generate(profilesOrg)
	path := filepath.Join(cache(b), "profiles30k.db")
	loadOnce(b, path, func(db *sqlite.DB) error {
		return org.LoadWith(context.Background(), db, roster.SystemClock{}, gen.LoadOptions{State: gen.Synced, History: true})
	})
	s := start(b, copyDB(b, path))
	user, _ := busiest(org)
	const userToken = "bench-user-token-0123456789abcdef"
	if err := s.Engine.IssueToken(context.Background(), user, userToken, "bench"); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{}
	// admin-without-members is what the console's profile list asks; a
	// server before without_members ignores it and answers everything.
	for _, as := range []struct{ name, token, query string }{{"user", userToken, ""}, {"admin", benchToken, ""},
		{"admin-without-members", benchToken, "?without_members=true"}} {
		b.Run(as.name, func(b *testing.B) {
			var size int
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				req, err := http.NewRequest(http.MethodGet, s.URL+"/api/v1/profiles"+as.query, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+as.token)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET /api/v1/profiles as %s: %d %v: %.200s", as.name, resp.StatusCode, err, body)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes/answer")
		})
	}
}

// loadOnce builds the SQLite database at path with load, unless an earlier
// run left it complete there.
func loadOnce(b *testing.B, path string, load func(*sqlite.DB) error) {
	b.Helper()
	if _, err := os.Stat(path + ".ok"); err == nil {
		return
	}
	os.Remove(path)
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	if err := load(db); err != nil {
		db.Close()
		b.Fatal(fmt.Errorf("load %s: %w", path, err))
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path+".ok", nil, 0o644); err != nil {
		b.Fatal(err)
	}
}
