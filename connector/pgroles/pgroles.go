// Package pgroles is the PostgreSQL roles connector, type "postgres".
//
// It reads a PostgreSQL cluster's roles and role memberships and grants and
// revokes memberships:
//
//   - A role that cannot log in (NOLOGIN) is an entitlement. Its id is the
//     role name passed through connector.EntitlementID; its name is the
//     role's COMMENT, or the role name when it has none. When two role
//     names give the same id ("ops team" and "ops-team"), the role whose
//     name is the id keeps it and the other is left out, with a warning.
//   - A role that can log in (LOGIN) is an account. Account.ID and, unless
//     the role has a COMMENT, Account.Name are the role name. Email, Manager,
//     Department and Title are empty. The account is Disabled when its
//     VALID UNTIL time is in the past (read against the configured clock):
//     that is the one way PostgreSQL itself refuses a login role, short of
//     removing LOGIN, which makes it an entitlement. The attribute
//     "valid_until" holds that time (RFC 3339, UTC) when it is finite.
//   - A direct membership of an account in an entitlement (pg_auth_members)
//     is a grant. Memberships inherited through other roles, and roles that
//     are members of entitlements, are not reported.
//
// Built-in roles (pg_*), superusers and the connector's own login role
// (current_user) are always left out, as accounts and as entitlements, and
// the connector never grants or revokes them.
//
// Grant runs GRANT "role" TO "member" and Revoke runs REVOKE "role" FROM
// "member". Granting a membership that exists and revoking one that does not
// succeed (PostgreSQL only sends a notice or a warning, which is logged at
// debug level). The connector's role needs the privilege to grant the
// entitlement roles: superuser, ADMIN OPTION on each of them, or CREATEROLE
// (before PostgreSQL 16 that covers every non-superuser role; from 16 on,
// only the roles the connector's role created). Without it, Grant and Revoke
// fail permanently with PostgreSQL's message. On PostgreSQL 16 and later
// REVOKE only removes the grants the connector's role made; when a
// membership granted by another role remains, Revoke fails permanently and
// names the grantors.
//
// Accounts are found by id only (match_by: id): the subject's id is compared
// with each login role's name and, failing an exact match, with
// connector.UserID of it; two login roles with that UserID, neither named
// exactly, are refused as ambiguous. PostgreSQL roles have no email address,
// so a task with match_by "email" fails permanently.
//
// Settings:
//
//	dsn_env / dsn_file  required secret: the connection string, a URL
//	                    (postgres://user:password@host:5432/db?sslmode=require)
//	                    or keyword/value DSN (host=... user=... password=...).
//	                    The connector connects for each call, with a 10s
//	                    connect timeout unless the DSN sets connect_timeout.
//	                    The variable's name must start with ROSTER_SECRET_
//	                    (roster serve --secret-env-prefix), the file lie under
//	                    roster serve --secrets-dir. The connection string may
//	                    not set the keys that make the driver read a file on
//	                    the server (passfile, service, servicefile, sslcert,
//	                    sslkey, sslrootcert), and one without a password is
//	                    refused when the server's environment would supply
//	                    one (PGPASSWORD, a passfile): that is the server's own.
//	role_pattern        optional, default "%": an SQL LIKE pattern; only
//	                    NOLOGIN roles whose names match are entitlements
//	                    ("_" and "%" are wildcards, "\" escapes them).
//	account_pattern     optional, default "%": an SQL LIKE pattern; only LOGIN
//	                    roles whose names match are accounts.
//	exclude_roles       optional, default none: a list of role names that are
//	                    neither entitlements nor accounts.
//	sync_timeout,       optional, default 2m and 30s: the time limit of one Sync,
//	provision_timeout   and of one Grant or Revoke (connector.CommonSettings).
//
// Example:
//
//	connectors:
//	  - id: warehouse
//	    type: postgres
//	    app: warehouse
//	    settings:
//	      dsn_env: ROSTER_SECRET_WAREHOUSE_DSN
//	      role_pattern: 'wh\_%'
//	      exclude_roles: [wh_migrations]
//
// Errors never contain the DSN's password: pgx's own errors name only the
// host, user and database, and any error that would contain the password is
// redacted. Connection failures and timeouts are retried by the engine;
// a DSN that cannot be parsed, a secret that cannot be read, a rejected login
// or a missing database, an unknown entitlement, a missing account on Grant
// and a missing privilege are permanent.
package pgroles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rosterhq/roster/connector"
)

