// Package server wires Roster together: it opens the store, bootstraps the
// tenant, loads the demo organisation when asked, and runs the HTTP API and
// the engine's background workers until it is closed. `roster serve` and the
// end-to-end tests both start Roster through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/connector"
	_ "github.com/rosterhq/roster/connector/all" // every built-in connector type
	"github.com/rosterhq/roster/demo"
	"github.com/rosterhq/roster/engine"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/internal/gctune"
	"github.com/rosterhq/roster/internal/mailcatch"
	"github.com/rosterhq/roster/internal/throttle"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/sqlite"
	"github.com/rosterhq/roster/ui"
	"golang.org/x/net/netutil"
)

// Config configures a server.
type Config struct {
	// DB is a SQLite file path, or a postgres:// (postgresql://) URL.
	DB string
	// Addr is the address to listen on; port 0 picks a free port.
	Addr string
	// Demo loads the demo organisation into an empty database.
	Demo bool
	// BootstrapToken becomes the admin's API token on an empty database.
	BootstrapToken string
	// SessionKey signs the web console's sign-in form, flash messages and
	// SSO flow; replicas behind one load balancer should share it. Empty: a
	// random key per process. Sessions themselves live in the database.
	SessionKey []byte
	// SessionIdle ends a console session unused this long (roster serve
	// --session-idle); zero is engine.DefaultSessionIdle.
	SessionIdle time.Duration
	// SyncChunk bounds the work one transaction of a sync does (roster serve
	// --sync-chunk); zero is engine.DefaultSyncChunk.
	SyncChunk int
	// SecureCookies marks the console's cookies Secure, for serving behind TLS.
	SecureCookies bool
	// BaseURL is the address people open the console at, such as
	// https://roster.example.com (roster serve --base-url): single sign-on's
	// redirect URI is BaseURL + "/auth/oidc/callback".
	BaseURL string
	// SlackAPIURL is where Slack's Web API is (default
	// engine.DefaultSlackAPIURL); tests point it at their own server.
	SlackAPIURL string
	// OIDCIssuer, when set, signs people in to the console through that
	// OpenID Connect provider, as the client OIDCClientID with the secret
	// OIDCClientSecret; BaseURL is then required.
	OIDCIssuer, OIDCClientID, OIDCClientSecret string
	// NoMigrate leaves a PostgreSQL schema as it is and refuses to start
	// when it is behind (run `roster migrate` first). SQLite always migrates.
	NoMigrate bool
	// Clock defaults to the wall clock.
	Clock roster.Clock
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Out receives the few lines a person starting the server needs (the
	// generated admin token, the demo's tokens). Defaults to io.Discard.
	Out io.Writer
	// SchedulerTick (also the reminders') and NotifierTick say how often background work looks for
	// due work (defaults 30s and 5s); a negative value disables it, as the
	// tests do to drive it by hand.
	SchedulerTick time.Duration
	NotifierTick  time.Duration
	// ChangeTick is how often the change-driven sync looks for profiles that
	// changes have marked (default 100ms; negative disables it).
	ChangeTick time.Duration
	// ConnectorTick is how often connectors are checked for a due sync
	// (default 15s); ProvisionTick how often tasks waiting for a connector
	// are looked for besides the wake-up a new one gives (default 1s).
	// Negative disables either.
	ConnectorTick, ProvisionTick time.Duration
	// HTTP bounds how long a client may take and how many connections the
	// server holds; zero fields take DefaultHTTPLimits' values.
	HTTP HTTPLimits
	// MetricsAddr, when set, serves GET /metrics without a token on an
	// address of its own (for the Prometheus scraper, on a network only it
	// reaches); the main address then does not serve them. Unset: the main
	// address serves them to admins' and auditors' tokens.
	MetricsAddr string
	// ConnectorAccess says which environment variables and files
	// connectors' settings may name (roster serve --secret-env-prefix,
	// --secrets-dir, --data-dir).
	ConnectorAccess connector.Access
}

// HTTPLimits bound what clients may hold of the server: slow or idle clients
// are cut off, so that a few of them cannot keep its connections forever.
type HTTPLimits struct {
	// ReadHeader is how long a client may take to send a request's headers,
	// Read its whole request, and Write how long answering it may take.
	ReadHeader, Read, Write time.Duration
	// Apply replaces Read and Write for an admin's declarative file, which
	// may be large and take long to apply.
	Apply time.Duration
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle time.Duration
	// MaxConns is how many connections are served at once; more wait to be
	// accepted.
	MaxConns int
}

// DefaultHTTPLimits are the limits of `roster serve`.
var DefaultHTTPLimits = HTTPLimits{
	ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 5 * time.Minute,
	Apply: 15 * time.Minute, Idle: 60 * time.Second, MaxConns: 1024,
}

// withDefaults fills the zero fields of l from DefaultHTTPLimits.
func (l HTTPLimits) withDefaults() HTTPLimits {
	d := DefaultHTTPLimits
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&l.ReadHeader, d.ReadHeader}, {&l.Read, d.Read}, {&l.Write, d.Write}, {&l.Apply, d.Apply}, {&l.Idle, d.Idle}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if l.MaxConns == 0 {
		l.MaxConns = d.MaxConns
	}
	return l
}

