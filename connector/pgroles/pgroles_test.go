package pgroles_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/connector"
	"github.com/rosterhq/roster/connector/pgroles"
	"github.com/rosterhq/roster/internal/testenv"
)

// serverURL is the test PostgreSQL server; a test reaches it through
// newCluster first, which skips the test when it cannot be reached. The user
// must be a superuser.
func serverURL() string {
	return testenv.PostgresURL()
}

// cluster is a test's view of the PostgreSQL server: a superuser connection
// and a random role name prefix whose roles are dropped when the test ends.
type cluster struct {
	t      *testing.T
	admin  *pgx.Conn
	prefix string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, testenv.RequirePostgres(t))
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	c := &cluster{t: t, admin: admin, prefix: "rt_" + hex.EncodeToString(b[:]) + "_"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		defer admin.Close(ctx)
		rows, err := admin.Query(ctx, `SELECT rolname::text FROM pg_roles WHERE starts_with(rolname::text, $1)`, c.prefix)
		if err != nil {
			t.Errorf("list test roles: %v", err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(names) == 0 {
			return
		}
		idents := make([]string, len(names))
		for i, n := range names {
			idents[i] = ident(n)
		}
		if _, err := admin.Exec(ctx, "DROP ROLE "+strings.Join(idents, ", ")); err != nil {
			t.Errorf("drop test roles: %v", err)
		}
	})
	return c
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// n returns the test's role name for short.
func (c *cluster) n(short string) string { return c.prefix + short }

// q returns the quoted test role name for short.
func (c *cluster) q(short string) string { return ident(c.n(short)) }

// pattern is a LIKE pattern matching exactly this test's roles.
func (c *cluster) pattern() string { return strings.ReplaceAll(c.prefix, "_", `\_`) + "%" }

func (c *cluster) exec(sqls ...string) {
	c.t.Helper()
	for _, sql := range sqls {
		if _, err := c.admin.Exec(context.Background(), sql); err != nil {
			c.t.Fatalf("%s: %v", sql, err)
		}
	}
}

// isMember reports whether role short has member short directly.
func (c *cluster) isMember(role, member string) bool {
	c.t.Helper()
	var ok bool
	err := c.admin.QueryRow(context.Background(), `
SELECT EXISTS (SELECT 1 FROM pg_auth_members am
  JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
  WHERE g.rolname = $1 AND m.rolname = $2)`, c.n(role), c.n(member)).Scan(&ok)
	if err != nil {
		c.t.Fatalf("membership of %s in %s: %v", member, role, err)
	}
	return ok
}

// dsnAs returns the server's DSN with a different user and password.
func dsnAs(t *testing.T, user, password string) string {
	t.Helper()
	s := serverURL()
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("parse %s: %v", testenv.PostgresEnv, err)
		}
		u.User = url.UserPassword(user, password)
		return u.String()
	}
	return s + " user=" + quoteKV(user) + " password=" + quoteKV(password)
}

