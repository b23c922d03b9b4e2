package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/sqlite"
)

// consoleOrg is the organisation of the console's scale target: 20,000
// users and 5,000 entitlements (issue 17: every page in ≤ 300 ms, ≤ 300 KB).
var consoleOrg = gen.Config{Users: 20_000, Apps: 40, Entitlements: 5_000, Profiles: 300, GrantsPerUser: 20, Seed: 1}

// The console's targets at consoleOrg's scale (issue 17).
const (
	consolePageMaxBytes = 300 * 1000
	consolePageMaxTime  = 300 * time.Millisecond
)

// BenchmarkConsolePages reads each list page of the console as an admin on
// consoleOrg and reports its time and size (bytes/page).
func BenchmarkConsolePages(b *testing.B) {
	org := gen.Generate(consoleOrg)
	path := filepath.Join(cache(b), "console20k.db")
	loadOnce(b, path, func(db *sqlite.DB) error {
		return org.LoadWith(context.Background(), db, roster.SystemClock{}, gen.LoadOptions{State: gen.Synced})
	})
	s := start(b, copyDB(b, path))
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) []byte {
		resp, err := hc.Get(s.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v: %.300s", path, resp.StatusCode, err, body)
		}
		return body
	}
	page := get("/signin")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	form := url.Values{"token": {benchToken}}
	if m != nil {
		form.Set("csrf", string(m[1]))
	}
	resp, err := hc.PostForm(s.URL+"/signin", form)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %v %v", resp, err)
	}
	resp.Body.Close()
	profile := "/profiles/" + org.Profile(0, time.Now()).ID
	user := "/users/" + org.User(0, time.Now()).ID
	for _, p := range []string{"/profiles", "/users", "/users?q=smith", "/apps", "/apps?q=admin", profile, profile + "?find=smith",
		profile + "/entitlements", profile + "/entitlements?q=admin", profile + "/controls", profile + "/controls?rule_q=admin&excluded_q=smith",
		user, "/tasks?view=all", "/events"} {
		b.Run(strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_").Replace(p), func(b *testing.B) {
			var size int
			start := time.Now()
			for i := 0; i < b.N; i++ {
				size = len(get(p))
			}
			b.ReportMetric(float64(size), "bytes/page")
			// Issue 17's target: every page ≤ 300 KB and ≤ 300 ms. The
			// size is a property of the page; the time depends on the
			// machine, so it is reported (ns/op) and checked only here
			// against ten times the target, to catch a page that reads
			// the whole organisation.
			if size > consolePageMaxBytes {
				b.Errorf("GET %s weighs %d bytes, over %d", p, size, consolePageMaxBytes)
			}
			if per := time.Since(start) / time.Duration(b.N); per > 10*consolePageMaxTime {
				b.Errorf("GET %s takes %v, over ten times %v", p, per, consolePageMaxTime)
			}
		})
	}
}