// Server is a running Roster.
type Server struct {
	Engine    *engine.Engine
	Scheduler *engine.Scheduler
	Notifier  *engine.Notifier
	Changes   *engine.ChangeSync
	// Reminders reminds and escalates approval steps that wait too long
	// (settings.notifications); it runs on the scheduler's tick.
	Reminders *engine.Reminders
	// Delegations ends delegations whose time is over; it runs on the
	// scheduler's tick.
	Delegations *engine.DelegationExpiry
	// Connectors syncs connectors on their interval; Provisioner carries out
	// tasks through them.
	Connectors  *engine.ConnectorScheduler
	Provisioner *engine.Provisioner
	// Sealer chains the audit events a PostgreSQL store queues (it does
	// nothing on SQLite), every sealTick and after each commit.
	Sealer *engine.Sealer
	// URL is the base URL the API listens on.
	URL string
	// MetricsURL is the base URL of the metrics' own address, when
	// Config.MetricsAddr is set.
	MetricsURL string
	metrics    *http.Server
	metricsErr chan error

	// Mail is the demo's mail catcher (roster serve --demo): the demo
	// organisation's email goes to it, and /demo/mail shows what it caught.
	// Nil without --demo.
	Mail *mailcatch.Server

	// workers are the background workers above, started in this order and
	// stopped in the reverse.
	workers []worker

	store  roster.Store
	logger *slog.Logger
	http   *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	served chan error

	closeOnce sync.Once
	closeErr  error
}

// worker is background work the server runs until it closes.
type worker interface {
	Start(context.Context)
	Stop()
}

// DemoTokenPrefix prefixes the well-known API tokens of the demo
// organisation's users ("demo-carol"). They exist only with --demo.
const DemoTokenPrefix = "demo-"

// sealTick is how often the Sealer seals when no commit of this replica
// woke it: it seals what other replicas queued and did not seal yet.
const sealTick = time.Second

// gcHeadroom is what the server lets its heap grow by between two
// collections, unless GOGC is set (gctune): the collection after a
// decision's allocations comes every 128 MiB, not every time the heap
// doubles its few tens of MB, while a sync or apply whose live heap is
// larger collects as GOGC=100 would.
const gcHeadroom = 128 << 20

