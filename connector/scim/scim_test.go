package scim_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/connector/scim"
	"github.com/rosterhq/roster/connector/scim/scimtest"
	"github.com/rosterhq/roster/internal/testenv"
)

const token = "tok-Zq81-very-secret"

// fixture is the provider's data in every test.
type fixture struct {
	srv                      *scimtest.Server
	carol, alice, bob, dave  string // user SCIM ids
	eng, sales, devops, empt string // group SCIM ids
}

func newFixture(t *testing.T, opts ...scimtest.Option) *fixture {
	t.Helper()
	srv := scimtest.New(token, opts...)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	f.carol = srv.AddUser(scimtest.User{
		UserName: "carol", ExternalID: "E001", DisplayName: "Carol Boss", Formatted: "Carol B. Boss",
		Title: "VP Engineering", Emails: []string{"carol@example.com"}, Department: "Engineering",
	})
	f.alice = srv.AddUser(scimtest.User{
		UserName: "Alice.Smith", ExternalID: "E002", Formatted: "Alice Smith", Title: "Engineer",
		Emails: []string{"alice.personal@example.net", "Alice@Example.com"}, Primary: 1,
		Department: "Engineering", Manager: f.carol,
	})
	f.bob = srv.AddUser(scimtest.User{
		UserName: "bob", ExternalID: "E003", DisplayName: "Bob", Emails: []string{"bob@example.com"},
		Inactive: true, Department: "Sales", Manager: f.carol,
	})
	f.dave = srv.AddUser(scimtest.User{
		UserName: "dave", DisplayName: "Dave", Emails: []string{"dave@example.com"}, Primary: -1,
	})
	f.eng = srv.AddGroup("Engineering", f.alice, f.carol)
	// A nested group and a member that is not a listed user (bob, when
	// user_filter leaves inactive users out) must be ignored.
	f.sales = srv.AddGroup("Sales Team", f.bob, f.eng)
	f.devops = srv.AddGroup(`Dev "Ops"`, f.dave)
	f.empt = srv.AddGroup("Empty")
	srv.Requests()
	return f
}

// open opens a scim connector on srv with the token in a file and extra
// settings.
func open(t *testing.T, srv *scimtest.Server, extra connector.Settings) connector.Connector {
	t.Helper()
	return openWith(t, srv, extra, nil)
}