// Type is the connector type name used in the declarative file.
const Type = "postgres"

// connectTimeout limits a connection attempt when the DSN sets none.
const connectTimeout = 10 * time.Second

func init() {
	connector.Register(Type, Open)
}

var spec = connector.Spec{
	Optional: []string{"role_pattern", "account_pattern", "exclude_roles"},
	Secrets:  []string{"dsn"},
}

// Roles is a configured PostgreSQL roles connector. It holds no connection
// between calls.
type Roles struct {
	id             string
	settings       connector.Settings
	access         connector.Access
	rolePattern    string
	accountPattern string
	exclude        []string
	now            func() time.Time
	log            *slog.Logger
}

// Open validates cfg's settings and returns the connector. It neither reads
// the DSN nor connects.
func Open(cfg connector.Config) (connector.Connector, error) {
	if err := cfg.Settings.Check(spec); err != nil {
		return nil, err
	}
	r := &Roles{id: cfg.ID, settings: cfg.Settings, access: cfg.Access, now: cfg.Now, log: cfg.Logger}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if r.rolePattern, err = likePattern(cfg.Settings, "role_pattern"); err != nil {
		return nil, err
	}
	if r.accountPattern, err = likePattern(cfg.Settings, "account_pattern"); err != nil {
		return nil, err
	}
	if r.exclude, err = cfg.Settings.Strings("exclude_roles"); err != nil {
		return nil, err
	}
	for i, name := range r.exclude {
		if name == "" {
			return nil, fmt.Errorf("settings.exclude_roles[%d]: empty role name", i)
		}
	}
	if r.exclude == nil {
		r.exclude = []string{} // a NULL array would exclude every role
	}
	return r, nil
}