// Start opens the database and starts serving.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if os.Getenv("GOGC") == "" {
		gctune.Start(gcHeadroom)
	}
	if cfg.Clock == nil {
		cfg.Clock = roster.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.DB == "" {
		cfg.DB = "roster.db"
	}
	if cfg.SchedulerTick == 0 {
		cfg.SchedulerTick = 30 * time.Second
	}
	if cfg.NotifierTick == 0 {
		cfg.NotifierTick = 5 * time.Second
	}
	if cfg.ConnectorTick == 0 {
		cfg.ConnectorTick = 15 * time.Second
	}
	if cfg.ProvisionTick == 0 {
		cfg.ProvisionTick = time.Second
	}
	if cfg.ChangeTick == 0 {
		cfg.ChangeTick = 100 * time.Millisecond
	}
	access, err := connectorAccess(cfg.ConnectorAccess)
	if err != nil {
		return nil, err
	}
	cfg.ConnectorAccess = access
	store, err := openStore(ctx, cfg.DB, cfg.NoMigrate)
	if err != nil {
		return nil, err
	}
	s := &Server{store: store, logger: cfg.Logger, served: make(chan error, 1)}
	if err := s.start(ctx, cfg); err != nil {
		if s.Mail != nil {
			s.Mail.Stop()
		}
		store.Close()
		return nil, err
	}
	return s, nil
}

// OwnVariables are the environment variables the roster command reads for
// itself. No connector may read them, so --secret-env-prefix must not be a
// prefix of any.
var OwnVariables = []string{"ROSTER_SESSION_KEY", "ROSTER_BOOTSTRAP_TOKEN", "ROSTER_SECURE_COOKIES",
	"ROSTER_SERVER", "ROSTER_TOKEN", "ROSTER_FAILPOINT"}

// connectorAccess checks what connectors may reach and makes its
// directories absolute.
func connectorAccess(a connector.Access) (connector.Access, error) {
	a, err := a.Resolve()
	if err != nil {
		return a, err
	}
	for _, v := range OwnVariables {
		if strings.HasPrefix(v, a.EnvPrefix) {
			return a, fmt.Errorf("--secret-env-prefix %s would let connectors read %s, the server's own: choose a longer prefix such as %s", a.EnvPrefix, v, connector.DefaultSecretEnvPrefix)
		}
	}
	return a, nil
}

// isPostgres reports whether db names a PostgreSQL database rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func migratePostgres(ctx context.Context, url string) (string, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return "", fmt.Errorf("open PostgreSQL database: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return "", fmt.Errorf("migrate PostgreSQL database: %w", err)
	}
	applied, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL database: schema at version %d of %d", applied, latest), nil
}

