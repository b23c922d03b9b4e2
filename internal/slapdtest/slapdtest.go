// Package slapdtest starts a real, throw-away OpenLDAP server (slapd) for
// tests.
//
// Start runs /usr/sbin/slapd in the foreground as a child of the test
// process, on a free 127.0.0.1 port, with a configuration and an mdb
// database in the test's temporary directory, and kills it when the test
// ends. Several servers may run at once (parallel tests): each has its own
// port, directory and passwords, and none touches a system-wide slapd.
//
// The directory holds the suffix dc=example,dc=org with the schemas core,
// cosine, inetorgperson and nis, the containers ou=people and ou=groups, and a
// service account cn=roster,dc=example,dc=org that may read and write
// everything (like the account a real deployment gives Roster). Unlike the
// root DN, the service account is subject to the server's size limit, so a
// test that binds as it sees what a paged search is for.
//
// Tests seed entries with AddUser, AddGroup or AddLDIF and inspect them with
// Conn. When slapd or ldapmodify is not installed, Start skips the test and
// says how to install them (apt-get install slapd ldap-utils), or fails it
// with ROSTER_TEST_REQUIRE_ALL=1, as in CI; ROSTER_TEST_SLAPD names another
// slapd binary (see internal/testenv).
package slapdtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/testenv"
)

// Where Debian's slapd package puts its modules and schemas. The binary is
// testenv.RequireSlapd's.
const (
	ModulePath = "/usr/lib/ldap"
	SchemaDir  = "/etc/ldap/schema"
)

const installHint = "install it: apt-get install slapd ldap-utils"

// Server is a running slapd.
type Server struct {
	// URL is the server's address, like ldap://127.0.0.1:40123.
	URL string
	// BaseDN is the suffix: dc=example,dc=org.
	BaseDN string
	// AdminDN and AdminPassword are the root DN and its (random) password;
	// the root DN bypasses access control and limits.
	AdminDN       string
	AdminPassword string
	// ServiceDN and ServicePassword are an ordinary account with write
	// access to the whole directory, subject to the size limit.
	ServiceDN       string
	ServicePassword string
	// PeopleDN and GroupsDN are the containers ou=people and ou=groups.
	PeopleDN string
	GroupsDN string
	// Dir holds the configuration, the database and the log.
	Dir string
	// CAFile, with the TLS option, is the PEM file of the CA that signed the
	// server's certificate (for 127.0.0.1), for clients to trust; without
	// it, empty.
	CAFile string

	slapd  string // the binary
	stderr *testenv.Buffer
}

// Option changes how Start configures the server.
type Option func(*options)

type options struct {
	sizeLimit int
	tls       bool
}

// TLS gives the server a certificate for 127.0.0.1, signed by a CA made
// for the test (Server.CAFile), so that clients can use StartTLS on URL.
func TLS() Option {
	return func(o *options) { o.tls = true }
}

// SizeLimit makes the server return at most n entries to an ordinary
// (non-root) search that is not paged. Paged searches may return any number
// of entries in total. slapd's own default is 500.
func SizeLimit(n int) Option {
	return func(o *options) { o.sizeLimit = n }
}

// Start starts a slapd for the test and returns once it answers a bind and
// holds the base entries. The server is stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{sizeLimit: 500}
	for _, opt := range opts {
		opt(&o)
	}
	slapd := testenv.RequireSlapd(t)
	dir := t.TempDir()
	s := &Server{
		BaseDN:          "dc=example,dc=org",
		AdminDN:         "cn=admin,dc=example,dc=org",
		AdminPassword:   randomPassword(),
		ServiceDN:       "cn=roster,dc=example,dc=org",
		ServicePassword: randomPassword(),
		PeopleDN:        "ou=people,dc=example,dc=org",
		GroupsDN:        "ou=groups,dc=example,dc=org",
		Dir:             dir,
		slapd:           slapd,
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	if o.tls {
		if err := s.certificates(); err != nil {
			t.Fatalf("slapdtest: making TLS certificates: %v", err)
		}
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(s.config(o)), 0o600); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}

	// A port picked by listening on :0 may be taken by someone else before
	// slapd binds it; try again with another one when slapd cannot listen.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("slapdtest: finding a free port: %v", err)
		}
		lastErr = s.run(t, conf, port)
		if lastErr == nil {
			break
		}
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("slapdtest: %v", lastErr)
	}
	s.seed(t)
	return s
}

var errExited = errors.New("slapd exited")

