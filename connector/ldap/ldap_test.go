package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/connector"
	ldapconn "github.com/rosterhq/roster/connector/ldap"
	"github.com/rosterhq/roster/internal/slapdtest"
)

// directory starts a slapd holding:
//
//	carol          Engineering, VP, no manager
//	alice          manager carol, employeeType staff
//	bob            manager carol (DN in other case), employeeType terminated
//	John.Smith     mail John.Smith@Example.org, manager outside the people
//	engineering    groupOfNames: alice, carol (DN in other case and spacing), bob, the service account
//	vpn            groupOfUniqueNames: alice
//	Sales Team     groupOfNames "Sales": John.Smith
//	ops            groupOfNames: only the service account
func directory(t *testing.T, opts ...slapdtest.Option) *slapdtest.Server {
	t.Helper()
	s := slapdtest.Start(t, opts...)
	s.AddUser(t, slapdtest.User{UID: "carol", CN: "Carol Chen", Mail: "carol@example.org", Department: "Engineering", Title: "VP Engineering"})
	s.AddUser(t, slapdtest.User{UID: "alice", CN: "Alice Archer", Mail: "alice@example.org", Department: "Engineering", Title: "Engineer", Manager: "carol", EmployeeType: "staff", Password: "alice-secret"})
	s.AddUser(t, slapdtest.User{UID: "bob", CN: "Bob Brown", Mail: "bob@example.org", ManagerDN: "UID=Carol,OU=People,DC=Example,DC=Org", EmployeeType: "terminated"})
	s.AddUser(t, slapdtest.User{UID: "John.Smith", CN: "John Smith", Mail: "John.Smith@Example.org", ManagerDN: s.ServiceDN})
	s.AddGroup(t, slapdtest.Group{CN: "engineering", Description: "All engineers",
		Members: []string{"alice", "bob"}, MemberDNs: []string{"uid=CAROL, ou=people, dc=example, dc=org", s.ServiceDN}})
	s.AddGroup(t, slapdtest.Group{CN: "vpn", Unique: true, Members: []string{"alice"}})
	s.AddGroup(t, slapdtest.Group{CN: "Sales Team", Description: "Sales", Members: []string{"John.Smith"}})
	s.AddGroup(t, slapdtest.Group{CN: "ops", MemberDNs: []string{s.ServiceDN}})
	return s
}

