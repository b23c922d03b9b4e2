package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector/scim/scimtest"
	"github.com/rosterhq/roster/internal/slapdtest"
	"github.com/rosterhq/roster/internal/testenv"
)

// ldapConnector is a declarative file with one LDAP connector over dir.
func ldapConnector(dir *slapdtest.Server, users bool, extra string) string {
	return fmt.Sprintf(`
policies:
  - {id: auto, steps: []}
settings: {default_request_policy: auto, default_revoke_policy: auto}
connectors:
  - id: corp-ldap
    type: ldap
    app: ldap
    users: %t
    match_by: id
    sync_interval: 15m
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings:
      url: %s
      insecure: true   # the test's slapd speaks plain ldap://
      bind_dn: %s
      bind_password_env: ROSTER_SECRET_TEST_LDAP_PASSWORD
      user_base_dn: %s
      disabled_filter: (employeeType=terminated)
      group_base_dn: %s
%s`, users, dir.URL, dir.ServiceDN, dir.PeopleDN, dir.GroupsDN, extra)
}

// connectorSync runs `roster connector sync ID -o json` as the admin.
func (e *env) connectorSync(id string) roster.ConnectorSyncResult {
	e.t.Helper()
	var res roster.ConnectorSyncResult
	e.json(&res, roster.AdminUser, "connector", "sync", id)
	if res.Connector != id {
		e.t.Fatalf("connector sync %s answered for %q", id, res.Connector)
	}
	return res
}

// provision runs the connector provisioner until no task is due.
func (e *env) provision() { e.drain("provisioner", e.srv.Provisioner.RunOnce) }

// changes runs the change-driven sync until nothing is marked.
func (e *env) changes() { e.drain("change-driven sync", e.srv.Changes.RunOnce) }