// likePattern reads a LIKE pattern setting, refusing what PostgreSQL would
// reject at every sync.
func likePattern(s connector.Settings, key string) (string, error) {
	if _, ok := s[key]; !ok || s[key] == nil {
		return "%", nil
	}
	p := s.String(key, "")
	if p == "" {
		return "", fmt.Errorf("settings.%s: empty pattern matches no role; leave the setting out to match all", key)
	}
	trailing := len(p) - len(strings.TrimRight(p, `\`))
	if trailing%2 == 1 {
		return "", fmt.Errorf(`settings.%s: %q ends with the escape character \`, key, p)
	}
	return p, nil
}

// Close does nothing: connections are opened and closed per call.
func (r *Roles) Close() error { return nil }

// role is one role that the settings make an entitlement or an account.
type role struct {
	name       string
	login      bool
	comment    string
	validUntil pgtype.Timestamptz
}

// directory is the eligible roles, indexed the way tasks name them.
type directory struct {
	entitlements map[string]role // by entitlement id
	accounts     []role
}

// rolesQuery lists the roles that are entitlements or accounts.
const rolesQuery = `
SELECT r.rolname::text, r.rolcanlogin, coalesce(shobj_description(r.oid, 'pg_authid'), ''), r.rolvaliduntil
FROM pg_catalog.pg_roles r
WHERE NOT r.rolsuper
  AND NOT starts_with(r.rolname::text, 'pg_')
  AND r.rolname <> current_user
  AND r.rolname::text <> ALL ($3::text[])
  AND r.rolname::text LIKE CASE WHEN r.rolcanlogin THEN $2::text ELSE $1::text END
ORDER BY r.rolname`

// membershipsQuery lists direct memberships of login roles in NOLOGIN roles;
// the caller keeps those between eligible roles.
const membershipsQuery = `
SELECT DISTINCT g.rolname::text, m.rolname::text
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
WHERE NOT g.rolcanlogin AND m.rolcanlogin
  AND g.rolname::text LIKE $1::text AND m.rolname::text LIKE $2::text`

func (r *Roles) readDirectory(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (*directory, error) {
	rows, err := q.Query(ctx, rolesQuery, r.rolePattern, r.accountPattern, r.exclude)
	if err != nil {
		return nil, err
	}
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (role, error) {
		var x role
		err := row.Scan(&x.name, &x.login, &x.comment, &x.validUntil)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	d := &directory{entitlements: map[string]role{}}
	var derived []role
	for _, x := range roles {
		switch {
		case x.login:
			d.accounts = append(d.accounts, x)
		case connector.EntitlementID(x.name) == x.name:
			d.entitlements[x.name] = x
		default:
			derived = append(derived, x)
		}
	}
	// A name that is already a valid id keeps it; a name that had to be
	// changed gets its id only if no other role has it.
	for _, x := range derived {
		id := connector.EntitlementID(x.name)
		if other, taken := d.entitlements[id]; taken {
			r.log.Warn("postgres role left out: its entitlement id is taken by another role",
				"connector", r.id, "role", x.name, "entitlement", id, "other_role", other.name)
			continue
		}
		d.entitlements[id] = x
	}
	return d, nil
}

// Sync reads the eligible roles and the memberships between them.
func (r *Roles) Sync(ctx context.Context) (*connector.Snapshot, error) {
	s, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()

	tx, err := s.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, s.fail(err, "begin sync transaction")
	}
	defer tx.Rollback(context.Background())

	d, err := r.readDirectory(ctx, tx)
	if err != nil {
		return nil, s.fail(err, "list roles")
	}
	rows, err := tx.Query(ctx, membershipsQuery, r.rolePattern, r.accountPattern)
	if err != nil {
		return nil, s.fail(err, "list role memberships")
	}
	type membership struct{ role, member string }
	members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (membership, error) {
		var m membership
		err := row.Scan(&m.role, &m.member)
		return m, err
	})
	if err != nil {
		return nil, s.fail(err, "list role memberships")
	}

	snap := &connector.Snapshot{}
	entitlementOf := map[string]string{} // role name -> entitlement id
	for id, x := range d.entitlements {
		entitlementOf[x.name] = id
		snap.Entitlements = append(snap.Entitlements, connector.Entitlement{ID: id, Name: cmp.Or(x.comment, x.name)})
	}
	isAccount := map[string]bool{}
	now := r.now()
	for _, x := range d.accounts {
		isAccount[x.name] = true
		a := connector.Account{ID: x.name, Name: cmp.Or(x.comment, x.name)}
		if x.validUntil.Valid {
			switch x.validUntil.InfinityModifier {
			case pgtype.NegativeInfinity:
				a.Disabled = true
			case pgtype.Finite:
				a.Disabled = x.validUntil.Time.Before(now)
				a.Attributes = map[string]string{"valid_until": x.validUntil.Time.UTC().Format(time.RFC3339)}
			}
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	for _, m := range members {
		id, ok := entitlementOf[m.role]
		if ok && isAccount[m.member] {
			snap.Grants = append(snap.Grants, connector.Grant{Account: m.member, Entitlement: id})
		}
	}
	connector.SortSnapshot(snap)
	return snap, nil
}

// Grant makes the subject's login role a member of the entitlement's role.
func (r *Roles) Grant(ctx context.Context, who connector.Subject, entitlement string) error {
	return r.change(ctx, who, entitlement, true)
}

// Revoke removes the subject's login role from the entitlement's role.
func (r *Roles) Revoke(ctx context.Context, who connector.Subject, entitlement string) error {
	return r.change(ctx, who, entitlement, false)
}

func (r *Roles) change(ctx context.Context, who connector.Subject, entitlement string, grant bool) error {
	switch who.MatchBy {
	case connector.MatchByID, "":
	case connector.MatchByEmail:
		return connector.Permanent(errors.New("match_by email cannot work for a postgres connector: PostgreSQL roles have no email address; use match_by: id"))
	default:
		return connector.Permanent(fmt.Errorf("unknown match_by %q (want id)", who.MatchBy))
	}

	s, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer s.close()

	d, err := r.readDirectory(ctx, s.conn)
	if err != nil {
		return s.fail(err, "list roles")
	}
	ent, ok := d.entitlements[entitlement]
	if !ok {
		return connector.Permanent(fmt.Errorf("entitlement %q: no such NOLOGIN role (among roles matching role_pattern %q, not built-in, superuser or excluded)", entitlement, r.rolePattern))
	}
	member, err := findAccount(d.accounts, who.ID)
	if err != nil {
		return err
	}
	if member == "" {
		if !grant {
			return nil
		}
		return connector.Permanent(fmt.Errorf("user %q: no LOGIN role matching account_pattern %q: %w", who.ID, r.accountPattern, connector.ErrNoAccount))
	}

	roleIdent := pgx.Identifier{ent.name}.Sanitize()
	memberIdent := pgx.Identifier{member}.Sanitize()
	if grant {
		if _, err := s.conn.Exec(ctx, "GRANT "+roleIdent+" TO "+memberIdent); err != nil {
			return s.fail(err, fmt.Sprintf("grant role %q to %q", ent.name, member))
		}
		return nil
	}
	if _, err := s.conn.Exec(ctx, "REVOKE "+roleIdent+" FROM "+memberIdent); err != nil {
		return s.fail(err, fmt.Sprintf("revoke role %q from %q", ent.name, member))
	}
	// PostgreSQL 16 and later revoke only the grants made by the current
	// role; a membership another role granted stays.
	rows, err := s.conn.Query(ctx, `
SELECT DISTINCT gr.rolname::text
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
LEFT JOIN pg_catalog.pg_roles gr ON gr.oid = am.grantor
WHERE g.rolname = $1 AND m.rolname = $2
ORDER BY 1`, ent.name, member)
	if err != nil {
		return s.fail(err, fmt.Sprintf("check role %q membership of %q", ent.name, member))
	}
	grantors, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.Text])
	if err != nil {
		return s.fail(err, fmt.Sprintf("check role %q membership of %q", ent.name, member))
	}
	if len(grantors) > 0 {
		names := make([]string, len(grantors))
		for i, g := range grantors {
			names[i] = cmp.Or(g.String, "(unknown)")
		}
		return connector.Permanent(fmt.Errorf("revoke role %q from %q: the membership remains, granted by %s; the connector's role can only revoke its own grants",
			ent.name, member, strings.Join(names, ", ")))
	}
	return nil
}

// findAccount returns the login role whose name is id or, failing that, the
// only one whose connector.UserID is id; "" when there is none.
func findAccount(accounts []role, id string) (string, error) {
	var matches []string
	for _, a := range accounts {
		if a.name == id {
			return a.name, nil
		}
		if connector.UserID(a.name) == id {
			matches = append(matches, a.name)
		}
	}
	switch len(matches) {
	case 0:
		return "", nil
	case 1:
		return matches[0], nil
	}
	return "", connector.Permanent(fmt.Errorf("user %q: several LOGIN roles match (%s); rename or exclude all but one", id, strings.Join(matches, ", ")))
}

// session is one connection, with the secrets its errors must not show.
type session struct {
	conn    *pgx.Conn
	secrets []string
}

func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.conn.Close(ctx)
}

// fail describes err from what, redacted, and marks it permanent when
// retrying cannot help.
func (s *session) fail(err error, what string) error {
	return classify(redact(fmt.Errorf("postgres: %s: %w", what, err), s.secrets), err)
}

// connect reads the DSN and opens a connection.
func (r *Roles) connect(ctx context.Context) (*session, error) {
	dsn, err := r.access.Secret(r.settings, "dsn")
	if err != nil {
		return nil, connector.Permanent(err) // names the variable or file only
	}
	secrets := append([]string{dsn}, dsnSecrets(dsn)...)
	cfg, err := pgx.ParseConfigWithOptions(dsn, pgx.ParseConfigOptions{ParseConfigOptions: pgconn.ParseConfigOptions{ConnStringAllowedKeys: dsnKeys}})
	if err != nil {
		if m := disallowedKey.FindStringSubmatch(err.Error()); m != nil {
			return nil, connector.Permanent(fmt.Errorf("%s: the connection string may not set %s: it would make the connector read a file on the server", r.dsnSource(), m[1]))
		}
		return nil, connector.Permanent(redact(fmt.Errorf("%s: cannot parse the connection string: %s", r.dsnSource(), parseProblem(err)), secrets))
	}
	if cfg.Password != "" {
		// A password the connection string does not give came from the
		// server's own environment: PGPASSWORD, or a passfile.
		withoutPassword := slices.DeleteFunc(slices.Clone(dsnKeys), func(k string) bool { return k == "password" })
		if _, err := pgconn.ParseConfigWithOptions(dsn, pgconn.ParseConfigOptions{ConnStringAllowedKeys: withoutPassword}); err == nil {
			return nil, connector.Permanent(fmt.Errorf("%s: the connection string has no password, and the server's environment would give one (PGPASSWORD or a passfile): give the password in the connection string", r.dsnSource()))
		}
		secrets = append(secrets, cfg.Password)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	log, id := r.log, r.id
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		log.Debug("postgres notice", "connector", id, "severity", n.Severity, "message", redactString(n.Message, secrets))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, classify(redact(fmt.Errorf("postgres: connect: %w", err), secrets), err)
	}
	return &session{conn: conn, secrets: secrets}, nil
}

// dsnKeys are the keys a connection string may set. Left out are those
// that make the driver read a file on the server (passfile, service and
// servicefile, sslcert, sslkey, sslrootcert): the DSN is written by whoever
// applies the declarative file, not by the server's operator.
var dsnKeys = []string{
	"host", "hostaddr", "port", "dbname", "database", "user", "password", "connect_timeout",
	"application_name", "sslmode", "ssl", "sslsni", "sslnegotiation", "target_session_attrs",
	"options", "channel_binding", "require_auth", "min_protocol_version", "max_protocol_version",
	"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode",
}

// disallowedKey finds the key in pgconn's error for a key not in dsnKeys.
var disallowedKey = regexp.MustCompile(`connection string key "([^"]+)" is not in ConnStringAllowedKeys`)

// dsnSource names the setting the DSN came from, for errors.
func (r *Roles) dsnSource() string {
	if v := r.settings.String("dsn_env", ""); v != "" {
		return "settings.dsn_env (" + v + ")"
	}
	return "settings.dsn_file (" + r.settings.String("dsn_file", "") + ")"
}

// parseProblem returns what is wrong with a connection string without the
// string itself: pgx masks passwords in it only on a best-effort basis.
func parseProblem(err error) string {
	msg := err.Error()
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			return msg[i+3:]
		}
		return "invalid syntax"
	}
	return msg
}