// settings are the connector's settings for s, binding as its service
// account with the password in a file.
func settings(t *testing.T, s *slapdtest.Server) connector.Settings {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pw, []byte(s.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return connector.Settings{
		"url":                s.URL,
		"bind_dn":            s.ServiceDN,
		"bind_password_file": pw,
		"user_base_dn":       s.PeopleDN,
		"disabled_filter":    "(employeeType=terminated)",
		"group_base_dn":      s.GroupsDN,
		"insecure":           true, // the test server speaks plain ldap://
	}
}

// access lets the tests' connectors read the password files they write
// in their temporary directories.
var access = connector.Access{SecretsDir: os.TempDir()}

func open(t *testing.T, settings connector.Settings) connector.Connector {
	t.Helper()
	c, err := connector.Open("ldap", connector.Config{ID: "corp-ldap", App: "ldap", Settings: settings, Access: access})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sync(t *testing.T, c connector.Connector) *connector.Snapshot {
	t.Helper()
	snap, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return snap
}

func dn(uid string) string { return "uid=" + uid + ",ou=people,dc=example,dc=org" }

func TestSync(t *testing.T) {
	t.Parallel()
	s := directory(t)
	got := sync(t, open(t, settings(t, s)))

	want := &connector.Snapshot{
		Accounts: []connector.Account{
			{ID: "John.Smith", Email: "John.Smith@Example.org", Name: "John Smith", Attributes: map[string]string{"dn": dn("John.Smith")}},
			{ID: "alice", Email: "alice@example.org", Name: "Alice Archer", Department: "Engineering", Title: "Engineer", Manager: "carol", EmploymentType: "staff", Attributes: map[string]string{"dn": dn("alice")}},
			{ID: "bob", Email: "bob@example.org", Name: "Bob Brown", Manager: "carol", EmploymentType: "terminated", Disabled: true, Attributes: map[string]string{"dn": dn("bob")}},
			{ID: "carol", Email: "carol@example.org", Name: "Carol Chen", Department: "Engineering", Title: "VP Engineering", Attributes: map[string]string{"dn": dn("carol")}},
		},
		Entitlements: []connector.Entitlement{
			{ID: "Sales-Team", Name: "Sales"},
			{ID: "engineering", Name: "All engineers"},
			{ID: "ops", Name: "ops"},
			{ID: "vpn", Name: "vpn"},
		},
		Grants: []connector.Grant{
			{Account: "John.Smith", Entitlement: "Sales-Team"},
			{Account: "alice", Entitlement: "engineering"},
			{Account: "bob", Entitlement: "engineering"},
			{Account: "carol", Entitlement: "engineering"},
			{Account: "alice", Entitlement: "vpn"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sync:\n got %+v\nwant %+v", *got, *want)
	}
}

func TestSyncSettings(t *testing.T) {
	t.Parallel()
	s := directory(t)
	tests := []struct {
		name   string
		change connector.Settings
		check  func(t *testing.T, snap *connector.Snapshot)
	}{
		{
			name:   "user_filter narrows the people, and their grants",
			change: connector.Settings{"user_filter": "(&(objectClass=inetOrgPerson)(departmentNumber=Engineering))"},
			check: func(t *testing.T, snap *connector.Snapshot) {
				if ids := accountIDs(snap); !slices.Equal(ids, []string{"alice", "carol"}) {
					t.Errorf("accounts = %q, want alice and carol", ids)
				}
				for _, g := range snap.Grants {
					if g.Account != "alice" && g.Account != "carol" {
						t.Errorf("grant for %s, who is not one of the people", g.Account)
					}
				}
			},
		},
		{
			name:   "no disabled_filter: nobody is disabled",
			change: connector.Settings{"disabled_filter": nil},
			check: func(t *testing.T, snap *connector.Snapshot) {
				for _, a := range snap.Accounts {
					if a.Disabled {
						t.Errorf("%s is disabled", a.ID)
					}
				}
			},
		},
		{
			name: "user_attributes replace the defaults key by key",
			change: connector.Settings{"user_attributes": map[string]any{
				"id": "mail", "name": "sn", "title": "employeeType", "department": "",
			}},
			check: func(t *testing.T, snap *connector.Snapshot) {
				a := account(t, snap, "alice@example.org")
				if a.Name != "Alice Archer" || a.Title != "staff" || a.Department != "" || a.Manager != "carol@example.org" || a.Email != "alice@example.org" {
					t.Errorf("alice = %+v", a)
				}
				if !slices.Contains(snap.Grants, connector.Grant{Account: "alice@example.org", Entitlement: "vpn"}) {
					t.Errorf("grants use the id attribute: %+v", snap.Grants)
				}
			},
		},
		{
			name:   "group_filter and group_id_attribute",
			change: connector.Settings{"group_filter": "(objectClass=groupOfNames)", "group_id_attribute": "description"},
			check: func(t *testing.T, snap *connector.Snapshot) {
				want := []connector.Entitlement{{ID: "All-engineers", Name: "All engineers"}, {ID: "Sales", Name: "Sales"}}
				if !reflect.DeepEqual(snap.Entitlements, want) {
					t.Errorf("entitlements = %+v, want %+v (groups without a description are skipped)", snap.Entitlements, want)
				}
			},
		},
		{
			name:   "member_attribute uniqueMember reads only that attribute",
			change: connector.Settings{"member_attribute": "uniqueMember"},
			check: func(t *testing.T, snap *connector.Snapshot) {
				want := []connector.Grant{{Account: "alice", Entitlement: "vpn"}}
				if !reflect.DeepEqual(snap.Grants, want) {
					t.Errorf("grants = %+v, want %+v", snap.Grants, want)
				}
			},
		},
		{
			name:   "without group_base_dn there are only people",
			change: connector.Settings{"group_base_dn": nil},
			check: func(t *testing.T, snap *connector.Snapshot) {
				if len(snap.Accounts) != 4 || len(snap.Entitlements) != 0 || len(snap.Grants) != 0 {
					t.Errorf("snapshot = %+v", *snap)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings(t, s)
			for k, v := range tt.change {
				if v == nil {
					delete(set, k)
				} else {
					set[k] = v
				}
			}
			tt.check(t, sync(t, open(t, set)))
		})
	}
}

func accountIDs(snap *connector.Snapshot) []string {
	var ids []string
	for _, a := range snap.Accounts {
		ids = append(ids, a.ID)
	}
	return ids
}

func account(t *testing.T, snap *connector.Snapshot, id string) connector.Account {
	t.Helper()
	for _, a := range snap.Accounts {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no account %s in %q", id, accountIDs(snap))
	return connector.Account{}
}

// The server returns at most 3 entries to an unpaged search; the connector
// pages through 5 people and a group of 5 members two at a time.
func TestSyncPages(t *testing.T) {
	t.Parallel()
	s := slapdtest.Start(t, slapdtest.SizeLimit(3))
	var uids []string
	for i := range 5 {
		uid := fmt.Sprintf("user%d", i)
		uids = append(uids, uid)
		s.AddUser(t, slapdtest.User{UID: uid, Manager: "user0"})
	}
	s.AddGroup(t, slapdtest.Group{CN: "everyone", Members: uids})
	for i := range 4 {
		s.AddGroup(t, slapdtest.Group{CN: fmt.Sprintf("team%d", i), Members: uids[:1]})
	}

	set := settings(t, s)
	set["page_size"] = 2
	snap := sync(t, open(t, set))
	if ids := accountIDs(snap); !slices.Equal(ids, uids) {
		t.Errorf("accounts = %q, want %q", ids, uids)
	}
	if len(snap.Entitlements) != 5 || len(snap.Grants) != 5+4 {
		t.Errorf("got %d entitlements and %d grants, want 5 and 9", len(snap.Entitlements), len(snap.Grants))
	}
	if m := account(t, snap, "user4").Manager; m != "user0" {
		t.Errorf("user4's manager = %q", m)
	}

	// Without paging the same directory cannot be read.
	set["page_size"] = 0
	_, err := open(t, set).Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Size Limit Exceeded") || !strings.Contains(err.Error(), s.PeopleDN) {
		t.Errorf("unpaged Sync of 5 people with a size limit of 3: got %v, want a size limit error naming %s", err, s.PeopleDN)
	}
}

func TestGrantRevoke(t *testing.T) {
	t.Parallel()
	s := directory(t)
	c := open(t, settings(t, s))
	ctx := context.Background()
	byID := func(id string) connector.Subject { return connector.Subject{ID: id, MatchBy: connector.MatchByID} }
	byEmail := func(email string) connector.Subject {
		return connector.Subject{ID: "ignored", Email: email, MatchBy: connector.MatchByEmail}
	}

	tests := []struct {
		name        string
		who         connector.Subject
		entitlement string
		group       string // cn
		member      string // DN expected in the group
	}{
		{"groupOfNames by id", byID("carol"), "ops", "ops", dn("carol")},
		{"groupOfUniqueNames by id", byID("carol"), "vpn", "vpn", dn("carol")},
		{"id through Roster's user id rules", byID("john-smith"), "engineering", "engineering", dn("John.Smith")},
		{"email in another case", byEmail("JOHN.SMITH@example.ORG"), "vpn", "vpn", dn("John.Smith")},
		{"entitlement id of a cn with a space", byID("alice"), "Sales-Team", "Sales Team", dn("alice")},
		{"disabled person", byID("bob"), "ops", "ops", dn("bob")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Members(t, tt.group))
			for i := range 2 { // the second time is a no-op
				if err := c.Grant(ctx, tt.who, tt.entitlement); err != nil {
					t.Fatalf("Grant #%d: %v", i+1, err)
				}
				if m := s.Members(t, tt.group); !containsFold(m, tt.member) || len(m) != before+1 {
					t.Fatalf("after Grant #%d %s has %q, want %s added", i+1, tt.group, m, tt.member)
				}
			}
			for i := range 2 {
				if err := c.Revoke(ctx, tt.who, tt.entitlement); err != nil {
					t.Fatalf("Revoke #%d: %v", i+1, err)
				}
				if m := s.Members(t, tt.group); containsFold(m, tt.member) || len(m) != before {
					t.Fatalf("after Revoke #%d %s has %q", i+1, tt.group, m)
				}
			}
		})
	}

	// A grant shows in the next sync, a revocation of a member written in
	// another case removes it.
	if err := c.Grant(ctx, byID("carol"), "vpn"); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, byID("carol"), "engineering"); err != nil {
		t.Fatal(err)
	}
	snap := sync(t, c)
	if !slices.Contains(snap.Grants, connector.Grant{Account: "carol", Entitlement: "vpn"}) {
		t.Errorf("sync after Grant misses carol in vpn: %+v", snap.Grants)
	}
	if slices.Contains(snap.Grants, connector.Grant{Account: "carol", Entitlement: "engineering"}) {
		t.Errorf("sync after Revoke still has carol in engineering: %+v", snap.Grants)
	}
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func TestGrantRevokeErrors(t *testing.T) {
	t.Parallel()
	s := directory(t)
	c := open(t, settings(t, s))
	ctx := context.Background()
	nobody := connector.Subject{ID: "nobody", Email: "nobody@example.org", MatchBy: connector.MatchByID}
	nobodyByEmail := nobody
	nobodyByEmail.MatchBy = connector.MatchByEmail
	alice := connector.Subject{ID: "alice", MatchBy: connector.MatchByID}

	t.Run("grant to a person without an account", func(t *testing.T) {
		for _, who := range []connector.Subject{nobody, nobodyByEmail} {
			err := c.Grant(ctx, who, "ops")
			if !errors.Is(err, connector.ErrNoAccount) || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "nobody") {
				t.Errorf("Grant to %+v: got %v, want a permanent ErrNoAccount naming nobody", who, err)
			}
		}
	})
	t.Run("revoke from a person without an account succeeds", func(t *testing.T) {
		for _, who := range []connector.Subject{nobody, nobodyByEmail} {
			if err := c.Revoke(ctx, who, "ops"); err != nil {
				t.Errorf("Revoke from %+v: %v", who, err)
			}
		}
	})
	t.Run("a group that does not exist", func(t *testing.T) {
		for name, op := range map[string]func(context.Context, connector.Subject, string) error{"Grant": c.Grant, "Revoke": c.Revoke} {
			err := op(ctx, alice, "no-such-group")
			if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "no-such-group") {
				t.Errorf("%s: got %v, want a permanent error naming the group", name, err)
			}
		}
	})
	t.Run("removing the last member of a groupOfNames", func(t *testing.T) {
		s.AddGroup(t, slapdtest.Group{CN: "solo", Members: []string{"alice"}})
		err := c.Revoke(ctx, alice, "solo")
		t.Logf("Revoke: %v", err)
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "without the member its schema requires") ||
			!strings.Contains(err.Error(), s.GroupDN("solo")) {
			t.Errorf("got %v, want a permanent error explaining the group needs a member", err)
		}
		if m := s.Members(t, "solo"); len(m) != 1 {
			t.Errorf("solo now has %q", m)
		}
	})
	t.Run("an account without write access", func(t *testing.T) {
		set := settings(t, s)
		set["bind_dn"] = dn("alice")
		pw := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(pw, []byte("alice-secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		set["bind_password_file"] = pw
		reader := open(t, set)
		if _, err := reader.Sync(ctx); err != nil {
			t.Fatalf("a reader can sync: %v", err)
		}
		err := reader.Grant(ctx, alice, "ops")
		t.Logf("Grant: %v", err)
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "Insufficient Access Rights") ||
			!strings.Contains(err.Error(), s.GroupDN("ops")) {
			t.Errorf("got %v, want a permanent insufficient access error naming the group", err)
		}
	})
	t.Run("an unknown match_by", func(t *testing.T) {
		err := c.Grant(ctx, connector.Subject{ID: "alice", MatchBy: "phone"}, "ops")
		if err == nil || !connector.IsPermanent(err) {
			t.Errorf("got %v, want a permanent error", err)
		}
	})
	t.Run("no group_base_dn", func(t *testing.T) {
		set := settings(t, s)
		delete(set, "group_base_dn")
		err := open(t, set).Grant(ctx, alice, "ops")
		if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "group_base_dn") {
			t.Errorf("got %v, want a permanent error naming group_base_dn", err)
		}
	})
}

