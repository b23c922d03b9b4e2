// Package connector defines how Roster talks to the systems that hold access:
// a connector reads the people, entitlements and grants a system knows
// (Sync), and carries out grants and revocations there (Grant, Revoke).
//
// Connector types live in subpackages (ldap, pgroles, scim, csv) and register
// themselves with Register; package connector/all imports every built-in type.
// The engine owns everything else: matching accounts to users, turning a
// snapshot into grant changes, the delete threshold, retries and task states.
//
// Open is where the rules every type shares are kept: settings may name only
// the environment variables and files Access allows; each call has a
// deadline (sync_timeout, provision_timeout: CommonSettings), so one stuck
// system cannot hold up the others; and every error is cut to
// MaxErrorLength characters without control characters, since errors from
// outside systems reach the connector's status, the audit log, the logs and
// Slack.
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Account is a person as a system knows them.
type Account struct {
	// ID is the account's key in the system, in the namespace users are
	// matched by when the connector's match_by is "id" (an LDAP uid, a
	// PostgreSQL role name, a SCIM userName, an HR employee id).
	ID    string
	Email string
	Name  string
	// Manager is the manager's account ID (not a DN or a SCIM id), or empty.
	Manager    string
	Department string
	Title      string
	Location   string
	// EmploymentType is as the system says it ("employee", "contractor").
	EmploymentType string
	// StartDate and EndDate are civil dates, "YYYY-MM-DD", or empty.
	StartDate string
	EndDate   string
	// Disabled is true when the system says the person has left or is
	// locked out (an LDAP disabled filter, SCIM active=false, an HR status).
	Disabled   bool
	Attributes map[string]string
}

// Entitlement is one grantable permission the system has, by its local id
// (the part after "APP/" in Roster).
type Entitlement struct {
	ID   string
	Name string
}

// Grant says the account with ID Account holds the entitlement with local id
// Entitlement.
type Grant struct {
	Account     string
	Entitlement string
}

// Snapshot is everything a system reported in one sync.
type Snapshot struct {
	Accounts     []Account
	Entitlements []Entitlement
	Grants       []Grant
}

// Subject names the person a grant or revocation is for. The connector finds
// their account by ID when match_by is "id" and by Email when it is "email".
type Subject struct {
	ID      string
	Email   string
	MatchBy string
}

// Key is the value a subject's account is found by.
func (s Subject) Key() string {
	if s.MatchBy == MatchByEmail {
		return s.Email
	}
	return s.ID
}

// How accounts map to users.
const (
	MatchByID    = "id"
	MatchByEmail = "email"
)

// Connector is one configured connection to a system.
//
// Grant and Revoke are idempotent: granting what is already there, or
// revoking what is already gone, succeeds. Errors must never contain a
// secret. An error wrapped with Permanent is not retried.
type Connector interface {
	Sync(ctx context.Context) (*Snapshot, error)
	Grant(ctx context.Context, who Subject, entitlement string) error
	Revoke(ctx context.Context, who Subject, entitlement string) error
	Close() error
}

// Config is what a connector type is opened with.
type Config struct {
	ID       string
	App      string
	Settings Settings
	// Now is the clock (HR start and end dates are read against it).
	Now    func() time.Time
	Logger *slog.Logger
	// Access says which environment variables and files the settings may
	// name; the zero value allows variables with DefaultSecretEnvPrefix and
	// no files.
	Access Access
}

// OpenFunc validates cfg and returns a connector. It must not contact the
// system (the declarative file is checked with it) and must not read
// secrets yet: those are read when the connector first needs them, so that
// a file can be applied before its environment is set.
type OpenFunc func(cfg Config) (Connector, error)

var (
	mu    sync.RWMutex
	types = map[string]OpenFunc{}
)

// Register makes a connector type available under name.
func Register(name string, open OpenFunc) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := types[name]; dup {
		panic("connector: type " + name + " registered twice")
	}
	types[name] = open
}

// Types lists the registered type names, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens a connector of the named type, checks that its settings name
// only what cfg.Access allows, and returns it wrapped: each call runs with
// the deadline sync_timeout or provision_timeout gives (CommonSettings), and
// every error, Open's own included, is cut to MaxErrorLength characters
// without control characters, since errors from outside systems reach the
// connector's status, the audit log, the server's log and Slack.
func Open(typ string, cfg Config) (Connector, error) {
	mu.RLock()
	open, ok := types[typ]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown connector type %q (known: %v)", typ, Types())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Settings == nil {
		cfg.Settings = Settings{}
	}
	conn, err := open(cfg)
	if err != nil {
		return nil, Cut(err)
	}
	b := &bounded{conn: conn}
	err = cfg.Access.CheckSettings(cfg.Settings)
	if err == nil {
		b.syncTimeout, err = timeoutSetting(cfg.Settings, "sync_timeout", DefaultSyncTimeout)
	}
	if err == nil {
		b.provisionTimeout, err = timeoutSetting(cfg.Settings, "provision_timeout", DefaultProvisionTimeout)
	}
	if err != nil {
		conn.Close()
		return nil, Cut(err)
	}
	return b, nil
}

// The time limits of one call when the settings give none.
const (
	DefaultSyncTimeout      = 2 * time.Minute
	DefaultProvisionTimeout = 30 * time.Second
)

// CommonSettings are the settings every connector type accepts besides its
// own: sync_timeout bounds one Sync (default DefaultSyncTimeout) and
// provision_timeout one Grant or Revoke (default DefaultProvisionTimeout).
var CommonSettings = []string{"sync_timeout", "provision_timeout"}