func openWith(t *testing.T, srv *scimtest.Server, extra connector.Settings, logger *slog.Logger) connector.Connector {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := connector.Settings{"url": srv.URL, "token_file": path, "insecure": true}
	for k, v := range extra {
		s[k] = v
	}
	c, err := connector.Open("scim", connector.Config{ID: "idp", App: "idp", Settings: s, Logger: logger,
		Access: connector.Access{SecretsDir: filepath.Dir(path)}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func countRequests(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestSync(t *testing.T) {
	want := &connector.Snapshot{
		Accounts: []connector.Account{
			{ID: "Alice.Smith", Email: "Alice@Example.com", Name: "Alice Smith", Manager: "carol", Department: "Engineering", Title: "Engineer",
				Attributes: map[string]string{"scim_id": "0002", "userName": "Alice.Smith", "externalId": "E002"}},
			{ID: "bob", Email: "bob@example.com", Name: "Bob", Manager: "carol", Department: "Sales", Disabled: true,
				Attributes: map[string]string{"scim_id": "0003", "userName": "bob", "externalId": "E003"}},
			{ID: "carol", Email: "carol@example.com", Name: "Carol Boss", Department: "Engineering", Title: "VP Engineering",
				Attributes: map[string]string{"scim_id": "0001", "userName": "carol", "externalId": "E001"}},
			{ID: "dave", Email: "dave@example.com", Name: "Dave",
				Attributes: map[string]string{"scim_id": "0004", "userName": "dave"}},
		},
		Entitlements: []connector.Entitlement{
			{ID: "Dev--Ops-", Name: `Dev "Ops"`},
			{ID: "Empty", Name: "Empty"},
			{ID: "Engineering", Name: "Engineering"},
			{ID: "Sales-Team", Name: "Sales Team"},
		},
		Grants: []connector.Grant{
			{Account: "dave", Entitlement: "Dev--Ops-"},
			{Account: "Alice.Smith", Entitlement: "Engineering"},
			{Account: "carol", Entitlement: "Engineering"},
			{Account: "bob", Entitlement: "Sales-Team"},
		},
	}
	for _, tc := range []struct {
		name       string
		pageSize   any // the page_size setting; nil for the default
		maxResults int // the provider's cap on a page
		minUserGET int // at least this many GET /Users requests
	}{
		{name: "default page size", pageSize: nil, maxResults: 100, minUserGET: 1},
		{name: "page size 1", pageSize: 1, maxResults: 100, minUserGET: 4},
		{name: "page size 3", pageSize: "3", maxResults: 100, minUserGET: 2},
		{name: "provider returns fewer than asked", pageSize: 50, maxResults: 3, minUserGET: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, scimtest.WithMaxResults(tc.maxResults))
			settings := connector.Settings{}
			if tc.pageSize != nil {
				settings["page_size"] = tc.pageSize
			}
			c := open(t, f.srv, settings)
			got, err := c.Sync(context.Background())
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Sync:\n got %+v\nwant %+v", got, want)
			}
			if n := countRequests(f.srv.Requests(), "GET "+scimtest.BasePath+"/Users?"); n < tc.minUserGET {
				t.Errorf("%d GET /Users requests, want at least %d (paging)", n, tc.minUserGET)
			}
		})
	}
}

func TestSyncSettings(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name         string
		settings     connector.Settings
		accounts     []string // "ID manager"
		entitlements []string
		grants       []string // "account entitlement"
	}{
		{
			name:         "user_filter leaves out inactive users and their grants",
			settings:     connector.Settings{"user_filter": "active eq true"},
			accounts:     []string{"Alice.Smith carol", "carol ", "dave "},
			entitlements: []string{"Dev--Ops-", "Empty", "Engineering", "Sales-Team"},
			grants:       []string{"dave Dev--Ops-", "Alice.Smith Engineering", "carol Engineering"},
		},
		{
			name:         "user_filter on the enterprise extension",
			settings:     connector.Settings{"user_filter": `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`},
			accounts:     []string{"bob "}, // the manager is not listed: no manager
			entitlements: []string{"Dev--Ops-", "Empty", "Engineering", "Sales-Team"},
			grants:       []string{"bob Sales-Team"},
		},
		{
			name:         "group_filter",
			settings:     connector.Settings{"group_filter": `displayName sw "Eng" or displayName eq "Empty"`},
			accounts:     []string{"Alice.Smith carol", "bob carol", "carol ", "dave "},
			entitlements: []string{"Empty", "Engineering"},
			grants:       []string{"Alice.Smith Engineering", "carol Engineering"},
		},
		{
			name:         "id_attribute externalId skips users without one",
			settings:     connector.Settings{"id_attribute": "externalId"},
			accounts:     []string{"E001 ", "E002 E001", "E003 E001"},
			entitlements: []string{"Dev--Ops-", "Empty", "Engineering", "Sales-Team"},
			grants:       []string{"E001 Engineering", "E002 Engineering", "E003 Sales-Team"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := open(t, f.srv, tc.settings).Sync(context.Background())
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			var accounts, ents, grants []string
			for _, a := range snap.Accounts {
				accounts = append(accounts, a.ID+" "+a.Manager)
			}
			for _, e := range snap.Entitlements {
				ents = append(ents, e.ID)
			}
			for _, g := range snap.Grants {
				grants = append(grants, g.Account+" "+g.Entitlement)
			}
			if !slices.Equal(accounts, tc.accounts) {
				t.Errorf("accounts %q, want %q", accounts, tc.accounts)
			}
			if !slices.Equal(ents, tc.entitlements) {
				t.Errorf("entitlements %q, want %q", ents, tc.entitlements)
			}
			if !slices.Equal(grants, tc.grants) {
				t.Errorf("grants %q, want %q", grants, tc.grants)
			}
		})
	}
}