// run starts slapd on port and waits until the root DN can bind.
func (s *Server) run(t testing.TB, conf string, port int) error {
	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(port)
	s.stderr = &testenv.Buffer{}
	cmd := exec.Command(s.slapd, "-d", "0", "-f", conf, "-h", s.URL+"/")
	cmd.Stdout = s.stderr
	cmd.Stderr = s.stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w (%s)", s.slapd, err, installHint)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("%w on %s (%v): %s", errExited, s.URL, waitErr, strings.TrimSpace(s.stderr.String()))
		default:
		}
		conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			conn.SetTimeout(2 * time.Second)
			err = conn.Bind(s.AdminDN, s.AdminPassword)
			conn.Close()
			if err == nil {
				t.Cleanup(stop)
				return nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("slapd on %s did not answer a bind within 15s: %v; its output: %s", s.URL, err, strings.TrimSpace(s.stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) config(o options) string {
	var b strings.Builder
	for _, schema := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(SchemaDir, schema+".schema"))
	}
	fmt.Fprintf(&b, "modulepath %s\n", ModulePath)
	b.WriteString("moduleload back_mdb\n")
	fmt.Fprintf(&b, "pidfile %s\n", filepath.Join(s.Dir, "slapd.pid"))
	fmt.Fprintf(&b, "argsfile %s\n", filepath.Join(s.Dir, "slapd.args"))
	fmt.Fprintf(&b, "sizelimit size.soft=%d size.hard=%d size.prtotal=unlimited\n", o.sizeLimit, o.sizeLimit)
	if o.tls {
		fmt.Fprintf(&b, "TLSCertificateFile %s\n", filepath.Join(s.Dir, "server.pem"))
		fmt.Fprintf(&b, "TLSCertificateKeyFile %s\n", filepath.Join(s.Dir, "server.key"))
	}
	b.WriteString("database mdb\n")
	b.WriteString("maxsize 104857600\n")
	fmt.Fprintf(&b, "suffix %q\n", s.BaseDN)
	fmt.Fprintf(&b, "rootdn %q\n", s.AdminDN)
	fmt.Fprintf(&b, "rootpw %s\n", s.AdminPassword)
	fmt.Fprintf(&b, "directory %s\n", filepath.Join(s.Dir, "data"))
	b.WriteString("index objectClass eq\n")
	b.WriteString("index uid,mail,cn eq\n")
	b.WriteString("access to attrs=userPassword by self write by anonymous auth by * none\n")
	fmt.Fprintf(&b, "access to * by dn.exact=%q write by users read by * none\n", s.ServiceDN)
	return b.String()
}

func (s *Server) seed(t testing.TB) {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	defer conn.Close()
	adds := []*ldap.AddRequest{
		addRequest(s.BaseDN, map[string][]string{
			"objectClass": {"top", "dcObject", "organization"},
			"dc":          {"example"},
			"o":           {"Example"},
		}),
		addRequest(s.ServiceDN, map[string][]string{
			"objectClass":  {"organizationalRole", "simpleSecurityObject"},
			"cn":           {"roster"},
			"userPassword": {s.ServicePassword},
		}),
		addRequest(s.PeopleDN, map[string][]string{
			"objectClass": {"organizationalUnit"},
			"ou":          {"people"},
		}),
		addRequest(s.GroupsDN, map[string][]string{
			"objectClass": {"organizationalUnit"},
			"ou":          {"groups"},
		}),
	}
	for _, req := range adds {
		if err := conn.Add(req); err != nil {
			t.Fatalf("slapdtest: adding %s: %v", req.DN, err)
		}
	}
}

// Conn returns a connection bound as the root DN, closed when the test ends.
func (s *Server) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dial connects and binds as the root DN.
func (s *Server) dial() (*ldap.Conn, error) {
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", s.URL, err)
	}
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		conn.Close()
		return nil, fmt.Errorf("binding to %s as %s: %w", s.URL, s.AdminDN, err)
	}
	return conn, nil
}

// AddLDIF applies ldif with ldapmodify -a (from ldap-utils) as the root DN:
// records without a changetype are added; records may also modify or delete.
func (s *Server) AddLDIF(t testing.TB, ldif string) {
	t.Helper()
	tool, err := exec.LookPath("ldapmodify")
	if err != nil {
		t.Fatalf("slapdtest: ldapmodify is not installed (%v); %s", err, installHint)
	}
	pwfile := filepath.Join(s.Dir, "admin.pw")
	if err := os.WriteFile(pwfile, []byte(s.AdminPassword), 0o600); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	cmd := exec.Command(tool, "-a", "-x", "-H", s.URL, "-D", s.AdminDN, "-y", pwfile)
	cmd.Stdin = strings.NewReader(dedent(ldif))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("slapdtest: ldapmodify: %v\n%s\nLDIF was:\n%s", err, out, ldif)
	}
}