// Two groups whose names give the same entitlement id: sync keeps one, and a
// grant refuses to guess.
func TestAmbiguousNames(t *testing.T) {
	t.Parallel()
	s := directory(t)
	s.AddGroup(t, slapdtest.Group{CN: "Sales/Team", Members: []string{"alice"}})
	s.AddUser(t, slapdtest.User{UID: "john_smith", Mail: "john.smith@example.org"})
	c := open(t, settings(t, s))
	snap := sync(t, c)
	n := 0
	for _, e := range snap.Entitlements {
		if e.ID == "Sales-Team" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d entitlements Sales-Team, want 1", n)
	}
	err := c.Grant(context.Background(), connector.Subject{ID: "alice", MatchBy: connector.MatchByID}, "Sales-Team")
	if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "matches 2 groups") {
		t.Errorf("Grant to an ambiguous entitlement: got %v", err)
	}
	err = c.Grant(context.Background(), connector.Subject{Email: "john.smith@example.org", MatchBy: connector.MatchByEmail}, "ops")
	if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), "matches 2 entries") {
		t.Errorf("Grant to an ambiguous email: got %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	s := directory(t)
	set := settings(t, s)
	const wrong = "Wr0ng-Pa55word-XYZ"
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	set["bind_password_file"] = pw
	c := open(t, set)
	who := connector.Subject{ID: "alice", MatchBy: connector.MatchByID}
	for name, call := range map[string]func() error{
		"Sync":   func() error { _, err := c.Sync(context.Background()); return err },
		"Grant":  func() error { return c.Grant(context.Background(), who, "ops") },
		"Revoke": func() error { return c.Revoke(context.Background(), who, "ops") },
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s with a wrong password succeeded", name)
		}
		msg := err.Error()
		t.Logf("%s: %v", name, err)
		if !strings.Contains(msg, s.ServiceDN) || !strings.Contains(msg, "Invalid Credentials") {
			t.Errorf("%s: %q does not name the bind DN and the failure", name, msg)
		}
		if strings.Contains(msg, wrong) || strings.Contains(msg, s.ServicePassword) {
			t.Errorf("%s: the error leaks a password: %q", name, msg)
		}
		if !connector.IsPermanent(err) {
			t.Errorf("%s: a wrong password is not retried, but the error is not permanent: %v", name, err)
		}
	}
}

