package slapdtest_test

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/slapdtest"
	"github.com/rosterhq/roster/internal/testenv"
)

func search(t *testing.T, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

func bind(t *testing.T, url, dn, password string) (*ldap.Conn, error) {
	t.Helper()
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, conn.Bind(dn, password)
}

func TestStartSeedsAndServes(t *testing.T) {
	t.Parallel()
	s := slapdtest.Start(t)

	conn := s.Conn(t)
	for _, dn := range []string{s.BaseDN, s.PeopleDN, s.GroupsDN, s.ServiceDN} {
		if got := search(t, conn, dn, "(objectClass=*)"); len(got) == 0 {
			t.Errorf("%s is missing", dn)
		}
	}

	s.AddUser(t, slapdtest.User{UID: "carol", CN: "Carol Chen", Mail: "carol@example.org", Department: "Engineering", Title: "VP"})
	alice := s.AddUser(t, slapdtest.User{UID: "alice", Mail: "alice@example.org", Manager: "carol", EmployeeType: "staff", Password: "alice-pw"})
	s.AddGroup(t, slapdtest.Group{CN: "engineering", Description: "All engineers", Members: []string{"alice", "carol"}})
	s.AddGroup(t, slapdtest.Group{CN: "vpn", Unique: true, Members: []string{"alice"}})
	s.AddLDIF(t, `
		dn: uid=bob,ou=people,dc=example,dc=org
		objectClass: inetOrgPerson
		uid: bob
		cn: Bob
		sn: Builder
		employeeType: terminated

		dn: cn=engineering,ou=groups,dc=example,dc=org
		changetype: modify
		add: member
		member: uid=bob,ou=people,dc=example,dc=org
		`)

	got := search(t, conn, s.PeopleDN, "(objectClass=inetOrgPerson)", "uid", "manager", "departmentNumber")
	if len(got) != 3 {
		t.Fatalf("people: got %d entries, want 3", len(got))
	}
	e := search(t, conn, alice, "(objectClass=*)", "manager", "employeeType")[0]
	if m := e.GetAttributeValue("manager"); m != s.UserDN("carol") {
		t.Errorf("alice's manager = %q, want %q", m, s.UserDN("carol"))
	}
	if et := e.GetAttributeValue("employeeType"); et != "staff" {
		t.Errorf("alice's employeeType = %q", et)
	}
	if m := s.Members(t, "engineering"); !slices.Equal(m, []string{s.UserDN("alice"), s.UserDN("carol"), s.UserDN("bob")}) {
		t.Errorf("engineering members = %q", m)
	}
	if m := s.Members(t, "vpn"); !slices.Equal(m, []string{s.UserDN("alice")}) {
		t.Errorf("vpn members = %q", m)
	}

	// A user with a password can bind; a wrong password cannot.
	if _, err := bind(t, s.URL, alice, "alice-pw"); err != nil {
		t.Errorf("alice cannot bind: %v", err)
	}
	if _, err := bind(t, s.URL, alice, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("bind with a wrong password: got %v, want invalid credentials", err)
	}
}

func TestServiceAccountWritesAndIsSizeLimited(t *testing.T) {
	t.Parallel()
	s := slapdtest.Start(t, slapdtest.SizeLimit(3))
	for i := range 5 {
		s.AddUser(t, slapdtest.User{UID: fmt.Sprintf("user%d", i)})
	}
	s.AddGroup(t, slapdtest.Group{CN: "g", Members: []string{"user0"}})

	conn, err := bind(t, s.URL, s.ServiceDN, s.ServicePassword)
	if err != nil {
		t.Fatalf("service account cannot bind: %v", err)
	}
	req := func() *ldap.SearchRequest {
		return ldap.NewSearchRequest(s.PeopleDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil)
	}
	if _, err := conn.Search(req()); !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("unpaged search of 5 users with a size limit of 3: got %v, want size limit exceeded", err)
	}
	res, err := conn.SearchWithPaging(req(), 2)
	if err != nil {
		t.Fatalf("paged search: %v", err)
	}
	if len(res.Entries) != 5 {
		t.Errorf("paged search: got %d entries, want 5", len(res.Entries))
	}

	mod := ldap.NewModifyRequest(s.GroupDN("g"), nil)
	mod.Add("member", []string{s.UserDN("user1")})
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("service account cannot modify a group: %v", err)
	}
	if m := s.Members(t, "g"); len(m) != 2 {
		t.Errorf("members after the service account's change: %q", m)
	}

	// The root DN is not limited.
	if got := search(t, s.Conn(t), s.PeopleDN, "(objectClass=inetOrgPerson)"); len(got) != 5 {
		t.Errorf("root DN search: got %d entries, want 5", len(got))
	}
}

func TestServersRunSideBySide(t *testing.T) {
	t.Parallel()
	a := slapdtest.Start(t)
	b := slapdtest.Start(t)
	if a.URL == b.URL || a.AdminPassword == b.AdminPassword || a.Dir == b.Dir {
		t.Fatalf("two servers share a URL, password or directory: %s %s", a.URL, b.URL)
	}
	a.AddUser(t, slapdtest.User{UID: "only-in-a"})
	if got := search(t, b.Conn(t), b.PeopleDN, "(uid=only-in-a)"); len(got) != 0 {
		t.Errorf("server b sees a user added to server a")
	}
	if _, err := bind(t, b.URL, b.AdminDN, a.AdminPassword); err == nil {
		t.Errorf("server b accepts server a's password")
	}
}

func TestStopsAtCleanup(t *testing.T) {
	testenv.RequireSlapd(t) // so that the subtest's skip is this test's
	var url string
	t.Run("server", func(t *testing.T) {
		url = slapdtest.Start(t).URL
	})
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err == nil {
		conn.Close()
		t.Fatalf("%s still answers after its test ended", url)
	}
}