// openStore opens the database db names and brings its schema up to date,
// or, with noMigrate, refuses a schema that is behind this build.
func openStore(ctx context.Context, db string, noMigrate bool) (roster.Store, error) {
	if !isPostgres(db) {
		store, err := sqlite.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", db, err)
		}
		return store, nil
	}
	store, err := postgres.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL database: %w", err)
	}
	if !noMigrate {
		err = store.Migrate(ctx)
	} else if applied, latest, verr := store.SchemaVersion(ctx); verr != nil {
		err = verr
	} else if applied < latest {
		err = roster.Errorf(roster.EINVALID, "the database schema is at version %d and this roster needs %d: run roster migrate first", applied, latest)
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

func (s *Server) start(ctx context.Context, cfg Config) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Engine = engine.New(engine.Config{Store: s.store, Clock: cfg.Clock, Logger: cfg.Logger, Registry: reg,
		ConnectorAccess: cfg.ConnectorAccess, BaseURL: cfg.BaseURL, SlackAPIURL: cfg.SlackAPIURL, SessionIdle: cfg.SessionIdle,
		SyncChunk: cfg.SyncChunk})

	token := cfg.BootstrapToken
	if token == "" && cfg.Demo {
		token = DemoTokenPrefix + roster.AdminUser
	}
	issued, err := s.Engine.Bootstrap(ctx, token)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if issued != "" && cfg.BootstrapToken == "" && !cfg.Demo {
		fmt.Fprintf(cfg.Out, "New database: the admin's API token is %s (shown once; or set ROSTER_BOOTSTRAP_TOKEN)\n", issued)
	}
	if cfg.Demo {
		// Mail first: the enrollments the demo starts are mailed too.
		if err := s.catchDemoMail(ctx, cfg.Out); err != nil {
			return fmt.Errorf("the demo's mail catcher: %w", err)
		}
		if err := s.loadDemo(ctx, cfg.Out); err != nil {
			return fmt.Errorf("load the demo organisation: %w", err)
		}
	}

	limits := cfg.HTTP.withDefaults()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	ln = netutil.LimitListener(ln, limits.MaxConns)
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	var ready atomic.Bool
	// One count of failed sign-ins for the API and the console.
	failures := throttle.New(0, 0, nil)
	api := rosterhttp.NewServer(rosterhttp.ServerConfig{
		Failures:     failures,
		Service:      s.Engine,
		Authenticate: s.Engine.Authenticate,
		Ready:        ready.Load,
		Registry:     reg,
		Logger:       cfg.Logger,
		ApplyTimeout: limits.Apply,

		MetricsElsewhere: cfg.MetricsAddr != "",
	})
	var sso *ui.SSOConfig
	if cfg.OIDCIssuer != "" {
		base := strings.TrimSuffix(cfg.BaseURL, "/")
		if u, perr := url.Parse(base); base == "" || perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			ln.Close()
			return fmt.Errorf("single sign-on needs the console's address: --base-url (ROSTER_BASE_URL) as https://HOST[:PORT], where the console is served at /, not %q", cfg.BaseURL)
		}
		sso = &ui.SSOConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: base + "/auth/oidc/callback", SignIn: s.Engine.SignIn}
		cfg.Logger.Info("console: sign in with SSO", "issuer", sso.Issuer, "client_id", sso.ClientID, "redirect_uri", sso.RedirectURL)
	}
	console, err := ui.New(ui.Config{
		Service:    s.Engine,
		Sessions:   s.Engine,
		SessionKey: cfg.SessionKey,
		Secure:     cfg.SecureCookies,
		Logger:     cfg.Logger,
		Failures:   failures,
		SSO:        sso,
		DemoMail:   demoMailbox(s.Mail),
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("web console: %w", err)
	}
	mux := http.NewServeMux()
	for _, path := range []string{"/api/", "/healthz", "/metrics"} {
		mux.Handle(path, api.Handler())
	}
	mux.Handle("/", console.Handler())
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: limits.ReadHeader, ReadTimeout: limits.Read,
		WriteTimeout: limits.Write, IdleTimeout: limits.Idle}

	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.Scheduler = engine.NewScheduler(s.Engine, cfg.SchedulerTick)
	s.Notifier = engine.NewNotifier(s.Engine, cfg.NotifierTick)
	s.Reminders = engine.NewReminders(s.Engine, cfg.SchedulerTick)
	s.Delegations = engine.NewDelegationExpiry(s.Engine, cfg.SchedulerTick)
	s.Changes = engine.NewChangeSync(s.Engine, cfg.ChangeTick)
	s.Connectors = engine.NewConnectorScheduler(s.Engine, cfg.ConnectorTick)
	s.Provisioner = engine.NewProvisioner(s.Engine, cfg.ProvisionTick)
	s.Sealer = engine.NewSealer(s.Engine, sealTick)
	s.workers = []worker{s.Sealer, s.Scheduler, s.Notifier, s.Reminders, s.Delegations, s.Changes, s.Connectors, s.Provisioner}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for the metrics: %w", cfg.MetricsAddr, err)
		}
		s.MetricsURL = "http://" + mln.Addr().String()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", api.MetricsHandler())
		s.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: limits.ReadHeader, ReadTimeout: limits.Read,
			WriteTimeout: limits.Write, IdleTimeout: limits.Idle}
		s.metricsErr = make(chan error, 1)
		go func() { s.metricsErr <- s.metrics.Serve(mln) }()
	}
	// The workers start once nothing is left to fail; one whose tick is
	// negative does not start: the tests drive it.
	for _, w := range s.workers {
		w.Start(bg)
	}
	go func() { s.served <- s.http.Serve(ln) }()
	ready.Store(true)
	cfg.Logger.Info("roster is serving", "url", s.URL, "db", cfg.DB)
	return nil
}