// Not parallel: it sets an environment variable.
func TestPasswordFromEnvironment(t *testing.T) {
	s := directory(t)
	set := settings(t, s)
	delete(set, "bind_password_file")
	set["bind_password_env"] = "ROSTER_SECRET_TEST_LDAP_PASSWORD"

	c := open(t, set) // before the variable is set: Open reads no secret
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", "")
	_, err := c.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ROSTER_SECRET_TEST_LDAP_PASSWORD") || !connector.IsPermanent(err) {
		t.Errorf("Sync without the variable: got %v, want a permanent error naming it", err)
	}
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", s.ServicePassword)
	if snap := sync(t, c); len(snap.Accounts) != 4 {
		t.Errorf("got %d accounts, want 4", len(snap.Accounts))
	}
}

// A server that closes every connection (crashed, restarting, a proxy in
// trouble) gives a retryable error that names it. The port stays ours, so no
// other test's server can take it.
func TestServerUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	url := "ldap://" + l.Addr().String()

	s := slapdtest.Start(t)
	set := settings(t, s)
	set["url"] = url
	set["timeout"] = "2s"
	c := open(t, set)
	start := time.Now()
	_, err = c.Sync(context.Background())
	t.Logf("Sync: %v", err)
	if err == nil || connector.IsPermanent(err) || !strings.Contains(err.Error(), url) {
		t.Errorf("Sync against a server that hangs up: got %v, want a retryable error naming %s", err, url)
	}
	err = c.Grant(context.Background(), connector.Subject{ID: "alice", MatchBy: connector.MatchByID}, "ops")
	if err == nil || connector.IsPermanent(err) {
		t.Errorf("Grant against a server that hangs up: got %v, want a retryable error", err)
	}

	// Nothing listening at all.
	l.Close()
	_, err = c.Sync(context.Background())
	t.Logf("Sync: %v", err)
	if err == nil || connector.IsPermanent(err) || !strings.Contains(err.Error(), url) {
		t.Errorf("Sync with nothing listening: got %v, want a retryable error naming %s", err, url)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := directory(t)
	c := open(t, settings(t, s))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sync with a cancelled context: got %v", err)
	}
	if err := c.Revoke(ctx, connector.Subject{ID: "alice", MatchBy: connector.MatchByID}, "vpn"); !errors.Is(err, context.Canceled) {
		t.Errorf("Revoke with a cancelled context: got %v", err)
	}
	if m := s.Members(t, "vpn"); len(m) != 1 {
		t.Errorf("vpn has %q after a cancelled Revoke", m)
	}
}