// dedent strips the indentation common to all non-blank lines, so LDIF can
// be written indented inside a Go raw string. A continuation line (one more
// space than its record) keeps its extra space.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		} else if strings.TrimSpace(l) == "" {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// User is a person to add under PeopleDN as an inetOrgPerson.
type User struct {
	UID  string // required; the entry is uid=UID,ou=people,...
	CN   string // defaults to UID
	SN   string // defaults to CN
	Mail string
	// Department is stored in departmentNumber.
	Department   string
	Title        string
	EmployeeType string
	// Manager is the uid of the manager; it is stored as the manager's DN
	// under PeopleDN. ManagerDN, when set, is stored as it is instead.
	Manager   string
	ManagerDN string
	// Password, when set, becomes userPassword so the user can bind.
	Password string
}

// UserDN is the DN AddUser gives the user with this uid.
func (s *Server) UserDN(uid string) string {
	return "uid=" + ldap.EscapeDN(uid) + "," + s.PeopleDN
}

// GroupDN is the DN AddGroup gives the group with this cn.
func (s *Server) GroupDN(cn string) string {
	return "cn=" + ldap.EscapeDN(cn) + "," + s.GroupsDN
}

// AddUser adds u under PeopleDN and returns its DN.
func (s *Server) AddUser(t testing.TB, u User) string {
	t.Helper()
	if u.CN == "" {
		u.CN = u.UID
	}
	if u.SN == "" {
		u.SN = u.CN
	}
	attrs := map[string][]string{
		"objectClass": {"inetOrgPerson"},
		"uid":         {u.UID},
		"cn":          {u.CN},
		"sn":          {u.SN},
	}
	set := func(name, value string) {
		if value != "" {
			attrs[name] = []string{value}
		}
	}
	set("mail", u.Mail)
	set("departmentNumber", u.Department)
	set("title", u.Title)
	set("employeeType", u.EmployeeType)
	set("userPassword", u.Password)
	if u.Manager != "" {
		set("manager", s.UserDN(u.Manager))
	}
	set("manager", u.ManagerDN)
	dn := s.UserDN(u.UID)
	s.add(t, addRequest(dn, attrs))
	return dn
}

// Group is a group to add under GroupsDN.
type Group struct {
	CN          string
	Description string
	// Members are uids of users under PeopleDN; MemberDNs are stored as
	// they are. A groupOfNames needs at least one member.
	Members   []string
	MemberDNs []string
	// Unique makes a groupOfUniqueNames (members in uniqueMember) instead
	// of a groupOfNames (members in member).
	Unique bool
}

// AddGroup adds g under GroupsDN and returns its DN.
func (s *Server) AddGroup(t testing.TB, g Group) string {
	t.Helper()
	class, attr := "groupOfNames", "member"
	if g.Unique {
		class, attr = "groupOfUniqueNames", "uniqueMember"
	}
	members := append([]string(nil), g.MemberDNs...)
	for _, uid := range g.Members {
		members = append(members, s.UserDN(uid))
	}
	attrs := map[string][]string{
		"objectClass": {class},
		"cn":          {g.CN},
	}
	if len(members) > 0 {
		attrs[attr] = members
	}
	if g.Description != "" {
		attrs["description"] = []string{g.Description}
	}
	dn := s.GroupDN(g.CN)
	s.add(t, addRequest(dn, attrs))
	return dn
}

// Members returns the member DNs of the group with this cn (its member
// and uniqueMember values), as stored.
func (s *Server) Members(t testing.TB, cn string) []string {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(s.GroupDN(cn), ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"member", "uniqueMember"}, nil))
	if err != nil {
		t.Fatalf("slapdtest: reading group %s: %v", s.GroupDN(cn), err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.GetAttributeValues("member")...)
		out = append(out, e.GetAttributeValues("uniqueMember")...)
	}
	return out
}

func (s *Server) add(t testing.TB, req *ldap.AddRequest) {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	defer conn.Close()
	if err := conn.Add(req); err != nil {
		t.Fatalf("slapdtest: adding %s: %v", req.DN, err)
	}
}

func addRequest(dn string, attrs map[string][]string) *ldap.AddRequest {
	req := ldap.NewAddRequest(dn, nil)
	for name, values := range attrs {
		req.Attribute(name, values)
	}
	return req
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
