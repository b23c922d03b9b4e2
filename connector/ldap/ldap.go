package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/connector"
)

func init() {
	connector.Register("ldap", Open)
}

// Defaults of the optional settings.
const (
	DefaultUserFilter       = "(objectClass=inetOrgPerson)"
	DefaultGroupFilter      = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
	DefaultGroupIDAttribute = "cn"
	DefaultPageSize         = 500
	DefaultTimeout          = 10 * time.Second
)

// DefaultUserAttributes maps each account field to the attribute it is read
// from unless user_attributes says otherwise.
var DefaultUserAttributes = map[string]string{
	"id":              "uid",
	"email":           "mail",
	"name":            "cn",
	"department":      "departmentNumber",
	"manager":         "manager",
	"title":           "title",
	"location":        "l",
	"employment_type": "employeeType",
}

var spec = connector.Spec{
	Required: []string{"url", "bind_dn", "user_base_dn"},
	Optional: []string{
		"user_filter", "disabled_filter", "user_attributes",
		"group_base_dn", "group_filter", "group_id_attribute", "member_attribute",
		"page_size", "timeout", "start_tls", "insecure_skip_verify", "insecure", "tls_ca_file",
	},
	Secrets: []string{"bind_password"},
}

// Connector is a configured LDAP connector. It holds no connection between
// calls.
type Connector struct {
	id       string
	settings connector.Settings
	access   connector.Access
	log      *slog.Logger

	url                string
	bindDN             string
	startTLS           bool
	insecureSkipVerify bool
	tlsCAFile          string // under the secrets directory, or ""
	timeout            time.Duration
	pageSize           int

	userBase       string
	userFilter     string
	disabledFilter string
	attrs          userAttributes

	groupBase   string
	groupFilter string
	groupIDAttr string
	memberAttr  string // "" means member or uniqueMember by objectClass
}

// userAttributes are the attribute names account fields are read from; ""
// means the field is not read.
type userAttributes struct {
	id, email, name, department, manager, title, location, employmentType string
}