func TestGrantRevoke(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings connector.Settings
		who      connector.Subject
		userName string
		sync     bool // Sync first, so the connector has lookup hints
	}{
		{name: "id, key is the user id", who: connector.Subject{ID: "bob", MatchBy: "id"}, userName: "bob"},
		{name: "id, key differs from the user id, no sync", who: connector.Subject{ID: "alice-smith", MatchBy: "id"}, userName: "Alice.Smith"},
		{name: "id, key differs from the user id, after sync", who: connector.Subject{ID: "alice-smith", MatchBy: "id"}, userName: "Alice.Smith", sync: true},
		{name: "id via externalId", settings: connector.Settings{"id_attribute": "externalId"},
			who: connector.Subject{ID: "e002", MatchBy: "id"}, userName: "Alice.Smith", sync: true},
		{name: "email, primary, other case", who: connector.Subject{ID: "x", Email: "alice@EXAMPLE.com", MatchBy: "email"}, userName: "Alice.Smith"},
		{name: "email", who: connector.Subject{Email: "dave@example.com", MatchBy: "email"}, userName: "dave"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := open(t, f.srv, tc.settings)
			ctx := context.Background()
			if tc.sync {
				if _, err := c.Sync(ctx); err != nil {
					t.Fatalf("Sync: %v", err)
				}
			}
			for i := range 2 { // the second time changes nothing
				if err := c.Grant(ctx, tc.who, "Sales-Team"); err != nil {
					t.Fatalf("Grant #%d: %v", i+1, err)
				}
				members := f.srv.Members("Sales Team")
				if !slices.Contains(members, tc.userName) {
					t.Fatalf("after Grant #%d, members of Sales Team: %q, want %s among them", i+1, members, tc.userName)
				}
				want := 3 // bob, the nested group and the user
				if tc.userName == "bob" {
					want = 2
				}
				if n := len(f.srv.MemberIDs("Sales Team")); n != want {
					t.Fatalf("after Grant #%d, Sales Team has %d members, want %d: %q", i+1, n, want, f.srv.MemberIDs("Sales Team"))
				}
			}
			for i := range 2 { // the second time, the provider answers noTarget
				if err := c.Revoke(ctx, tc.who, "Sales-Team"); err != nil {
					t.Fatalf("Revoke #%d: %v", i+1, err)
				}
				if members := f.srv.Members("Sales Team"); slices.Contains(members, tc.userName) {
					t.Fatalf("after Revoke #%d, members of Sales Team: %q", i+1, members)
				}
			}
			// The nested group is still a member: only the user was removed.
			if ids := f.srv.MemberIDs("Sales Team"); !slices.Contains(ids, f.eng) {
				t.Errorf("Sales Team lost its nested group: %q", ids)
			}
			// What the connector did shows in the next Sync.
			if err := c.Grant(ctx, tc.who, "Dev--Ops-"); err != nil {
				t.Fatalf("Grant Dev--Ops-: %v", err)
			}
			snap, err := c.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			userName := map[string]string{} // account ID -> userName
			for _, a := range snap.Accounts {
				userName[a.ID] = a.Attributes["userName"]
			}
			var holders []string
			for _, g := range snap.Grants {
				if g.Entitlement == "Dev--Ops-" {
					holders = append(holders, userName[g.Account])
				}
			}
			if !slices.Contains(holders, tc.userName) {
				t.Errorf("Sync after Grant: Dev--Ops- is held by %q, want %s among them", holders, tc.userName)
			}
		})
	}
}

func TestGrantLookupRequests(t *testing.T) {
	f := newFixture(t)
	c := open(t, f.srv, connector.Settings{"user_filter": "active eq true"})
	ctx := context.Background()
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv.Requests()
	if err := c.Grant(ctx, connector.Subject{ID: "dave", MatchBy: "id"}, "Dev--Ops-"); err != nil {
		t.Fatal(err)
	}
	if err := c.Grant(ctx, connector.Subject{Email: "carol@example.com", MatchBy: "email"}, "Dev--Ops-"); err != nil {
		t.Fatal(err)
	}
	reqs := strings.Join(f.srv.Requests(), "\n")
	for _, want := range []string{
		// user_filter and the lookup, quoted as JSON strings.
		`filter=%28active+eq+true%29+and+userName+eq+%22dave%22`,
		`filter=%28active+eq+true%29+and+emails%5Bvalue+eq+%22carol%40example.com%22%5D`,
		// The entitlement id is not the group's name: the name seen by Sync
		// is looked up, with its quotes escaped.
		`filter=displayName+eq+%22Dev+%5C%22Ops%5C%22%22`,
		"PATCH " + scimtest.BasePath + "/Groups/" + f.devops,
	} {
		if !strings.Contains(reqs, want) {
			t.Errorf("requests lack %s:\n%s", want, reqs)
		}
	}
	// Found by filters: no full listing.
	for _, r := range strings.Split(reqs, "\n") {
		if strings.HasPrefix(r, "GET") && !strings.Contains(r, "filter=") {
			t.Errorf("unexpected full listing: %s", r)
		}
	}
	if got := f.srv.Members(`Dev "Ops"`); !slices.Equal(got, []string{"carol", "dave"}) {
		t.Errorf("members %q", got)
	}
}

func TestGrantRevokeNoAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		settings connector.Settings
		who      connector.Subject
	}{
		{name: "unknown id", who: connector.Subject{ID: "nobody", Email: "carol@example.com", MatchBy: "id"}},
		{name: "unknown email", who: connector.Subject{ID: "carol", Email: "nobody@example.com", MatchBy: "email"}},
		{name: "secondary email is not the account's", who: connector.Subject{Email: "alice.personal@example.net", MatchBy: "email"}},
		{name: "left out by user_filter", settings: connector.Settings{"user_filter": "active eq true"}, who: connector.Subject{ID: "bob", MatchBy: "id"}},
		{name: "no externalId", settings: connector.Settings{"id_attribute": "externalId"}, who: connector.Subject{ID: "dave", MatchBy: "id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := open(t, f.srv, tc.settings)
			err := c.Grant(ctx, tc.who, "Engineering")
			if !errors.Is(err, connector.ErrNoAccount) || !connector.IsPermanent(err) {
				t.Errorf("Grant: %v, want a permanent ErrNoAccount", err)
			}
			if err := c.Revoke(ctx, tc.who, "Engineering"); err != nil {
				t.Errorf("Revoke: %v, want success", err)
			}
			if got := f.srv.Members("Engineering"); !slices.Equal(got, []string{"Alice.Smith", "carol"}) {
				t.Errorf("Engineering members changed: %q", got)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	carol := connector.Subject{ID: "carol", MatchBy: "id"}

	t.Run("wrong token", func(t *testing.T) {
		f := newFixture(t)
		c, err := connector.Open("scim", connector.Config{Settings: connector.Settings{"url": f.srv.URL, "token_env": "ROSTER_SECRET_SCIM_TEST_WRONG_TOKEN", "insecure": true}})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("ROSTER_SECRET_SCIM_TEST_WRONG_TOKEN", "wrong-"+token)
		for name, op := range map[string]func() error{
			"Sync":   func() error { _, err := c.Sync(ctx); return err },
			"Grant":  func() error { return c.Grant(ctx, carol, "Engineering") },
			"Revoke": func() error { return c.Revoke(ctx, carol, "Engineering") },
		} {
			err := op()
			if err == nil || !connector.IsPermanent(err) {
				t.Fatalf("%s: %v, want a permanent error", name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "401") || !strings.Contains(msg, "bearer token is missing or invalid") {
				t.Errorf("%s: %q lacks the status and the provider's detail", name, msg)
			}
			if strings.Contains(msg, token) {
				t.Errorf("%s: error contains the token: %q", name, msg)
			}
		}
	})

	t.Run("missing token", func(t *testing.T) {
		f := newFixture(t)
		c, err := connector.Open("scim", connector.Config{Settings: connector.Settings{"url": f.srv.URL, "token_env": "ROSTER_SECRET_SCIM_TEST_UNSET_TOKEN", "insecure": true}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Sync(ctx)
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "ROSTER_SECRET_SCIM_TEST_UNSET_TOKEN") {
			t.Errorf("Sync: %v, want a permanent error naming the variable", err)
		}
	})

	t.Run("unknown entitlement", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, nil)
		for _, op := range []func(context.Context, connector.Subject, string) error{c.Grant, c.Revoke} {
			err := op(ctx, carol, "Nope")
			if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), `"Nope"`) {
				t.Errorf("%v, want a permanent error naming the entitlement", err)
			}
		}
	})

	t.Run("group excluded by group_filter", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, connector.Settings{"group_filter": `displayName eq "Empty"`})
		if err := c.Grant(ctx, carol, "Engineering"); err == nil || !connector.IsPermanent(err) {
			t.Errorf("Grant: %v, want a permanent error", err)
		}
	})

	t.Run("group deleted before the PATCH: 404", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, nil)
		f.srv.SetFault(func(r *http.Request) int {
			if r.Method == http.MethodPatch {
				f.srv.DeleteGroup(f.eng)
			}
			return 0
		})
		err := c.Revoke(ctx, carol, "Engineering")
		if err == nil || !connector.IsPermanent(err) {
			t.Fatalf("Revoke: %v, want a permanent error", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "404") || !strings.Contains(msg, "Resource "+f.eng+" not found") || !strings.Contains(msg, "Engineering") {
			t.Errorf("error %q lacks the status, the provider's detail or the group", msg)
		}
	})

	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError} {
		t.Run("provider answers "+http.StatusText(status), func(t *testing.T) {
			f := newFixture(t)
			c := open(t, f.srv, nil)
			f.srv.SetFault(func(r *http.Request) int { return status })
			_, err := c.Sync(ctx)
			if err == nil || connector.IsPermanent(err) {
				t.Fatalf("Sync: %v, want a transient error", err)
			}
			var se *scim.StatusError
			if !errors.As(err, &se) || se.Status != status || !strings.Contains(err.Error(), "injected fault") {
				t.Errorf("Sync: %v, want a StatusError %d with the detail", err, status)
			}
			// Only the PATCH fails.
			f.srv.SetFault(func(r *http.Request) int {
				if r.Method == http.MethodPatch {
					return status
				}
				return 0
			})
			err = c.Grant(ctx, carol, "Empty")
			if err == nil || connector.IsPermanent(err) {
				t.Fatalf("Grant: %v, want a transient error", err)
			}
		})
	}

	t.Run("two keys make one user id", func(t *testing.T) {
		f := newFixture(t)
		f.srv.AddUser(scimtest.User{UserName: "alice-smith"})
		_, err := open(t, f.srv, nil).Sync(ctx)
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), `"Alice.Smith"`) || !strings.Contains(err.Error(), `"alice-smith"`) {
			t.Errorf("Sync: %v, want a permanent error naming both users", err)
		}
	})

	t.Run("invalid user_filter", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, connector.Settings{"user_filter": "userName eq"})
		_, err := c.Sync(ctx)
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "invalidFilter") {
			t.Errorf("Sync: %v, want a permanent invalidFilter error", err)
		}
	})

	t.Run("provider unreachable", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, nil)
		f.srv.Close()
		_, err := c.Sync(ctx)
		if err == nil || connector.IsPermanent(err) {
			t.Errorf("Sync: %v, want a transient error", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		f := newFixture(t)
		c := open(t, f.srv, connector.Settings{"timeout": "100ms"})
		f.srv.SetFault(func(r *http.Request) int {
			time.Sleep(400 * time.Millisecond)
			return 0
		})
		start := time.Now()
		_, err := c.Sync(ctx)
		if err == nil || connector.IsPermanent(err) {
			t.Errorf("Sync: %v, want a transient error", err)
		}
		if d := time.Since(start); d > 350*time.Millisecond {
			t.Errorf("Sync took %v despite timeout 100ms", d)
		}
	})
}