// drain runs a background service's RunOnce until it finds nothing to do.
func (e *env) drain(what string, runOnce func(context.Context) (int, error)) {
	e.t.Helper()
	for range 10 {
		n, err := runOnce(context.Background())
		if err != nil {
			e.t.Fatalf("%s: %v", what, err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatalf("%s still had work after 10 runs", what)
}

func counts(r roster.ConnectorSyncResult) string {
	return fmt.Sprintf("users +%d ~%d -%d ents +%d -%d grants +%d -%d held=%t",
		r.Users.Added, r.Users.Changed, r.Users.Disabled, r.Entitlements.Added, r.Entitlements.Removed,
		r.Grants.Added, r.Grants.Removed, r.Held)
}

func TestConnectorLDAPSyncAndHold(t *testing.T) {
	dir := slapdtest.Start(t)
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", dir.ServicePassword)
	for _, u := range []slapdtest.User{
		{UID: "carol", CN: "Carol Chen", Mail: "carol@example.org", Department: "Engineering"},
		{UID: "alice", CN: "Alice Ames", Mail: "alice@example.org", Department: "Engineering", Title: "Engineer", Manager: "carol"},
		{UID: "bob", CN: "Bob Brown", Mail: "bob@example.org", Department: "Sales", Manager: "carol"},
		{UID: "dave", CN: "Dave Diaz", Mail: "dave@example.org", Department: "Sales", Manager: "carol"},
		{UID: "erin", CN: "Erin Eng", Mail: "erin@example.org", EmployeeType: "terminated"},
	} {
		dir.AddUser(t, u)
	}
	dir.AddGroup(t, slapdtest.Group{CN: "engineering", Description: "Engineering", Members: []string{"alice", "carol"}})
	dir.AddGroup(t, slapdtest.Group{CN: "vpn", Members: []string{"carol"}})
	dir.AddGroup(t, slapdtest.Group{CN: "staff", Members: []string{"alice", "bob", "carol", "dave", "erin"}})
	e := start(t)
	e.apply(ldapConnector(dir, true, ""))

	// The first sync brings in people, groups and memberships.
	res := e.connectorSync("corp-ldap")
	equal(t, "first sync", counts(res), "users +5 ~0 -0 ents +3 -0 grants +8 -0 held=false")
	var alice roster.User
	e.json(&alice, roster.AdminUser, "user", "show", "alice")
	equal(t, "alice", fmt.Sprintf("%s|%s|%s|%s|%s", alice.Name, alice.Email, alice.Manager, alice.Department, alice.Status),
		"Alice Ames|alice@example.org|carol|Engineering|active")
	var erin roster.User
	e.json(&erin, roster.AdminUser, "user", "show", "erin")
	equal(t, "erin's status", erin.Status, roster.UserDisabled)
	equal(t, "engineering grants", e.grants("--entitlement", "ldap/engineering"), map[string][]string{
		"alice ldap/engineering": {"direct"}, "carol ldap/engineering": {"direct"}})
	var ents []roster.Entitlement
	e.json(&ents, roster.AdminUser, "entitlement", "list", "--app", "ldap")
	if len(ents) != 3 || ents[0].Provisioning != roster.ProvisionConnector || ents[0].Name != "Engineering" {
		t.Fatalf("discovered entitlements: %+v", ents)
	}

	// A profile whose rule names a connector's entitlement.
	e.apply(`
profiles:
  - id: engineers
    automation: {enabled: true, mode: sync_members_only, any_entitlement: [ldap/engineering]}
`)
	equal(t, "engineers", e.members("engineers"), []string{"alice:automation", "carol:automation"})

	// Nothing changed: nothing to do.
	equal(t, "second sync", counts(e.connectorSync("corp-ldap")), "users +0 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	// Only the sync that changed something is in the audit log; both runs
	// are in the connector's status.
	equal(t, "connector.synced events", len(e.events("--action", "connector.synced")), 1)
	var shown roster.Connector
	e.json(&shown, roster.AdminUser, "connector", "show", "corp-ldap")
	if shown.Status.LastRun == nil || shown.Status.LastRun.Result == nil || shown.Status.LastRun.Result.Changed() || shown.Status.LastOKAt == nil {
		t.Fatalf("status after a sync that changed nothing: %+v", shown.Status)
	}

	// A membership removed in the directory is removed in Roster, and the
	// audit log says it happened outside Roster.
	conn := dir.Conn(t)
	mod := ldap.NewModifyRequest(dir.GroupDN("engineering"), nil)
	mod.Delete("member", []string{dir.UserDN("alice")})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	equal(t, "after removal", counts(e.connectorSync("corp-ldap")), "users +0 ~0 -0 ents +0 -0 grants +0 -1 held=false")
	if _, ok := e.grants("--user", "alice")["alice ldap/engineering"]; ok {
		t.Fatal("alice still holds ldap/engineering")
	}
	// The profiles whose rule names it re-sync at once.
	e.changes()
	equal(t, "engineers after the removal", e.members("engineers"), []string{"carol:automation"})
	evs := e.events("--action", "grant.removed_outside")
	if len(evs) != 1 || evs[0].ObjectID != "alice ldap/engineering" || !strings.Contains(evs[0].Reason, "outside Roster") {
		t.Fatalf("grant.removed_outside events: %+v", evs)
	}

	// Three of four active people leave the directory at once: more than the
	// 20% threshold, so the sync is held and changes nothing.
	for _, uid := range []string{"alice", "bob", "dave"} {
		if err := conn.Del(ldap.NewDelRequest(dir.UserDN(uid), nil)); err != nil {
			t.Fatal(err)
		}
	}
	held := e.connectorSync("corp-ldap")
	if !held.Held || held.Users.Disabled != 3 || !strings.Contains(held.Reason, "disable 3 of the 4 active users") {
		t.Fatalf("mass removal: %+v", held)
	}
	e.json(&alice, roster.AdminUser, "user", "show", "alice")
	equal(t, "alice while held", alice.Status, roster.UserActive)
	var list []roster.Connector
	e.json(&list, roster.AdminUser, "connector", "list")
	if len(list) != 1 || list[0].Status.State != roster.ConnectorHeld || list[0].Status.Held == nil {
		t.Fatalf("connector list while held: %+v", list)
	}
	if evs := e.events("--action", "connector.held"); len(evs) != 1 {
		t.Fatalf("connector.held events: %+v", evs)
	}
	if evs := e.events("--action", "notify.admins", "--object-id", "corp-ldap"); len(evs) != 1 {
		t.Fatalf("notify.admins events: %+v", evs)
	}
	// The scheduler leaves a held connector alone.
	e.clock.Advance(time.Hour)
	if n, err := e.srv.Connectors.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("scheduler ran %d syncs of a held connector (err %v)", n, err)
	}
	// Only admins resume; the admin's resume carries out the staged sync.
	e.fails("only admins may resume connectors", "carol", "connector", "resume", "corp-ldap")
	var resumed roster.ConnectorSyncResult
	e.json(&resumed, roster.AdminUser, "connector", "resume", "corp-ldap")
	equal(t, "resumed", counts(resumed), "users +0 ~0 -3 ents +0 -0 grants +0 -3 held=false")
	e.json(&alice, roster.AdminUser, "user", "show", "alice")
	equal(t, "alice after resume", alice.Status, roster.UserDisabled)
	e.fails("holds no sync", roster.AdminUser, "connector", "resume", "corp-ldap")

	// The scheduler syncs on the interval again.
	e.clock.Advance(time.Hour)
	if n, err := e.srv.Connectors.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("scheduler ran %d syncs (err %v), want 1", n, err)
	}
}

func TestConnectorLDAPProvisioning(t *testing.T) {
	dir := slapdtest.Start(t)
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", dir.ServicePassword)
	for _, uid := range []string{"alice", "bob", "carol"} {
		dir.AddUser(t, slapdtest.User{UID: uid, Mail: uid + "@example.org"})
	}
	dir.AddGroup(t, slapdtest.Group{CN: "vpn", Members: []string{"carol"}})
	dir.AddGroup(t, slapdtest.Group{CN: "wiki", Members: []string{"carol"}})
	e := start(t)
	e.apply(ldapConnector(dir, true, ""))
	e.connectorSync("corp-ldap")
	e.apply(`
profiles:
  - id: remote
    entitlements: [ldap/vpn, ldap/wiki]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
`)
	// An approved enrollment hands its grants to the connector, which adds
	// the members in the directory.
	e.ok(roster.AdminUser, "profile", "enroll", "remote", "bob")
	waiting := e.tasks("--user", "bob", "--state", "pending_provisioning")
	if len(waiting) != 2 {
		t.Fatalf("bob's tasks waiting for the connector: %+v", waiting)
	}
	e.provision()
	equal(t, "vpn members", members(t, dir, "vpn"), []string{"bob", "carol"})
	equal(t, "wiki members", members(t, dir, "wiki"), []string{"bob", "carol"})
	done := e.task("--user", "bob", "--entitlement", "ldap/vpn")
	equal(t, "task state", done.State, roster.StateDone)
	if last := done.History[len(done.History)-1]; last.Actor != "connector:corp-ldap" {
		t.Fatalf("vpn task's last action: %+v", last)
	}
	// The connector reports the grant back; it keeps the profile as source.
	equal(t, "sync after provisioning", counts(e.connectorSync("corp-ldap")), "users +0 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	equal(t, "bob's vpn sources", e.grants("--user", "bob")["bob ldap/vpn"], []string{"profile:remote"})

	// A group deleted in the directory: the grant fails with the system's
	// error, shown to admins, who can retry once it is fixed.
	if err := dir.Conn(t).Del(ldap.NewDelRequest(dir.GroupDN("wiki"), nil)); err != nil {
		t.Fatal(err)
	}
	e.ok(roster.AdminUser, "profile", "enroll", "remote", "alice")
	e.provision()
	failed := e.task("--user", "alice", "--entitlement", "ldap/wiki")
	if failed.State != roster.StateFailed || !strings.Contains(failed.Error, "wiki") {
		t.Fatalf("grant into a deleted group: %+v", failed)
	}
	if evs := e.events("--action", "task.failed"); len(evs) != 1 || evs[0].ObjectID != id(failed) {
		t.Fatalf("task.failed events: %+v", evs)
	}
	if evs := e.events("--action", "notify.admins", "--object-id", id(failed)); len(evs) != 1 {
		t.Fatalf("admins were not told of the failure: %+v", evs)
	}
	e.fails("only admins may retry tasks", "alice", "task", "retry", id(failed))
	dir.AddGroup(t, slapdtest.Group{CN: "wiki", Members: []string{"carol"}})
	e.ok(roster.AdminUser, "task", "retry", id(failed), "--comment", "group restored")
	e.provision()
	equal(t, "retried task", e.task("--user", "alice", "--entitlement", "ldap/wiki").State, roster.StateDone)
	equal(t, "wiki members after retry", members(t, dir, "wiki"), []string{"alice", "carol"})
	e.fails("only failed tasks can be retried", roster.AdminUser, "task", "retry", id(failed))

	// Unenrolling revokes through the connector.
	e.ok(roster.AdminUser, "profile", "unenroll", "remote", "bob")
	e.provision()
	equal(t, "vpn members after unenroll", members(t, dir, "vpn"), []string{"alice", "carol"})
	if _, ok := e.grants("--user", "bob")["bob ldap/vpn"]; ok {
		t.Fatal("bob still holds ldap/vpn in Roster")
	}
}

func TestConnectorRetriesTransientFailures(t *testing.T) {
	dir := slapdtest.Start(t)
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", dir.ServicePassword)
	dir.AddUser(t, slapdtest.User{UID: "alice"})
	dir.AddGroup(t, slapdtest.Group{CN: "vpn", Members: []string{"alice"}})
	dir.AddUser(t, slapdtest.User{UID: "bob"})
	e := start(t)
	e.apply(ldapConnector(dir, true, ""))
	e.connectorSync("corp-ldap")
	// Point the connector at a port where nothing listens: every attempt
	// fails the way a network outage does.
	down := strings.Replace(ldapConnector(dir, true, ""), dir.URL, "ldap://127.0.0.1:1", 1)
	e.apply(down)
	e.apply(`
profiles:
  - id: remote
    entitlements: [ldap/vpn]
    enrollment: {policy: auto}
`)
	e.ok(roster.AdminUser, "profile", "enroll", "remote", "bob")
	e.provision()
	task := e.task("--user", "bob", "--entitlement", "ldap/vpn")
	if task.State != roster.StatePendingProvisioning || !strings.Contains(task.Error, "attempt 1 of 5 failed") {
		t.Fatalf("after one failed attempt: %+v", task)
	}
	// Not due again before the backoff has passed.
	e.provision()
	equal(t, "attempts before the backoff", strings.Contains(e.task("--user", "bob", "--entitlement", "ldap/vpn").Error, "attempt 1 of 5"), true)
	e.clock.Advance(3 * time.Second)
	e.provision()
	equal(t, "second attempt", strings.Contains(e.task("--user", "bob", "--entitlement", "ldap/vpn").Error, "attempt 2 of 5"), true)
	// The directory is back: the next attempt succeeds.
	e.apply(ldapConnector(dir, true, ""))
	e.clock.Advance(10 * time.Second)
	e.provision()
	task = e.task("--user", "bob", "--entitlement", "ldap/vpn")
	equal(t, "state once the system is back", task.State, roster.StateDone)
	equal(t, "vpn members", members(t, dir, "vpn"), []string{"alice", "bob"})

	// An outage that lasts past the last attempt fails the task.
	e.apply(down)
	e.ok(roster.AdminUser, "profile", "unenroll", "remote", "bob")
	for range 6 {
		e.provision()
		e.clock.Advance(10 * time.Minute)
	}
	task = e.task("--user", "bob", "--entitlement", "ldap/vpn", "--kind", "revoke")
	if task.State != roster.StateFailed || !strings.Contains(task.Error, "127.0.0.1:1") {
		t.Fatalf("after the last attempt: %+v", task)
	}
}

func TestConnectorErrorsAndSecrets(t *testing.T) {
	dir := slapdtest.Start(t)
	e := start(t)
	// The password's variable is not set: the sync fails, names the
	// variable, and the connector list keeps the error.
	os.Unsetenv("ROSTER_SECRET_TEST_LDAP_PASSWORD")
	e.apply(ldapConnector(dir, true, ""))
	e.fails("ROSTER_SECRET_TEST_LDAP_PASSWORD", roster.AdminUser, "connector", "sync", "corp-ldap")
	var list []roster.Connector
	e.json(&list, roster.AdminUser, "connector", "list")
	if len(list) != 1 || list[0].Status.LastRun == nil || !strings.Contains(list[0].Status.LastRun.Error, "ROSTER_SECRET_TEST_LDAP_PASSWORD is not set") {
		t.Fatalf("connector list after a failed sync: %+v", list)
	}
	// A wrong password: refused, and the password is not printed anywhere.
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", "wrong-"+dir.ServicePassword)
	stderr := e.fails("Invalid Credentials", roster.AdminUser, "connector", "sync", "corp-ldap")
	out := e.ok(roster.AdminUser, "connector", "show", "corp-ldap", "-o", "json")
	for _, s := range []string{stderr, out} {
		if strings.Contains(s, dir.ServicePassword) {
			t.Fatalf("the password leaked: %s", s)
		}
	}
	if !strings.Contains(out, `"bind_password_env": "ROSTER_SECRET_TEST_LDAP_PASSWORD"`) {
		t.Fatalf("connector show does not name the password's variable:\n%s", out)
	}
	// Only admins sync; auditors read.
	e.apply("users:\n  - {id: audrey, role: auditor}\n  - {id: uma}\n")
	e.fails("only admins may sync connectors", "audrey", "connector", "sync", "corp-ldap")
	e.ok("audrey", "connector", "list")
	e.fails("only admins and auditors may list connectors", "uma", "connector", "list")
	e.fails(`connector "nope" not found`, roster.AdminUser, "connector", "sync", "nope")

	// Bad connector settings are refused whole, naming the line.
	e.applyFails("settings.bind_password: a secret is never given inline", roster.AdminUser, `
connectors:
  - id: bad
    type: ldap
    app: other
    settings: {url: ldap://127.0.0.1, bind_dn: cn=x, bind_password: hunter2, user_base_dn: dc=x}
`)
	e.applyFails("no connector feeds app github", roster.AdminUser, `
apps:
  - id: github
    entitlements:
      - {id: admin, provisioning: connector}
`)
	e.applyFails("app ldap is already fed by connector corp-ldap", roster.AdminUser, `
connectors:
  - id: second
    type: csv
    app: ldap
    settings: {path: people.csv}
`)
}

// pgRoles creates roles in the test PostgreSQL server, each name prefixed,
// and drops them when the test ends.
func pgRoles(t *testing.T, prefix string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.RequirePostgres(t))
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, strings.ReplaceAll(s, "$P", prefix)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, testenv.PostgresURL())
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE rolname LIKE $1 || '%' ORDER BY rolcanlogin`, prefix)
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		for _, n := range names {
			if _, err := conn.Exec(ctx, "DROP ROLE "+pgx.Identifier{n}.Sanitize()); err != nil {
				t.Errorf("drop role %s: %v", n, err)
			}
		}
	})
}

// roleMembers lists the login roles that are members of role.
func roleMembers(t *testing.T, role string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.RequirePostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT m.rolname FROM pg_auth_members a
		JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE r.rolname = $1 ORDER BY m.rolname`, role)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func randomPrefix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "rt" + hex.EncodeToString(b) + "_"
}