// list returns the attribute names to request in a search.
func (a userAttributes) list() []string {
	var out []string
	for _, n := range []string{a.id, a.email, a.name, a.department, a.manager, a.title, a.location, a.employmentType} {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// attributeName is an attribute description: a name (with options) or an OID.
var attributeName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)(;[A-Za-z0-9-]+)*$`)

// Open checks cfg's settings and returns the connector. It neither contacts
// the server nor reads the password.
func Open(cfg connector.Config) (connector.Connector, error) {
	s := cfg.Settings
	if err := s.Check(spec); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Connector{
		id:          cfg.ID,
		settings:    s,
		access:      cfg.Access,
		log:         logger.With("connector", cfg.ID),
		url:         s.String("url", ""),
		bindDN:      s.String("bind_dn", ""),
		userBase:    s.String("user_base_dn", ""),
		userFilter:  s.String("user_filter", DefaultUserFilter),
		groupBase:   s.String("group_base_dn", ""),
		groupFilter: s.String("group_filter", DefaultGroupFilter),
		groupIDAttr: s.String("group_id_attribute", DefaultGroupIDAttribute),
		memberAttr:  s.String("member_attribute", ""),
	}
	c.disabledFilter = s.String("disabled_filter", "")
	var err error
	if c.startTLS, err = s.Bool("start_tls", false); err != nil {
		return nil, err
	}
	if c.insecureSkipVerify, err = s.Bool("insecure_skip_verify", false); err != nil {
		return nil, err
	}
	if c.timeout, err = s.Duration("timeout", DefaultTimeout); err != nil {
		return nil, err
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("settings.timeout: must be more than 0")
	}
	if c.pageSize, err = s.Int("page_size", DefaultPageSize); err != nil {
		return nil, err
	}
	if c.pageSize < 0 || c.pageSize > 1<<31-1 {
		return nil, fmt.Errorf("settings.page_size: %d is not between 0 (no paging) and 2147483647", c.pageSize)
	}

	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("settings.url: %q is not ldap://HOST[:PORT] or ldaps://HOST[:PORT]", c.url)
	}
	if c.startTLS && u.Scheme == "ldaps" {
		return nil, fmt.Errorf("settings.start_tls: an ldaps:// url is already TLS; use ldap:// with start_tls")
	}
	insecure, err := s.Bool("insecure", false)
	if err != nil {
		return nil, err
	}
	encrypted := u.Scheme == "ldaps" || c.startTLS
	if !encrypted && !insecure {
		return nil, fmt.Errorf("settings.url: ldap:// without start_tls sends the password in clear text: use ldaps:// or start_tls: true, or set insecure: true")
	}
	c.tlsCAFile = strings.TrimSpace(s.String("tls_ca_file", ""))
	if c.tlsCAFile != "" && !encrypted {
		return nil, fmt.Errorf("settings.tls_ca_file: only used with ldaps:// or start_tls: true")
	}

	for _, d := range []struct{ key, dn string }{
		{"bind_dn", c.bindDN}, {"user_base_dn", c.userBase}, {"group_base_dn", c.groupBase},
	} {
		if d.key != "group_base_dn" && strings.TrimSpace(d.dn) == "" {
			return nil, fmt.Errorf("settings.%s: must not be empty", d.key)
		}
		if _, err := goldap.ParseDN(d.dn); err != nil {
			return nil, fmt.Errorf("settings.%s: %q is not a DN: %w", d.key, d.dn, err)
		}
	}

	for _, f := range []struct{ key, filter string }{
		{"user_filter", c.userFilter}, {"disabled_filter", c.disabledFilter}, {"group_filter", c.groupFilter},
	} {
		if f.filter == "" && f.key == "disabled_filter" {
			continue
		}
		if _, err := goldap.CompileFilter(f.filter); err != nil {
			return nil, fmt.Errorf("settings.%s: %q is not an LDAP filter like (objectClass=person): %w", f.key, f.filter, err)
		}
	}

	if c.attrs, err = parseUserAttributes(s); err != nil {
		return nil, err
	}
	for _, a := range []struct{ key, name string }{
		{"group_id_attribute", c.groupIDAttr}, {"member_attribute", c.memberAttr},
	} {
		if a.name == "" && a.key == "member_attribute" {
			continue
		}
		if !attributeName.MatchString(a.name) {
			return nil, fmt.Errorf("settings.%s: %q is not an attribute name", a.key, a.name)
		}
	}
	return c, nil
}

func parseUserAttributes(s connector.Settings) (userAttributes, error) {
	m, err := s.StringMap("user_attributes")
	if err != nil {
		return userAttributes{}, err
	}
	known := make([]string, 0, len(DefaultUserAttributes))
	for k := range DefaultUserAttributes {
		known = append(known, k)
	}
	slices.Sort(known)
	get := func(key string) string {
		if v, ok := m[key]; ok {
			return v
		}
		return DefaultUserAttributes[key]
	}
	for k, v := range m {
		if _, ok := DefaultUserAttributes[k]; !ok {
			return userAttributes{}, fmt.Errorf("settings.user_attributes.%s: unknown field (known: %s)", k, strings.Join(known, ", "))
		}
		if v != "" && !attributeName.MatchString(v) {
			return userAttributes{}, fmt.Errorf("settings.user_attributes.%s: %q is not an attribute name", k, v)
		}
	}
	a := userAttributes{
		id:             get("id"),
		email:          get("email"),
		name:           get("name"),
		department:     get("department"),
		manager:        get("manager"),
		title:          get("title"),
		location:       get("location"),
		employmentType: get("employment_type"),
	}
	if a.id == "" {
		return userAttributes{}, fmt.Errorf("settings.user_attributes.id: must name the attribute that holds the account's key")
	}
	return a, nil
}

// Close releases nothing: connections last one call.
func (c *Connector) Close() error { return nil }

// session is one bound connection.
type session struct {
	c    *Connector
	ctx  context.Context
	conn *goldap.Conn
	stop func() bool
}

// connect dials the server, binds as bind_dn and returns the session; the
// connection is closed when ctx is done or by close.
func (c *Connector) connect(ctx context.Context) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ldap %s: %w", c.url, err)
	}
	password, err := c.access.Secret(c.settings, "bind_password")
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("ldap %s: bind password: %w", c.url, err))
	}
	u, _ := url.Parse(c.url) // checked by Open
	tlsConfig := &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: c.insecureSkipVerify}
	if c.tlsCAFile != "" {
		if tlsConfig.RootCAs, err = c.roots(); err != nil {
			return nil, connector.Permanent(fmt.Errorf("ldap %s: %w", c.url, err))
		}
	}
	dialer := &net.Dialer{Timeout: c.timeout}
	conn, err := goldap.DialURL(c.url, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(tlsConfig))
	if err != nil {
		return nil, fmt.Errorf("ldap: connecting to %s: %w", c.url, err)
	}
	conn.SetTimeout(c.timeout)
	s := &session{c: c, ctx: ctx, conn: conn}
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if c.startTLS {
		if err := conn.StartTLS(tlsConfig); err != nil {
			s.close()
			return nil, s.fail(err, "StartTLS with %s", c.url)
		}
	}
	if err := conn.Bind(c.bindDN, password); err != nil {
		s.close()
		return nil, s.fail(err, "binding to %s as %s", c.url, c.bindDN)
	}
	return s, nil
}

// maxCAFileSize bounds tls_ca_file: a bundle of a few hundred CAs.
const maxCAFileSize = 1 << 20

// roots reads tls_ca_file from the secrets directory as the CAs to trust.
func (c *Connector) roots() (*x509.CertPool, error) {
	pem, err := c.access.ReadSecretsFile("tls_ca_file", c.tlsCAFile, maxCAFileSize)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("settings.tls_ca_file: %s holds no PEM certificate", c.tlsCAFile)
	}
	return pool, nil
}

func (s *session) close() {
	s.stop()
	s.conn.Close()
}

// fail wraps err with "ldap: WHAT: ", marks it permanent when retrying cannot
// help, and reports the context's error instead when it was cancelled.
func (s *session) fail(err error, what string, args ...any) error {
	what = fmt.Sprintf(what, args...)
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("ldap: %s: %w", what, ctxErr)
	}
	err = fmt.Errorf("ldap: %s: %w", what, err)
	if permanentError(err) {
		return connector.Permanent(err)
	}
	return err
}

// permanentCodes are LDAP results that the same request will get again
// until someone changes the directory or the configuration.
var permanentCodes = []uint16{
	goldap.LDAPResultProtocolError,
	goldap.LDAPResultAuthMethodNotSupported,
	goldap.LDAPResultStrongAuthRequired,
	goldap.LDAPResultConfidentialityRequired,
	goldap.LDAPResultNoSuchAttribute,
	goldap.LDAPResultUndefinedAttributeType,
	goldap.LDAPResultInappropriateMatching,
	goldap.LDAPResultConstraintViolation,
	goldap.LDAPResultInvalidAttributeSyntax,
	goldap.LDAPResultNoSuchObject,
	goldap.LDAPResultInvalidDNSyntax,
	goldap.LDAPResultInappropriateAuthentication,
	goldap.LDAPResultInvalidCredentials,
	goldap.LDAPResultInsufficientAccessRights,
	goldap.LDAPResultUnwillingToPerform,
	goldap.LDAPResultNamingViolation,
	goldap.LDAPResultObjectClassViolation,
	goldap.LDAPResultNotAllowedOnRDN,
	goldap.LDAPResultObjectClassModsProhibited,
	goldap.LDAPResultFilterError,
	goldap.ErrorFilterCompile,
}

func permanentError(err error) bool {
	return goldap.IsErrorAnyOf(err, permanentCodes...)
}

// search runs a subtree search, paged when page_size is not 0.
func (s *session) search(base, filter string, attrs []string) ([]*goldap.Entry, error) {
	if len(attrs) == 0 {
		attrs = []string{"1.1"} // no attributes, only DNs
	}
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, int(s.c.timeout/time.Second), false, filter, attrs, nil)
	var res *goldap.SearchResult
	var err error
	if s.c.pageSize > 0 {
		res, err = s.conn.SearchWithPaging(req, uint32(s.c.pageSize))
	} else {
		res, err = s.conn.Search(req)
	}
	if err != nil {
		return nil, s.fail(err, "searching %s for %s", base, filter)
	}
	return res.Entries, nil
}

// and combines two filters; an empty one is left out.
func and(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return "(&" + a + b + ")"
}

// dnKey normalises a DN for comparison: attribute types and values in lower
// case, spacing and escaping undone, multi-valued RDNs in a fixed order. A
// string that is not a DN gives "".
func dnKey(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 {
		return ""
	}
	var b strings.Builder
	for i, rdn := range parsed.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = strings.ToLower(a.Type) + "=" + goldap.EscapeDN(strings.ToLower(a.Value))
		}
		slices.Sort(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

var errNoGroups = errors.New("settings.group_base_dn is not set, so this connector manages no groups")