// TestTokenNotLogged runs every operation, failing and not, with debug
// logging and checks that the token appears nowhere.
func TestTokenNotLogged(t *testing.T) {
	f := newFixture(t)
	var buf testenv.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := openWith(t, f.srv, nil, logger)
	ctx := context.Background()
	var errs []error
	_, err := c.Sync(ctx)
	errs = append(errs, err,
		c.Grant(ctx, connector.Subject{ID: "alice-smith", MatchBy: "id"}, "Empty"),
		c.Revoke(ctx, connector.Subject{ID: "alice-smith", MatchBy: "id"}, "Empty"),
		c.Grant(ctx, connector.Subject{ID: "nobody", MatchBy: "id"}, "Empty"),
		c.Grant(ctx, connector.Subject{ID: "carol", MatchBy: "id"}, "Nope"),
	)
	f.srv.SetFault(func(*http.Request) int { return http.StatusBadGateway })
	_, err = c.Sync(ctx)
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error contains the token: %v", err)
		}
	}
	if buf.Len() == 0 {
		t.Fatal("nothing was logged: the check below would prove nothing")
	}
	if strings.Contains(buf.String(), token) {
		t.Errorf("the log contains the token:\n%s", buf.String())
	}
}

func TestOpenSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings connector.Settings
		want     string // in the error; "" for success
	}{
		{name: "valid", settings: connector.Settings{"url": "https://idp.example.com/scim/v2/", "token_env": "ROSTER_SECRET_UNSET_IS_FINE_HERE",
			"page_size": 10, "user_filter": "active eq true", "group_filter": `displayName sw "a"`, "id_attribute": "externalid", "timeout": "5s"}},
		{name: "unknown key", settings: connector.Settings{"url": "https://x", "token_env": "T", "pagesize": 10}, want: "settings.pagesize"},
		{name: "inline token", settings: connector.Settings{"url": "https://x", "token": token}, want: "settings.token: a secret is never given inline"},
		{name: "missing url", settings: connector.Settings{"token_env": "T"}, want: "settings.url is required"},
		{name: "missing token", settings: connector.Settings{"url": "https://x"}, want: "settings.token_env or settings.token_file is required"},
		{name: "both token forms", settings: connector.Settings{"url": "https://x", "token_env": "T", "token_file": "/t"}, want: "token_env or token_file, not both"},
		{name: "bad url", settings: connector.Settings{"url": "idp.example.com/scim", "token_env": "T"}, want: "settings.url"},
		{name: "url with credentials", settings: connector.Settings{"url": "https://u:p@x/scim", "token_env": "T"}, want: "settings.url"},
		{name: "page_size zero", settings: connector.Settings{"url": "https://x", "token_env": "T", "page_size": 0}, want: "settings.page_size"},
		{name: "page_size not a number", settings: connector.Settings{"url": "https://x", "token_env": "T", "page_size": "many"}, want: "settings.page_size"},
		{name: "bad id_attribute", settings: connector.Settings{"url": "https://x", "token_env": "T", "id_attribute": "email"}, want: "settings.id_attribute"},
		{name: "bad timeout", settings: connector.Settings{"url": "https://x", "token_env": "T", "timeout": "soon"}, want: "settings.timeout"},
		{name: "negative timeout", settings: connector.Settings{"url": "https://x", "token_env": "T", "timeout": "-1s"}, want: "settings.timeout"},
		{name: "http", settings: connector.Settings{"url": "http://idp.example.com/scim", "token_env": "ROSTER_SECRET_T"},
			want: "settings.url: http:// sends the token in clear text: use https://, or set insecure: true"},
		{name: "http, insecure", settings: connector.Settings{"url": "http://idp.example.com/scim", "token_env": "ROSTER_SECRET_T", "insecure": true}},
		{name: "insecure not a boolean", settings: connector.Settings{"url": "http://x", "token_env": "T", "insecure": "sure"}, want: "settings.insecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := connector.Open("scim", connector.Config{Settings: tc.settings})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error contains the token: %v", err)
			}
		})
	}
}