// classify marks err permanent when cause is a PostgreSQL error that retrying
// cannot fix: a rejected login, a missing database, a missing privilege, an
// unknown role or an invalid grant.
func classify(err, cause error) error {
	var pe *pgconn.PgError
	if !errors.As(cause, &pe) {
		return err
	}
	switch {
	case strings.HasPrefix(pe.Code, "28"), // invalid authorization
		pe.Code == "3D000",               // invalid catalog name (database)
		strings.HasPrefix(pe.Code, "42"), // privilege, undefined object, syntax
		strings.HasPrefix(pe.Code, "0L"), // invalid grantor
		strings.HasPrefix(pe.Code, "0P"): // invalid role specification
		return connector.Permanent(err)
	}
	return err
}

// keywordSecret finds password and sslpassword values in a keyword DSN.
var keywordSecret = regexp.MustCompile(`(?:^|\s)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// dsnSecrets returns the passwords written in dsn, in the forms an error
// could show them, whether or not dsn parses.
func dsnSecrets(dsn string) []string {
	var raw []string
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if pw, ok := u.User.Password(); ok {
			raw = append(raw, pw)
		}
		q := u.Query()
		raw = append(raw, q["password"]...)
		raw = append(raw, q["sslpassword"]...)
	}
	for _, m := range keywordSecret.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			v = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v[1 : len(v)-1])
		}
		raw = append(raw, v)
	}
	// A URL that does not parse may still hold user:password@.
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				raw = append(raw, pw)
				if dec, err := url.PathUnescape(pw); err == nil {
					raw = append(raw, dec)
				}
			}
		}
	}
	var out []string
	for _, pw := range raw {
		if pw == "" {
			continue
		}
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// redact returns err unchanged when its message shows none of secrets, and
// otherwise a new error with the secrets masked (dropping the chain, which
// would still show them).
func redact(err error, secrets []string) error {
	msg := err.Error()
	clean := redactString(msg, secrets)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func redactString(s string, secrets []string) string {
	// Longest first, so a secret containing another is masked whole.
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}