// catchDemoMail starts the demo's mail catcher on a free port of 127.0.0.1
// and points the demo organisation's email at it; the port is new at every
// start, so the settings are applied at every start.
func (s *Server) catchDemoMail(ctx context.Context, out io.Writer) error {
	c, err := mailcatch.Start("127.0.0.1:0", mailcatch.Keep(500))
	if err != nil {
		return err
	}
	s.Mail = c
	doc := fmt.Sprintf("settings:\n  notifications:\n    email: {smtp_host: %s, smtp_port: %d, from: roster@demo.example}\n", c.Host, c.Port)
	admin := roster.NewContext(ctx, roster.AdminUser)
	if _, err := s.Engine.Apply(admin, roster.ApplyRequest{Filename: "demo-mail.yaml", Document: []byte(doc)}); err != nil {
		return err
	}
	fmt.Fprintf(out, "Demo: emails go to a mail catcher on %s; read them at /demo/mail.\n", c.Addr)
	return nil
}

// demoMailbox is the console's view of the mail catcher: nil without one.
func demoMailbox(c *mailcatch.Server) ui.DemoMailbox {
	if c == nil {
		return nil
	}
	return c
}

// loadDemo applies the demo organisation to a database that has nothing but
// the built-in admin, gives every demo user the token demo-<id>, and syncs.
func (s *Server) loadDemo(ctx context.Context, out io.Writer) error {
	admin := roster.NewContext(ctx, roster.AdminUser)
	users, err := s.Engine.Users(admin, roster.UserFilter{Limit: 2})
	if err != nil {
		return err
	}
	if len(users.Items) > 1 {
		fmt.Fprintln(out, "Demo: the database already has an organisation; leaving it as it is.")
		return nil
	}
	if _, err := s.Engine.Apply(admin, roster.ApplyRequest{Filename: "demo.yaml", Document: demo.Document()}); err != nil {
		return err
	}
	all, err := s.Engine.Users(admin, roster.UserFilter{Limit: roster.MaxPageSize})
	if err != nil {
		return err
	}
	for _, u := range all.Items {
		if u.ID == roster.AdminUser {
			continue
		}
		if err := s.Engine.IssueToken(ctx, u.ID, DemoTokenPrefix+u.ID, "demo"); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Demo organisation loaded: %d users. Every demo user's API token is demo-<user id> (the admin's: demo-admin).\n", len(all.Items))
	return nil
}

// Close stops background work and the HTTP server, and closes the store.
// Closing twice is harmless.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	for i := len(s.workers) - 1; i >= 0; i-- {
		s.workers[i].Stop()
	}
	s.cancel()
	// Chain the audit events this replica's last commits queued, rather
	// than leave them to the next reader.
	s.Sealer.RunOnce(ctx) // logs its failure
	// Hand the leases over now: a replica that takes over, or this server
	// started again, need not wait for them to expire. A crashed server's
	// expire after engine.LeaseTTL.
	if err := s.Engine.ReleaseLeases(ctx); err != nil {
		s.logger.Warn("could not release the leases: they hand over when they expire", "error", err)
	}
	s.Engine.Close()
	if s.Mail != nil {
		s.Mail.Stop()
	}
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if s.metrics != nil {
		if merr := s.metrics.Shutdown(ctx); merr != nil && err == nil {
			err = merr
		}
		if serr := <-s.metricsErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// Run starts a server and serves until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "Roster is serving on %s (database %s)\n", s.URL, cfg.DB)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Close(shutdown)
}