// TestRedirects: the bearer token goes only to the provider's origin. A
// redirect within it is followed; one to another origin (another port here)
// is refused, and the other origin sees no request.
func TestRedirects(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere = append(elsewhere, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/scim+json")
		w.Write([]byte(`{"totalResults":0,"Resources":[]}`))
	}))
	t.Cleanup(other.Close)
	target, err := url.Parse(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	var front *httptest.Server
	front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch rest, _ := strings.CutPrefix(r.URL.Path, "/"); {
		case strings.HasPrefix(rest, "same/"): // moved within this origin
			http.Redirect(w, r, front.URL+target.Path+strings.TrimPrefix(rest, "same"), http.StatusTemporaryRedirect)
		case strings.HasPrefix(rest, "cross/"): // moved to another origin
			http.Redirect(w, r, other.URL+strings.TrimPrefix(rest, "cross"), http.StatusTemporaryRedirect)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(front.Close)

	same := open(t, &scimtest.Server{URL: front.URL + "/same"}, nil)
	if snap, err := same.Sync(context.Background()); err != nil || len(snap.Accounts) != 4 {
		t.Fatalf("Sync through a redirect within the origin: %v", err)
	}
	cross := open(t, &scimtest.Server{URL: front.URL + "/cross"}, nil)
	_, err = cross.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused a redirect to another origin ("+other.URL+")") || !connector.IsPermanent(err) {
		t.Fatalf("Sync through a redirect to another origin: %v, want a permanent error", err)
	}
	if err := cross.Grant(context.Background(), connector.Subject{ID: "carol", MatchBy: "id"}, "Engineering"); err == nil {
		t.Fatal("Grant through a redirect to another origin succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(elsewhere) != 0 {
		t.Fatalf("the other origin was sent %q", elsewhere)
	}
}