// TestLeaverStory is the README's end-to-end story: the HR feed marks
// someone as leaving; Roster disables them; profile automation unenrolls
// them; the LDAP and PostgreSQL connectors remove their group and role
// memberships; the audit log shows the chain.
func TestLeaverStory(t *testing.T) {
	p := randomPrefix(t)
	alice, bob, carol := p+"alice", p+"bob", p+"carol"
	dir := slapdtest.Start(t)
	t.Setenv("ROSTER_SECRET_TEST_LDAP_PASSWORD", dir.ServicePassword)
	t.Setenv("ROSTER_SECRET_TEST_WAREHOUSE_DSN", testenv.RequirePostgres(t))
	for _, uid := range []string{alice, bob, carol, p + "dan", p + "eve"} {
		dir.AddUser(t, slapdtest.User{UID: uid, Mail: uid + "@example.org"})
	}
	dir.AddGroup(t, slapdtest.Group{CN: "staff", Members: []string{alice, bob, carol, p + "dan", p + "eve"}})
	dir.AddGroup(t, slapdtest.Group{CN: "engineering", Members: []string{carol}})
	pgRoles(t, p,
		`CREATE ROLE $Panalyst NOLOGIN`,
		`CREATE ROLE $Palice LOGIN`, `CREATE ROLE $Pbob LOGIN`, `CREATE ROLE $Pcarol LOGIN`)

	e := start(t)
	hr := filepath.Join(e.data, "people.csv")
	writeHR := func(aliceEnd string) {
		t.Helper()
		rows := []string{"id,email,name,manager,department,status,start_date,end_date"}
		rows = append(rows,
			fmt.Sprintf("%s,%s@example.org,Carol,,Engineering,active,2020-01-01,", carol, carol),
			fmt.Sprintf("%s,%s@example.org,Alice,%s,Engineering,active,2021-03-01,%s", alice, alice, carol, aliceEnd),
			fmt.Sprintf("%s,%s@example.org,Bob,%s,Engineering,active,2022-05-01,", bob, bob, carol),
			fmt.Sprintf("%sdan,%sdan@example.org,Dan,%s,Sales,active,2022-05-01,", p, p, carol),
			fmt.Sprintf("%seve,%seve@example.org,Eve,%s,Sales,active,2022-05-01,", p, p, carol),
		)
		if err := os.WriteFile(hr, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeHR("")
	e.apply(fmt.Sprintf(`
policies:
  - {id: auto, steps: []}
settings: {default_request_policy: auto, default_revoke_policy: auto}
connectors:
  - id: hr
    type: csv
    app: hr
    users: true
    settings: {path: %s}
  - id: corp-ldap
    type: ldap
    app: ldap
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings:
      url: %s
      insecure: true   # the test's slapd speaks plain ldap://
      bind_dn: %s
      bind_password_env: ROSTER_SECRET_TEST_LDAP_PASSWORD
      user_base_dn: %s
      group_base_dn: %s
  - id: warehouse
    type: postgres
    app: warehouse
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings: {dsn_env: ROSTER_SECRET_TEST_WAREHOUSE_DSN, role_pattern: '%s%%', account_pattern: '%s%%'}
`, hr, dir.URL, dir.ServiceDN, dir.PeopleDN, dir.GroupsDN, p, p))
	equal(t, "HR sync", counts(e.connectorSync("hr")), "users +5 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	equal(t, "LDAP sync", counts(e.connectorSync("corp-ldap")), "users +0 ~0 -0 ents +2 -0 grants +6 -0 held=false")
	equal(t, "warehouse sync", counts(e.connectorSync("warehouse")), "users +0 ~0 -0 ents +1 -0 grants +0 -0 held=false")
	e.apply(fmt.Sprintf(`
profiles:
  - id: eng
    entitlements: [ldap/engineering, warehouse/%sanalyst]
    enrollment: {policy: auto, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified, bypass_entitlement_policies: true}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [ldap/staff]
      excluded_users: [%sdan, %seve]
`, p, p, p))
	// Saving the automation enabled synced it: alice, bob and carol joined,
	// and the connectors carried out their access.
	e.provision()
	equal(t, "members", e.members("eng"), []string{alice + ":automation", bob + ":automation", carol + ":automation"})
	equal(t, "engineering group", members(t, dir, "engineering"), []string{alice, bob, carol})
	equal(t, "analyst role", roleMembers(t, p+"analyst"), []string{alice, bob, carol})

	// HR: alice's last day was yesterday.
	writeHR("2026-01-04")
	before := e.events()
	equal(t, "HR sync of the leaver", counts(e.connectorSync("hr")), "users +0 ~0 -1 ents +0 -0 grants +0 -0 held=false")
	var u roster.User
	e.json(&u, roster.AdminUser, "user", "show", alice)
	equal(t, "alice's status", u.Status, roster.UserDisabled)
	// The change reaches the profile at once (the change-driven sync), the
	// unenrollment is confirmed by policy, and the connectors revoke.
	e.changes()
	e.provision()
	equal(t, "members after", e.members("eng"), []string{bob + ":automation", carol + ":automation"})
	equal(t, "engineering group after", members(t, dir, "engineering"), []string{bob, carol})
	equal(t, "analyst role after", roleMembers(t, p+"analyst"), []string{bob, carol})
	// The next reads of the systems agree with Roster.
	equal(t, "LDAP sync after", counts(e.connectorSync("corp-ldap")), "users +0 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	equal(t, "warehouse sync after", counts(e.connectorSync("warehouse")), "users +0 ~0 -0 ents +0 -0 grants +0 -0 held=false")

	// The audit log tells the story in order.
	var chain []string
	for _, ev := range e.events() {
		if ev.ID <= before[len(before)-1].ID {
			continue
		}
		if ev.ObjectID == alice || strings.HasPrefix(ev.ObjectID, alice+" ") || ev.ObjectType == "task" {
			chain = append(chain, ev.Actor+" "+string(ev.Action))
		}
	}
	want := []string{
		"admin user.disabled",
		"automation task.created", // unenrollment of alice from eng, done at once
		"automation task.created", // revoke ldap/engineering
		"automation task.created", // revoke warehouse analyst
		"connector:corp-ldap task.done",
		"connector:corp-ldap grant.removed",
		"connector:warehouse task.done",
		"connector:warehouse grant.removed",
	}
	if !isSubsequence(chain, want) {
		t.Fatalf("audit chain:\n%s\nwant in order:\n%s", strings.Join(chain, "\n"), strings.Join(want, "\n"))
	}
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// members lists the uids of an LDAP group's members.
func members(t *testing.T, dir *slapdtest.Server, group string) []string {
	t.Helper()
	out := []string{}
	for _, dn := range dir.Members(t, group) {
		rdn, _, _ := strings.Cut(dn, ",")
		out = append(out, strings.TrimPrefix(rdn, "uid="))
	}
	slices.Sort(out)
	return out
}

func TestConnectorSCIM(t *testing.T) {
	idp := scimtest.New("scim-test-token", scimtest.WithMaxResults(2))
	t.Cleanup(idp.Close)
	t.Setenv("ROSTER_SECRET_TEST_SCIM_TOKEN", "scim-test-token")
	ruth := idp.AddUser(scimtest.User{UserName: "ruth@example.org", DisplayName: "Ruth Reyes", Emails: []string{"ruth@example.org"}, Department: "Engineering"})
	sam := idp.AddUser(scimtest.User{UserName: "sam@example.org", DisplayName: "Sam Singh", Emails: []string{"Sam@Example.org"}, Department: "Engineering", Manager: ruth, Title: "SRE"})
	idp.AddUser(scimtest.User{UserName: "tom@example.org", DisplayName: "Tom Tan", Emails: []string{"tom@example.org"}, Inactive: true})
	idp.AddGroup("Engineering Team", ruth, sam)
	idp.AddGroup("oncall", ruth)
	e := start(t)
	// An existing user is matched by email; the others are created.
	e.apply(`users:
  - {id: samantha, email: sam@example.org, name: Sam}
`)
	e.apply(fmt.Sprintf(`
policies:
  - {id: auto, steps: []}
connectors:
  - id: okta
    type: scim
    app: okta
    users: true
    match_by: email
    entitlement_defaults: {request_policy: auto, revoke_policy: auto, provisioning: connector}
    settings: {url: %s, token_env: ROSTER_SECRET_TEST_SCIM_TOKEN, page_size: 2, insecure: true}
`, idp.URL))
	equal(t, "SCIM sync", counts(e.connectorSync("okta")), "users +2 ~1 -0 ents +2 -0 grants +3 -0 held=false")
	var sam2 roster.User
	e.json(&sam2, roster.AdminUser, "user", "show", "samantha")
	equal(t, "sam, matched by email", fmt.Sprintf("%s|%s|%s|%s", sam2.Name, sam2.Manager, sam2.Department, sam2.Title),
		"Sam Singh|ruth-example-org|Engineering|SRE")
	// The sync's event carries what it changed of sam, before and after.
	var change struct{ Before, After map[string]any }
	if evs := e.events("--action", "user.updated", "--object-id", "samantha"); len(evs) != 1 {
		t.Fatalf("user.updated events of samantha: %+v", evs)
	} else if err := json.Unmarshal(evs[0].Data, &change); err != nil {
		t.Fatalf("data %s: %v", evs[0].Data, err)
	}
	equal(t, "sam before", fmt.Sprintf("%v|%v", change.Before["name"], change.Before["manager"]), "Sam|")
	equal(t, "sam after", fmt.Sprintf("%v|%v", change.After["name"], change.After["manager"]), "Sam Singh|ruth-example-org")
	var tom roster.User
	e.json(&tom, roster.AdminUser, "user", "show", "tom-example-org")
	equal(t, "inactive in SCIM", tom.Status, roster.UserDisabled)
	equal(t, "grants", e.grants("--app", "okta"), map[string][]string{
		"ruth-example-org okta/Engineering-Team": {"direct"}, "samantha okta/Engineering-Team": {"direct"},
		"ruth-example-org okta/oncall": {"direct"}})

	// Provisioning is a PATCH of the group's members.
	e.apply(`
profiles:
  - id: pager
    entitlements: [okta/oncall]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_all}
`)
	e.ok(roster.AdminUser, "profile", "enroll", "pager", "samantha")
	e.provision()
	equal(t, "oncall members", idp.Members("oncall"), []string{"ruth@example.org", "sam@example.org"})
	equal(t, "sync after provisioning", counts(e.connectorSync("okta")), "users +0 ~0 -0 ents +0 -0 grants +0 -0 held=false")
	e.ok(roster.AdminUser, "profile", "unenroll", "pager", "samantha")
	e.provision()
	equal(t, "oncall members after unenroll", idp.Members("oncall"), []string{"ruth@example.org"})

	// A wrong token: the sync fails with the provider's answer, not the token.
	t.Setenv("ROSTER_SECRET_TEST_SCIM_TOKEN", "not-the-token")
	stderr := e.fails("401", roster.AdminUser, "connector", "sync", "okta")
	if strings.Contains(stderr, "not-the-token") {
		t.Fatalf("the token leaked: %s", stderr)
	}
}