func TestOpenChecksSettings(t *testing.T) {
	t.Parallel()
	valid := func() connector.Settings {
		return connector.Settings{
			// Nothing listens here and the variable is not set: Open
			// must neither connect nor read the secret.
			"url":               "ldap://127.0.0.1:1",
			"bind_dn":           "cn=roster,dc=example,dc=org",
			"bind_password_env": "ROSTER_SECRET_TEST_UNSET_VARIABLE",
			"user_base_dn":      "ou=people,dc=example,dc=org",
			"group_base_dn":     "ou=groups,dc=example,dc=org",
			"insecure":          true,
		}
	}
	if _, err := ldapconn.Open(connector.Config{ID: "x", Settings: valid()}); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	full := valid()
	for k, v := range map[string]any{
		"user_filter": "(objectClass=person)", "disabled_filter": "(employeeType=terminated)",
		"user_attributes": map[string]any{"id": "uid", "email": "mail", "name": "cn", "department": "departmentNumber", "manager": "manager", "title": "title"},
		"group_filter":    "(objectClass=groupOfNames)", "group_id_attribute": "cn", "member_attribute": "member",
		"page_size": 100, "timeout": "30s", "start_tls": true, "insecure_skip_verify": true, "tls_ca_file": "/run/secrets/ca.pem",
		"sync_timeout": "5m", "provision_timeout": "1m",
	} {
		full[k] = v
	}
	if _, err := ldapconn.Open(connector.Config{ID: "x", Settings: full}); err != nil {
		t.Fatalf("all settings: %v", err)
	}

	tests := []struct {
		name   string
		change connector.Settings // nil value deletes the key
		want   string
	}{
		{"unknown key", connector.Settings{"bind_passwd_env": "X"}, "settings.bind_passwd_env: unknown setting"},
		{"inline secret", connector.Settings{"bind_password": "hunter2"}, "settings.bind_password: a secret is never given inline"},
		{"missing url", connector.Settings{"url": nil}, "settings.url is required"},
		{"missing bind_dn", connector.Settings{"bind_dn": nil}, "settings.bind_dn is required"},
		{"missing user_base_dn", connector.Settings{"user_base_dn": nil}, "settings.user_base_dn is required"},
		{"missing secret", connector.Settings{"bind_password_env": nil}, "settings.bind_password_env or settings.bind_password_file is required"},
		{"both secret forms", connector.Settings{"bind_password_file": "/x"}, "give bind_password_env or bind_password_file, not both"},
		{"url scheme", connector.Settings{"url": "http://127.0.0.1"}, "settings.url"},
		{"url without host", connector.Settings{"url": "ldap://"}, "settings.url"},
		{"start_tls with ldaps", connector.Settings{"url": "ldaps://127.0.0.1", "start_tls": true}, "settings.start_tls"},
		{"start_tls not a boolean", connector.Settings{"start_tls": "maybe"}, "settings.start_tls"},
		{"bad bind_dn", connector.Settings{"bind_dn": "admin"}, "settings.bind_dn"},
		{"empty user_base_dn", connector.Settings{"user_base_dn": ""}, "settings.user_base_dn"},
		{"bad group_base_dn", connector.Settings{"group_base_dn": "ou=groups,,"}, "settings.group_base_dn"},
		{"bad user_filter", connector.Settings{"user_filter": "objectClass=person"}, "settings.user_filter"},
		{"bad disabled_filter", connector.Settings{"disabled_filter": "(employeeType=terminated"}, "settings.disabled_filter"},
		{"bad group_filter", connector.Settings{"group_filter": "(|"}, "settings.group_filter"},
		{"unknown user attribute", connector.Settings{"user_attributes": map[string]any{"phone": "telephoneNumber"}}, "settings.user_attributes.phone: unknown field"},
		{"user attribute not a string", connector.Settings{"user_attributes": map[string]any{"id": 3}}, "settings.user_attributes.id"},
		{"empty id attribute", connector.Settings{"user_attributes": map[string]any{"id": ""}}, "settings.user_attributes.id"},
		{"bad attribute name", connector.Settings{"user_attributes": map[string]any{"email": "mail)(x"}}, "settings.user_attributes.email"},
		{"bad group_id_attribute", connector.Settings{"group_id_attribute": ""}, "settings.group_id_attribute"},
		{"bad member_attribute", connector.Settings{"member_attribute": "mem ber"}, "settings.member_attribute"},
		{"negative page_size", connector.Settings{"page_size": -1}, "settings.page_size"},
		{"page_size not a number", connector.Settings{"page_size": "lots"}, "settings.page_size"},
		{"bad timeout", connector.Settings{"timeout": "10"}, "settings.timeout"},
		{"zero timeout", connector.Settings{"timeout": "0s"}, "settings.timeout"},
		{"clear text", connector.Settings{"insecure": nil},
			"settings.url: ldap:// without start_tls sends the password in clear text: use ldaps:// or start_tls: true, or set insecure: true"},
		{"insecure not a boolean", connector.Settings{"insecure": "yes please"}, "settings.insecure"},
		{"CA without TLS", connector.Settings{"tls_ca_file": "ca.pem"}, "settings.tls_ca_file: only used with ldaps:// or start_tls: true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := valid()
			for k, v := range tt.change {
				if v == nil {
					delete(set, k)
				} else {
					set[k] = v
				}
			}
			_, err := ldapconn.Open(connector.Config{ID: "x", Settings: set})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the inline secret: %v", err)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(connector.Types(), "ldap") {
		t.Errorf("types = %q, want ldap among them", connector.Types())
	}
}

// labeledURI matches case-exactly and has no substring rule, so the server
// finds nothing for the id; the connector then compares every id itself.
func TestMatchByIDWithoutSubstringRule(t *testing.T) {
	t.Parallel()
	s := directory(t)
	s.AddLDIF(t, `
		dn: uid=alice,ou=people,dc=example,dc=org
		changetype: modify
		add: labeledURI
		labeledURI: Alice.Archer
		`)
	set := settings(t, s)
	set["user_attributes"] = map[string]any{"id": "labeledURI"}
	c := open(t, set)
	if ids := accountIDs(sync(t, c)); !slices.Equal(ids, []string{"Alice.Archer"}) {
		t.Fatalf("accounts = %q, want only Alice.Archer (the others lack the id attribute)", ids)
	}
	if err := c.Grant(context.Background(), connector.Subject{ID: "alice-archer", MatchBy: connector.MatchByID}, "ops"); err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if m := s.Members(t, "ops"); !slices.Contains(m, dn("alice")) {
		t.Errorf("ops = %q, want alice added", m)
	}
}

// TestTLS: with StartTLS the server's certificate is checked against the
// system's CAs, or against tls_ca_file (a file under the secrets directory)
// when it is given; without insecure, ldap:// needs StartTLS.
func TestTLS(t *testing.T) {
	t.Parallel()
	s := directory(t, slapdtest.TLS())
	secrets := t.TempDir()
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "not-a-ca.pem"), []byte("ROSTER_SESSION_KEY=hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(secrets, "bind-password")
	if err := os.WriteFile(pw, []byte(s.ServicePassword), 0o600); err != nil {
		t.Fatal(err)
	}
	openTLS := func(ca string) connector.Connector {
		t.Helper()
		set := settings(t, s)
		delete(set, "insecure")
		set["start_tls"], set["bind_password_file"] = true, "bind-password"
		if ca != "" {
			set["tls_ca_file"] = ca
		}
		c, err := connector.Open("ldap", connector.Config{ID: "corp-ldap", Settings: set, Access: connector.Access{SecretsDir: secrets}})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if snap := sync(t, openTLS("ca.pem")); len(snap.Accounts) != 4 {
		t.Errorf("StartTLS with tls_ca_file: %d accounts, want 4", len(snap.Accounts))
	}
	_, err = openTLS("").Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "StartTLS") || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("StartTLS without tls_ca_file: %v, want the certificate refused", err)
	}
	_, err = openTLS("not-a-ca.pem").Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "settings.tls_ca_file: not-a-ca.pem holds no PEM certificate") || !connector.IsPermanent(err) {
		t.Errorf("a tls_ca_file that is no certificate: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the file's content: %v", err)
	}
	set := settings(t, s)
	set["start_tls"], set["tls_ca_file"], set["bind_password_file"] = true, "/etc/ssl/certs/ca-certificates.crt", "bind-password"
	if _, err := connector.Open("ldap", connector.Config{Settings: set, Access: connector.Access{SecretsDir: secrets}}); err == nil ||
		!strings.Contains(err.Error(), "settings.tls_ca_file: /etc/ssl/certs/ca-certificates.crt is not under the secrets directory") {
		t.Errorf("a tls_ca_file outside the secrets directory: %v", err)
	}
}