func timeoutSetting(s Settings, key string, def time.Duration) (time.Duration, error) {
	d, err := s.Duration(key, def)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("settings.%s: must be more than 0", key)
	}
	return d, nil
}

// bounded is an opened connector whose calls have a deadline and whose
// errors are cut. A call that outlives its deadline is abandoned: the
// caller gets an error at once (so one stuck system does not hold up the
// others), and until the abandoned call returns, the connector refuses
// new calls rather than pile them up behind it.
type bounded struct {
	conn                          Connector
	syncTimeout, provisionTimeout time.Duration

	mu        sync.Mutex
	abandoned string // the call abandoned and not yet returned, or ""
}

func (b *bounded) Sync(ctx context.Context) (*Snapshot, error) {
	var snap *Snapshot
	err := b.call(ctx, "sync", "sync_timeout", b.syncTimeout, func(ctx context.Context) (err error) {
		snap, err = b.conn.Sync(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

func (b *bounded) Grant(ctx context.Context, who Subject, entitlement string) error {
	return b.call(ctx, "grant", "provision_timeout", b.provisionTimeout, func(ctx context.Context) error {
		return b.conn.Grant(ctx, who, entitlement)
	})
}

func (b *bounded) Revoke(ctx context.Context, who Subject, entitlement string) error {
	return b.call(ctx, "revoke", "provision_timeout", b.provisionTimeout, func(ctx context.Context) error {
		return b.conn.Revoke(ctx, who, entitlement)
	})
}

func (b *bounded) Close() error { return Cut(b.conn.Close()) }

// call runs fn with a deadline of limit, in a goroutine so that a call
// stuck where its context cannot reach it is abandoned at the deadline.
func (b *bounded) call(ctx context.Context, what, setting string, limit time.Duration, fn func(context.Context) error) error {
	b.mu.Lock()
	abandoned := b.abandoned
	b.mu.Unlock()
	if abandoned != "" {
		return fmt.Errorf("a %s abandoned after its time limit has not returned yet: the system may be stuck", abandoned)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- fn(ctx)
	}()
	// returned is the call's error, said to be the deadline's when the
	// deadline ended it.
	returned := func(err error) error {
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !IsPermanent(err) {
			err = fmt.Errorf("the %s did not finish within %s (settings.%s): %w", what, limit, setting, err)
		}
		return Cut(err)
	}
	select {
	case err := <-done:
		return returned(err)
	case <-ctx.Done():
	}
	select {
	case err := <-done: // it returned just then
		return returned(err)
	default:
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err() // the caller gave up
	}
	b.mu.Lock()
	b.abandoned = what
	b.mu.Unlock()
	go func() {
		<-done
		b.mu.Lock()
		b.abandoned = ""
		b.mu.Unlock()
	}()
	return fmt.Errorf("the %s did not finish within %s (settings.%s): %w", what, limit, setting, context.DeadlineExceeded)
}

// MaxErrorLength is how many characters of a connector's error are kept.
const MaxErrorLength = 500

// cutError is an error whose message was cut; it unwraps to the original,
// so Permanent and ErrNoAccount are still seen.
type cutError struct {
	msg string
	err error
}

func (e *cutError) Error() string { return e.msg }
func (e *cutError) Unwrap() error { return e.err }

// Cut returns err, an error from an outside system, with its message made
// safe to keep and show: control characters (new lines, terminal escapes)
// replaced by spaces, runs of spaces made one, invisible format characters
// and invalid UTF-8 dropped, and at most MaxErrorLength characters, the
// last an ellipsis when it was cut. The notifier cuts delivery errors with
// it too.
func Cut(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(msg, "") {
		if unicode.Is(unicode.Cf, r) { // invisible: bidi overrides, zero widths
			continue
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			if space {
				continue
			}
			r, space = ' ', true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out) > MaxErrorLength {
		runes := []rune(out)
		out = strings.TrimSpace(string(runes[:MaxErrorLength-1])) + "…"
	}
	if out == msg {
		return err
	}
	return &cutError{msg: out, err: err}
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the engine fails the task at once instead of
// retrying (for example: the entitlement does not exist in the system).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// ErrNoAccount is returned (wrapped) by Grant and Revoke when the subject has
// no account in the system. Revoke of a missing account succeeds instead.
var ErrNoAccount = errors.New("no account in the system")

// SortSnapshot orders a snapshot's lists so that two snapshots of the same
// state compare equal; connectors may return them in any order.
func SortSnapshot(s *Snapshot) {
	slices.SortFunc(s.Accounts, func(a, b Account) int { return compare(a.ID, b.ID) })
	slices.SortFunc(s.Entitlements, func(a, b Entitlement) int { return compare(a.ID, b.ID) })
	slices.SortFunc(s.Grants, func(a, b Grant) int {
		if c := compare(a.Entitlement, b.Entitlement); c != 0 {
			return c
		}
		return compare(a.Account, b.Account)
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// EntitlementID turns a system's name for a permission (an LDAP group's cn, a
// SCIM group's displayName, a role name) into a valid Roster entitlement
// local id: letters, digits, '.', '_' and '-', starting with a letter or
// digit. Other characters become '-'. A name that is already valid is
// returned unchanged, so connectors can look the system's name up directly
// and fall back to comparing EntitlementID of each name.
func EntitlementID(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// UserID turns an account's key into a valid Roster user id: lower case
// letters, digits, '_' and '-', starting with a letter or digit; other
// characters (such as '.' or '@') become '-'. The engine applies it to
// Account.ID and Account.Manager when users are matched by id.
func UserID(key string) string {
	b := []byte(strings.ToLower(key))
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}