func quoteKV(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

type opened struct {
	connector.Connector
	logs *testenv.Buffer
}

// open opens a postgres connector with the DSN in a file (tests run in
// parallel, so no environment variables) and settings.
func open(t *testing.T, dsn string, settings connector.Settings, now time.Time) opened {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(path, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := connector.Settings{"dsn_file": path}
	for k, v := range settings {
		s[k] = v
	}
	logs := &testenv.Buffer{}
	cfg := connector.Config{
		ID:       "warehouse",
		App:      "warehouse",
		Settings: s,
		Now:      func() time.Time { return now },
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Access:   connector.Access{SecretsDir: filepath.Dir(path)},
	}
	conn, err := connector.Open(pgroles.Type, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return opened{conn, logs}
}

func syncOK(t *testing.T, c connector.Connector) *connector.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	snap, err := c.Sync(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return snap
}

func TestSync(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.exec(
		"CREATE ROLE "+c.q("readers")+" NOLOGIN",
		"COMMENT ON ROLE "+c.q("readers")+" IS 'Read-only access'",
		"CREATE ROLE "+c.q("writers"),
		"CREATE ROLE "+c.q("Data Admins"),
		"CREATE ROLE "+c.q("ops-team"),
		"CREATE ROLE "+c.q("ops team"), // same entitlement id as ops-team: left out
		"CREATE ROLE "+c.q("nsuper")+" NOLOGIN SUPERUSER",
		"CREATE ROLE "+c.q("hidden"),
		"CREATE ROLE "+c.q("alice")+" LOGIN",
		"COMMENT ON ROLE "+c.q("alice")+" IS 'Alice Liddell'",
		"CREATE ROLE "+c.q("Bob.Smith")+" LOGIN",
		"CREATE ROLE "+c.q("carol")+" LOGIN VALID UNTIL '2029-06-01 00:00:00+00'",
		"CREATE ROLE "+c.q("dave")+" LOGIN VALID UNTIL '2031-01-01 12:00:00+00'",
		"CREATE ROLE "+c.q("erin")+" LOGIN VALID UNTIL 'infinity'",
		"CREATE ROLE "+c.q("frank")+" LOGIN VALID UNTIL '-infinity'",
		"CREATE ROLE "+c.q("root")+" LOGIN SUPERUSER",
		"GRANT "+c.q("readers")+" TO "+c.q("alice"),
		"GRANT "+c.q("Data Admins")+" TO "+c.q("alice"),
		"GRANT "+c.q("ops team")+" TO "+c.q("alice"),
		"GRANT "+c.q("hidden")+" TO "+c.q("alice"),
		"GRANT "+c.q("writers")+" TO "+c.q("Bob.Smith"),
		"GRANT "+c.q("ops-team")+" TO "+c.q("Bob.Smith"),
		"GRANT "+c.q("readers")+" TO "+c.q("carol"),
		"GRANT "+c.q("readers")+" TO "+c.q("writers"), // role in role: not a grant
		"GRANT "+c.q("readers")+" TO "+c.q("root"),    // superuser: left out
		"GRANT "+c.q("nsuper")+" TO "+c.q("erin"),     // superuser role: left out
		"GRANT "+c.q("alice")+" TO "+c.q("dave"),      // login in login: not a grant
	)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	conn := open(t, serverURL(), connector.Settings{
		"role_pattern":    c.pattern(),
		"account_pattern": c.pattern(),
		"exclude_roles":   []any{c.n("hidden")},
	}, now)
	got := syncOK(t, conn)

	want := &connector.Snapshot{
		Accounts: []connector.Account{
			{ID: c.n("alice"), Name: "Alice Liddell"},
			{ID: c.n("Bob.Smith"), Name: c.n("Bob.Smith")},
			{ID: c.n("carol"), Name: c.n("carol"), Disabled: true, Attributes: map[string]string{"valid_until": "2029-06-01T00:00:00Z"}},
			{ID: c.n("dave"), Name: c.n("dave"), Attributes: map[string]string{"valid_until": "2031-01-01T12:00:00Z"}},
			{ID: c.n("erin"), Name: c.n("erin")},
			{ID: c.n("frank"), Name: c.n("frank"), Disabled: true},
		},
		Entitlements: []connector.Entitlement{
			{ID: c.n("Data-Admins"), Name: c.n("Data Admins")},
			{ID: c.n("ops-team"), Name: c.n("ops-team")},
			{ID: c.n("readers"), Name: "Read-only access"},
			{ID: c.n("writers"), Name: c.n("writers")},
		},
		Grants: []connector.Grant{
			{Account: c.n("alice"), Entitlement: c.n("Data-Admins")},
			{Account: c.n("alice"), Entitlement: c.n("readers")},
			{Account: c.n("Bob.Smith"), Entitlement: c.n("ops-team")},
			{Account: c.n("Bob.Smith"), Entitlement: c.n("writers")},
			{Account: c.n("carol"), Entitlement: c.n("readers")},
		},
	}
	connector.SortSnapshot(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot:\n got %+v\nwant %+v", *got, *want)
	}
	if logs := conn.logs.String(); !strings.Contains(logs, c.n("ops team")) {
		t.Errorf("no warning about role %q whose entitlement id is taken; logs:\n%s", c.n("ops team"), logs)
	}

	// The same roles a year earlier: carol is still valid.
	earlier := open(t, serverURL(), connector.Settings{"role_pattern": c.pattern(), "account_pattern": c.pattern()}, now.AddDate(-1, 0, 0))
	for _, a := range syncOK(t, earlier).Accounts {
		if a.ID == c.n("carol") && a.Disabled {
			t.Errorf("carol disabled in 2029-01 although valid until 2029-06")
		}
	}
}

func TestSyncPatterns(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.exec(
		"CREATE ROLE "+c.q("team_a"),
		"CREATE ROLE "+c.q("team_b"),
		"CREATE ROLE "+c.q("teamx"),
		"CREATE ROLE "+c.q("other"),
		"CREATE ROLE "+c.q("a_one")+" LOGIN",
		"CREATE ROLE "+c.q("a_two")+" LOGIN",
		"CREATE ROLE "+c.q("ab")+" LOGIN",
		"CREATE ROLE "+c.q("b_one")+" LOGIN",
		"GRANT "+c.q("team_a")+" TO "+c.q("a_one"),
		"GRANT "+c.q("team_a")+" TO "+c.q("b_one"),
		"GRANT "+c.q("other")+" TO "+c.q("a_two"),
	)
	p := c.pattern()
	tests := []struct {
		name                 string
		settings             connector.Settings
		entitlements, accnts []string
		grants               []string // "account>entitlement"
	}{
		{
			name:         "prefix only",
			settings:     connector.Settings{"role_pattern": p, "account_pattern": p},
			entitlements: []string{"other", "team_a", "team_b", "teamx"},
			accnts:       []string{"a_one", "a_two", "ab", "b_one"},
			grants:       []string{"a_one>team_a", "a_two>other", "b_one>team_a"},
		},
		{
			name:         "role pattern with escaped underscore",
			settings:     connector.Settings{"role_pattern": p + `team\_%`, "account_pattern": p},
			entitlements: []string{"team_a", "team_b"},
			accnts:       []string{"a_one", "a_two", "ab", "b_one"},
			grants:       []string{"a_one>team_a", "b_one>team_a"},
		},
		{
			name:         "account pattern",
			settings:     connector.Settings{"role_pattern": p, "account_pattern": p + `a\_%`},
			entitlements: []string{"other", "team_a", "team_b", "teamx"},
			accnts:       []string{"a_one", "a_two"},
			grants:       []string{"a_one>team_a", "a_two>other"},
		},
		{
			name: "exclude roles",
			settings: connector.Settings{"role_pattern": p, "account_pattern": p,
				"exclude_roles": []any{c.n("other"), c.n("b_one")}},
			entitlements: []string{"team_a", "team_b", "teamx"},
			accnts:       []string{"a_one", "a_two", "ab"},
			grants:       []string{"a_one>team_a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := syncOK(t, open(t, serverURL(), tt.settings, time.Now()))
			var ents, accts, grants []string
			for _, e := range snap.Entitlements {
				ents = append(ents, strings.TrimPrefix(e.ID, c.prefix))
			}
			for _, a := range snap.Accounts {
				accts = append(accts, strings.TrimPrefix(a.ID, c.prefix))
			}
			for _, g := range snap.Grants {
				grants = append(grants, strings.TrimPrefix(g.Account, c.prefix)+">"+strings.TrimPrefix(g.Entitlement, c.prefix))
			}
			slices.Sort(grants)
			if !slices.Equal(ents, tt.entitlements) {
				t.Errorf("entitlements %v, want %v", ents, tt.entitlements)
			}
			if !slices.Equal(accts, tt.accnts) {
				t.Errorf("accounts %v, want %v", accts, tt.accnts)
			}
			if !slices.Equal(grants, tt.grants) {
				t.Errorf("grants %v, want %v", grants, tt.grants)
			}
		})
	}
}

// TestSyncLeavesOutBuiltinsSuperusersAndItself syncs as a non-superuser role
// with the default patterns, which see every role in the cluster.
func TestSyncLeavesOutBuiltinsSuperusersAndItself(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.exec(
		"CREATE ROLE "+c.q("readers"),
		"CREATE ROLE "+c.q("alice")+" LOGIN",
		"CREATE ROLE "+c.q("conn")+" LOGIN PASSWORD 'conn-pw'",
		"GRANT "+c.q("readers")+" TO "+c.q("alice"),
		"GRANT "+c.q("readers")+" TO "+c.q("conn")+" WITH ADMIN OPTION",
		"GRANT pg_read_all_settings TO "+c.q("alice"),
	)
	rows, err := c.admin.Query(context.Background(), `SELECT rolname::text FROM pg_roles WHERE rolsuper`)
	if err != nil {
		t.Fatal(err)
	}
	superusers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(superusers) == 0 {
		t.Fatalf("list superusers: %v %v", superusers, err)
	}
	dsn := dsnAs(t, c.n("conn"), "conn-pw")

	for _, tt := range []struct {
		name     string
		settings connector.Settings
	}{
		{"default patterns", nil},
		{"prefix patterns", connector.Settings{"role_pattern": c.pattern(), "account_pattern": c.pattern()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := syncOK(t, open(t, dsn, tt.settings, time.Now()))
			var names []string
			for _, a := range snap.Accounts {
				names = append(names, a.ID)
			}
			for _, e := range snap.Entitlements {
				names = append(names, e.ID)
			}
			for _, g := range snap.Grants {
				names = append(names, g.Account, g.Entitlement)
			}
			for _, n := range names {
				if strings.HasPrefix(n, "pg_") || slices.Contains(superusers, n) || n == c.n("conn") {
					t.Errorf("snapshot names %q (built-in, superuser or the connector's own role)", n)
				}
			}
			if !slices.Contains(names, c.n("alice")) || !slices.Contains(names, c.n("readers")) {
				t.Errorf("snapshot lacks %s or %s: %v", c.n("alice"), c.n("readers"), names)
			}
			if !slices.Contains(snap.Grants, connector.Grant{Account: c.n("alice"), Entitlement: c.n("readers")}) {
				t.Errorf("grants lack alice>readers: %v", snap.Grants)
			}
		})
	}
}

// TestGrantRevoke provisions as a superuser, as a role with ADMIN OPTION on
// the entitlement roles, and as a CREATEROLE role that created them.
func TestGrantRevoke(t *testing.T) {
	t.Parallel()
	entitlements := []string{"readers", "Data Admins", "hidden"}
	for _, who := range []struct {
		name  string
		setup func(c *cluster) (dsn string)
	}{
		{"superuser", func(c *cluster) string {
			for _, e := range entitlements {
				c.exec("CREATE ROLE " + c.q(e))
			}
			return serverURL()
		}},
		{"admin option", func(c *cluster) string {
			c.exec("CREATE ROLE " + c.q("conn") + " LOGIN PASSWORD 'conn-pw'")
			for _, e := range entitlements {
				c.exec("CREATE ROLE "+c.q(e), "GRANT "+c.q(e)+" TO "+c.q("conn")+" WITH ADMIN OPTION")
			}
			return dsnAs(c.t, c.n("conn"), "conn-pw")
		}},
		{"createrole", func(c *cluster) string {
			c.exec("CREATE ROLE " + c.q("conn") + " LOGIN CREATEROLE PASSWORD 'conn-pw'")
			c.exec("SET ROLE " + c.q("conn"))
			for _, e := range entitlements {
				c.exec("CREATE ROLE " + c.q(e))
			}
			c.exec("RESET ROLE")
			return dsnAs(c.t, c.n("conn"), "conn-pw")
		}},
	} {
		t.Run(who.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t)
			dsn := who.setup(c)
			c.exec(
				"CREATE ROLE "+c.q("alice")+" LOGIN",
				"CREATE ROLE "+c.q("Bob.Smith")+" LOGIN",
				"CREATE ROLE "+c.q("Alice")+" LOGIN", // same user id as alice, but alice is exact
			)
			conn := open(t, dsn, connector.Settings{
				"role_pattern":    c.pattern(),
				"account_pattern": c.pattern(),
				"exclude_roles":   []string{c.n("hidden")},
			}, time.Now())
			ctx := context.Background()
			alice := connector.Subject{ID: c.n("alice"), MatchBy: "id"}
			bob := connector.Subject{ID: connector.UserID(c.n("Bob.Smith")), MatchBy: "id"}
			nobody := connector.Subject{ID: c.n("nobody"), MatchBy: "id"}
			self := connector.Subject{ID: c.n("conn"), MatchBy: "id"}
			byEmail := connector.Subject{ID: c.n("alice"), Email: "alice@example.com", MatchBy: "email"}
			if bob.ID == c.n("Bob.Smith") {
				t.Fatalf("test needs a user id different from the role name")
			}

			type step struct {
				name      string
				do        func(context.Context, connector.Subject, string) error
				who       connector.Subject
				ent       string
				role      string // membership to check afterwards ("" for none)
				member    string
				isMember  bool
				errHas    string // "" for success
				permanent bool
				noAccount bool
			}
			steps := []step{
				{name: "grant", do: conn.Grant, who: alice, ent: c.n("readers"), role: "readers", member: "alice", isMember: true},
				{name: "grant again", do: conn.Grant, who: alice, ent: c.n("readers"), role: "readers", member: "alice", isMember: true},
				{name: "grant by entitlement and user ids", do: conn.Grant, who: bob, ent: c.n("Data-Admins"), role: "Data Admins", member: "Bob.Smith", isMember: true},
				{name: "revoke", do: conn.Revoke, who: alice, ent: c.n("readers"), role: "readers", member: "alice", isMember: false},
				{name: "revoke again", do: conn.Revoke, who: alice, ent: c.n("readers"), role: "readers", member: "alice", isMember: false},
				{name: "revoke by ids", do: conn.Revoke, who: bob, ent: c.n("Data-Admins"), role: "Data Admins", member: "Bob.Smith", isMember: false},
				{name: "grant to a missing account", do: conn.Grant, who: nobody, ent: c.n("readers"), errHas: c.n("nobody"), permanent: true, noAccount: true},
				{name: "revoke from a missing account", do: conn.Revoke, who: nobody, ent: c.n("readers")},
				{name: "grant an unknown entitlement", do: conn.Grant, who: alice, ent: c.n("nosuch"), errHas: c.n("nosuch"), permanent: true},
				{name: "revoke an unknown entitlement", do: conn.Revoke, who: alice, ent: c.n("nosuch"), errHas: c.n("nosuch"), permanent: true},
				{name: "grant an excluded role", do: conn.Grant, who: alice, ent: c.n("hidden"), errHas: c.n("hidden"), permanent: true, role: "hidden", member: "alice", isMember: false},
				{name: "grant a login role", do: conn.Grant, who: alice, ent: c.n("Bob.Smith"), errHas: c.n("Bob.Smith"), permanent: true},
				{name: "grant by email", do: conn.Grant, who: byEmail, ent: c.n("readers"), errHas: "match_by email", permanent: true, role: "readers", member: "alice", isMember: false},
				{name: "revoke by email", do: conn.Revoke, who: byEmail, ent: c.n("readers"), errHas: "match_by email", permanent: true},
			}
			if who.name != "superuser" {
				steps = append(steps, step{name: "grant to the connector's own role", do: conn.Grant, who: self, ent: c.n("readers"),
					errHas: c.n("conn"), permanent: true, noAccount: true})
			}
			for _, s := range steps {
				err := s.do(ctx, s.who, s.ent)
				switch {
				case s.errHas == "" && err != nil:
					t.Errorf("%s: %v", s.name, err)
				case s.errHas != "" && err == nil:
					t.Errorf("%s: no error, want one containing %q", s.name, s.errHas)
				case s.errHas != "":
					if !strings.Contains(err.Error(), s.errHas) {
						t.Errorf("%s: error %q does not contain %q", s.name, err, s.errHas)
					}
					if connector.IsPermanent(err) != s.permanent {
						t.Errorf("%s: permanent = %v, want %v (%v)", s.name, connector.IsPermanent(err), s.permanent, err)
					}
					if errors.Is(err, connector.ErrNoAccount) != s.noAccount {
						t.Errorf("%s: errors.Is(ErrNoAccount) = %v, want %v (%v)", s.name, !s.noAccount, s.noAccount, err)
					}
				}
				if s.role != "" && c.isMember(s.role, s.member) != s.isMember {
					t.Errorf("%s: %s member of %s = %v, want %v", s.name, s.member, s.role, !s.isMember, s.isMember)
				}
			}
			if c.isMember("readers", "Alice") || c.isMember("Data Admins", "Alice") {
				t.Errorf("role %s was changed; the exact name %s should have been chosen", c.n("Alice"), c.n("alice"))
			}
			// PostgreSQL only sends a notice for the second grant.
			if logs := conn.logs.String(); !strings.Contains(logs, "postgres notice") {
				t.Errorf("no notice logged for the repeated grant; logs:\n%s", logs)
			}
		})
	}
}

func TestGrantAmbiguousAccount(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.exec(
		"CREATE ROLE "+c.q("readers"),
		"CREATE ROLE "+c.q("Bob.Smith")+" LOGIN",
		"CREATE ROLE "+c.q("bob-smith")+" LOGIN",
		"CREATE ROLE "+c.q("Carl.Jones")+" LOGIN",
		"CREATE ROLE "+c.q("carl@jones")+" LOGIN",
	)
	conn := open(t, serverURL(), connector.Settings{"role_pattern": c.pattern(), "account_pattern": c.pattern()}, time.Now())
	ctx := context.Background()
	// An exact name wins.
	if err := conn.Grant(ctx, connector.Subject{ID: c.n("bob-smith"), MatchBy: "id"}, c.n("readers")); err != nil {
		t.Fatalf("grant bob-smith: %v", err)
	}
	if !c.isMember("readers", "bob-smith") || c.isMember("readers", "Bob.Smith") {
		t.Errorf("grant bob-smith went to the wrong role")
	}
	// Two roles with the same user id and neither exact: refuse.
	err := conn.Grant(ctx, connector.Subject{ID: c.n("carl-jones"), MatchBy: "id"}, c.n("readers"))
	if err == nil || !connector.IsPermanent(err) || !strings.Contains(err.Error(), c.n("Carl.Jones")) {
		t.Errorf("grant to ambiguous user: err %v, want a permanent error naming both roles", err)
	}
	if c.isMember("readers", "Carl.Jones") || c.isMember("readers", "carl@jones") {
		t.Errorf("ambiguous grant changed a role")
	}
}

// TestWithoutPrivilege provisions as a login role that may not grant the
// entitlement role.
func TestWithoutPrivilege(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.exec(
		"CREATE ROLE "+c.q("readers"),
		"CREATE ROLE "+c.q("writers"),
		"CREATE ROLE "+c.q("alice")+" LOGIN",
		"CREATE ROLE "+c.q("weak")+" LOGIN PASSWORD 'weak-pw'",
		"GRANT "+c.q("writers")+" TO "+c.q("alice"),
	)
	conn := open(t, dsnAs(t, c.n("weak"), "weak-pw"), connector.Settings{"role_pattern": c.pattern(), "account_pattern": c.pattern()}, time.Now())
	alice := connector.Subject{ID: c.n("alice"), MatchBy: "id"}
	ctx := context.Background()

	// It can still read.
	snap := syncOK(t, conn)
	if !slices.Contains(snap.Grants, connector.Grant{Account: c.n("alice"), Entitlement: c.n("writers")}) {
		t.Errorf("grants %v lack alice>writers", snap.Grants)
	}
	for _, tt := range []struct {
		name     string
		do       func(context.Context, connector.Subject, string) error
		role     string
		isMember bool
	}{
		{"grant", conn.Grant, "readers", false},
		{"revoke", conn.Revoke, "writers", true},
	} {
		err := tt.do(ctx, alice, c.n(tt.role))
		if err == nil {
			t.Fatalf("%s without privilege succeeded", tt.name)
		}
		t.Logf("%s: %v", tt.name, err)
		if !connector.IsPermanent(err) {
			t.Errorf("%s: error is not permanent: %v", tt.name, err)
		}
		// PostgreSQL's own message: "must have admin option on role ..." or
		// "permission denied to grant role ..." (16+), SQLSTATE 42501.
		if !strings.Contains(err.Error(), "42501") || !strings.Contains(err.Error(), c.n(tt.role)) {
			t.Errorf("%s: error %q lacks PostgreSQL's message about %s", tt.name, err, c.n(tt.role))
		}
		if c.isMember(tt.role, "alice") != tt.isMember {
			t.Errorf("%s: membership changed without privilege", tt.name)
		}
	}
}

func TestOpenSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings connector.Settings
		errHas   string // "" when Open succeeds
	}{
		{"unknown key", connector.Settings{"dsn_env": "X", "host": "db"}, "settings.host: unknown setting"},
		{"inline secret", connector.Settings{"dsn": "postgres://u:Inline-Pw@h/db"}, "settings.dsn: a secret is never given inline"},
		{"missing dsn", connector.Settings{"role_pattern": "%"}, "settings.dsn_env or settings.dsn_file is required"},
		{"dsn twice", connector.Settings{"dsn_env": "X", "dsn_file": "/x"}, "give dsn_env or dsn_file, not both"},
		{"empty role pattern", connector.Settings{"dsn_env": "X", "role_pattern": ""}, "settings.role_pattern"},
		{"pattern ends in escape", connector.Settings{"dsn_env": "X", "account_pattern": `abc\`}, "settings.account_pattern"},
		{"exclude not a list", connector.Settings{"dsn_env": "X", "exclude_roles": "admin"}, "settings.exclude_roles"},
		{"exclude not strings", connector.Settings{"dsn_env": "X", "exclude_roles": []any{"a", 2}}, "settings.exclude_roles[1]"},
		{"exclude empty name", connector.Settings{"dsn_env": "X", "exclude_roles": []any{""}}, "settings.exclude_roles[0]"},
		// Open reads no secret and contacts nothing.
		{"secret not set yet", connector.Settings{"dsn_env": "ROSTER_SECRET_PGROLES_TEST_UNSET"}, ""},
		{"unreachable server", connector.Settings{"dsn_file": "/nonexistent/dsn", "role_pattern": `wh\_%`, "exclude_roles": []any{"wh_admin"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := connector.Open(pgroles.Type, connector.Config{ID: "warehouse", App: "warehouse", Settings: tt.settings,
				Access: connector.Access{SecretsDir: "/nonexistent"}})
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				t.Fatalf("open succeeded, want an error containing %q", tt.errHas)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
			if strings.Contains(err.Error(), "Inline-Pw") {
				t.Errorf("error shows the inline secret: %v", err)
			}
		})
	}
}

// TestConnectionErrors checks that a failing connection says what failed,
// is permanent only when retrying cannot help, and never shows the password.
func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	c := newCluster(t) // skips early, with the hint, when the server is down
	server, err := pgx.ParseConfig(serverURL())
	if err != nil {
		t.Fatal(err)
	}
	hostPort := net.JoinHostPort(server.Host, fmt.Sprint(server.Port))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	var b [4]byte
	rand.Read(b[:])
	password := "S3cret/" + hex.EncodeToString(b[:]) + "@:pw"
	noDB := "nodb_" + hex.EncodeToString(b[:])
	userinfo := url.UserPassword(server.User, password).String()

	tests := []struct {
		name      string
		settings  connector.Settings // nil: dsn_file with dsn
		dsn       string
		errHas    string
		permanent bool
	}{
		{name: "missing database (URL)", dsn: "postgres://" + userinfo + "@" + hostPort + "/" + noDB + "?sslmode=disable",
			errHas: noDB, permanent: true},
		{name: "missing database (keyword DSN)", dsn: fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
			server.Host, server.Port, server.User, quoteKV(password), noDB), errHas: noDB, permanent: true},
		{name: "database named like the password", dsn: fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
			server.Host, server.Port, server.User, quoteKV(password), quoteKV(password)), errHas: "does not exist", permanent: true},
		{name: "unknown user", dsn: "postgres://" + url.UserPassword(c.n("ghost"), password).String() + "@" + hostPort + "/postgres?sslmode=disable",
			errHas: c.n("ghost"), permanent: true},
		{name: "nothing listening", dsn: "postgres://" + userinfo + "@" + closed + "/postgres?sslmode=disable&connect_timeout=5",
			errHas: "connect", permanent: false},
		{name: "bad URL", dsn: "postgres://" + userinfo + "@127.0.0.1:notaport/postgres",
			errHas: "settings.dsn", permanent: true},
		{name: "bad URL, raw password", dsn: "postgres://postgres:" + password + "@127.0.0.1:notaport/postgres",
			errHas: "settings.dsn", permanent: true},
		{name: "bad keyword DSN", dsn: "host=127.0.0.1 password=" + quoteKV(password) + " port=notaport",
			errHas: "settings.dsn", permanent: true},
		{name: "secret variable not set", settings: connector.Settings{"dsn_env": "ROSTER_SECRET_PGROLES_TEST_UNSET_" + hex.EncodeToString(b[:])},
			errHas: "ROSTER_SECRET_PGROLES_TEST_UNSET_", permanent: true},
		{name: "secret file missing", settings: connector.Settings{"dsn_file": noDB},
			errHas: "cannot read " + noDB, permanent: true},
	}
	forbidden := []string{password, url.QueryEscape(password), url.PathEscape(password), strings.TrimPrefix(userinfo, server.User+":")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var conn opened
			if tt.settings != nil {
				logs := &testenv.Buffer{}
				cc, err := connector.Open(pgroles.Type, connector.Config{ID: "warehouse", Settings: tt.settings,
					Access: connector.Access{SecretsDir: t.TempDir()},
					Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				conn = opened{cc, logs}
			} else {
				conn = open(t, tt.dsn, nil, time.Now())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			alice := connector.Subject{ID: "alice", MatchBy: "id"}
			_, syncErr := conn.Sync(ctx)
			for op, err := range map[string]error{
				"sync":   syncErr,
				"grant":  conn.Grant(ctx, alice, "readers"),
				"revoke": conn.Revoke(ctx, alice, "readers"),
			} {
				if err == nil {
					t.Errorf("%s succeeded", op)
					continue
				}
				t.Logf("%s: %v", op, err)
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("%s: error %q does not contain %q", op, err, tt.errHas)
				}
				if connector.IsPermanent(err) != tt.permanent {
					t.Errorf("%s: permanent = %v, want %v: %v", op, !tt.permanent, tt.permanent, err)
				}
				for _, f := range forbidden {
					if strings.Contains(err.Error(), f) {
						t.Errorf("%s: error shows the password (%q): %v", op, f, err)
					}
				}
			}
			for _, f := range forbidden {
				if strings.Contains(conn.logs.String(), f) {
					t.Errorf("logs show the password: %s", conn.logs.String())
				}
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	newCluster(t)
	conn := open(t, serverURL(), nil, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := conn.Sync(ctx)
	if err == nil {
		t.Fatal("sync with a canceled context succeeded")
	}
	if connector.IsPermanent(err) {
		t.Errorf("a canceled sync is permanent: %v", err)
	}
}

// TestDSNReachesNoServerFile: the DSN is written by whoever applies the
// declarative file, so it must not make the connector read the server's
// files (a passfile, a service file, TLS keys and certificates) nor send the
// server's own PostgreSQL password (PGPASSWORD, ~/.pgpass) to the host it
// names. Not parallel: it sets PGPASSWORD.
func TestDSNReachesNoServerFile(t *testing.T) {
	newCluster(t)
	for _, tc := range []struct{ dsn, key string }{
		{"host=127.0.0.1 sslmode=verify-full sslrootcert=/proc/self/environ", "sslrootcert"},
		{"host=127.0.0.1 passfile=/etc/passwd", "passfile"},
		{"service=x servicefile=/etc/passwd", "service"}, // pgx reports either key first: "service" names both
		{"servicefile=/etc/passwd", "servicefile"},
		{"postgres://u@127.0.0.1/db?sslkey=/etc/ssl/private/server.key", "sslkey"},
		{"postgres://u@127.0.0.1/db?sslcert=/etc/ssl/certs/server.pem", "sslcert"},
	} {
		_, err := open(t, tc.dsn, nil, time.Now()).Sync(context.Background())
		want := "the connection string may not set " + tc.key
		if err == nil || !strings.Contains(err.Error(), want) || !connector.IsPermanent(err) {
			t.Errorf("%s: got %v, want a permanent error with %q", tc.dsn, err, want)
		}
	}

	const serversOwn = "the-servers-own-postgres-password"
	t.Setenv("PGPASSWORD", serversOwn)
	noPassword := dsnAs(t, "nobody", "")
	if u, err := url.Parse(noPassword); err == nil && u.Scheme != "" {
		u.User = url.User("nobody")
		noPassword = u.String()
	}
	_, err := open(t, noPassword, nil, time.Now()).Sync(context.Background())
	want := "the connection string has no password, and the server's environment would give one (PGPASSWORD or a passfile)"
	if err == nil || !strings.Contains(err.Error(), want) || !connector.IsPermanent(err) || strings.Contains(err.Error(), serversOwn) {
		t.Errorf("a DSN without a password: got %v, want a permanent error with %q", err, want)
	}
	// With its own password, the DSN is used as it is.
	_, err = open(t, dsnAs(t, "nobody", "its-own"), nil, time.Now()).Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), `role "nobody" does not exist`) {
		t.Errorf("a DSN with its own password: %v, want the server's refusal of the role", err)
	}
}
