package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// MinBootstrapTokenLength is the shortest ROSTER_BOOTSTRAP_TOKEN `roster
// serve` accepts: 32 hexadecimal characters are 128 bits.
const MinBootstrapTokenLength = 32

// serveCommand is `roster serve`. It only fills a ServeConfig and hands it to
// Options.Serve.
func (a *app) serveCommand() *cobra.Command {
	cfg := ServeConfig{DB: "roster.db", Addr: "127.0.0.1:8080", SyncOnChange: true, SecretEnvPrefix: "ROSTER_SECRET_", SessionIdle: 8 * time.Hour}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Roster server",
		Long: "Serve runs the server until interrupted. --db is a SQLite file, or a\n" +
			"postgres:// URL for PostgreSQL. ROSTER_BOOTSTRAP_TOKEN, when set on an empty\n" +
			"database, becomes the API token of the built-in admin. --oidc-issuer puts\n" +
			"\"Sign in with SSO\" on the web console (see the README's Single sign-on).",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.opts.Serve == nil {
				return errors.New("this build of roster cannot serve")
			}
			cfg.BootstrapToken = a.opts.Getenv("ROSTER_BOOTSTRAP_TOKEN")
			if n := len(cfg.BootstrapToken); n > 0 && n < MinBootstrapTokenLength {
				return fmt.Errorf("ROSTER_BOOTSTRAP_TOKEN is %d characters: an admin's token needs at least %d "+
					"(128 bits, e.g. `openssl rand -hex 16`); or leave it unset and Roster generates one and prints it once",
					n, MinBootstrapTokenLength)
			}
			if err := a.ssoSettings(cmd, &cfg); err != nil {
				return err
			}
			if env := a.opts.Getenv("ROSTER_SESSION_IDLE"); env != "" && !cmd.Flags().Changed("session-idle") {
				d, err := time.ParseDuration(env)
				if err != nil {
					return fmt.Errorf("ROSTER_SESSION_IDLE=%q: want a duration such as 8h or 30m", env)
				}
				cfg.SessionIdle = d
			}
			if cfg.SyncChunk < 0 {
				return fmt.Errorf("--sync-chunk %d: want a positive number of tasks per transaction (0: the default)", cfg.SyncChunk)
			}
			if cfg.SessionIdle < time.Minute {
				return fmt.Errorf("--session-idle %s: a console session must last at least a minute without use", cfg.SessionIdle)
			}
			return a.opts.Serve(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database path, or postgres:// URL")
	fl.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (HOST:PORT)")
	fl.BoolVar(&cfg.Demo, "demo", false, "load the demo data set")
	fl.BoolVar(&cfg.NoMigrate, "no-migrate", false, "do not migrate the database schema at start-up")
	fl.BoolVar(&cfg.SyncOnChange, "sync-on-change", true, "sync the profiles a grant or user change can affect as soon as it is committed")
	fl.IntVar(&cfg.SyncChunk, "sync-chunk", 0, "the most tasks and enrollments one transaction of a sync makes; a larger sync commits in parts of this size (0: 16384)")
	fl.StringVar(&cfg.SecretEnvPrefix, "secret-env-prefix", cfg.SecretEnvPrefix, "the prefix of every environment variable a connector's *_env setting may name")
	fl.StringVar(&cfg.SecretsDir, "secrets-dir", "", "the directory that holds the files connectors' *_file settings may name (unset: none)")
	fl.DurationVar(&cfg.SessionIdle, "session-idle", cfg.SessionIdle, "end a console session unused this long (env ROSTER_SESSION_IDLE)")
	fl.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve GET /metrics without a token on this address of its own (HOST:PORT; unset: on --addr, to admins' and auditors' tokens)")
	fl.StringVar(&cfg.DataDir, "data-dir", "", "the directory that holds the data files connectors read, such as a csv connector's path (unset: none)")
	fl.StringVar(&cfg.BaseURL, "base-url", "", "the address people open the console at, https://HOST[:PORT] (env ROSTER_BASE_URL); SSO's redirect URI is <base-url>/auth/oidc/callback")
	fl.StringVar(&cfg.OIDCIssuer, "oidc-issuer", "", "the issuer URL of the OpenID Connect provider people sign in to the console with (env ROSTER_OIDC_ISSUER)")
	fl.StringVar(&cfg.OIDCClientID, "oidc-client-id", "", "Roster's client id at the OpenID Connect provider (env ROSTER_OIDC_CLIENT_ID)")
	fl.StringVar(&cfg.OIDCClientSecretEnv, "oidc-client-secret-env", "", "the environment variable that holds Roster's client secret at the provider (env ROSTER_OIDC_CLIENT_SECRET_ENV)")
	return cmd
}

// ssoSettings fills the single sign-on settings a flag left unset from the
// environment, reads the client secret, and checks that they go together.
func (a *app) ssoSettings(cmd *cobra.Command, cfg *ServeConfig) error {
	fl := cmd.Flags()
	for _, s := range []struct {
		flag, env string
		v         *string
	}{
		{"base-url", "ROSTER_BASE_URL", &cfg.BaseURL},
		{"oidc-issuer", "ROSTER_OIDC_ISSUER", &cfg.OIDCIssuer},
		{"oidc-client-id", "ROSTER_OIDC_CLIENT_ID", &cfg.OIDCClientID},
		{"oidc-client-secret-env", "ROSTER_OIDC_CLIENT_SECRET_ENV", &cfg.OIDCClientSecretEnv},
	} {
		if !fl.Changed(s.flag) {
			*s.v = a.opts.Getenv(s.env)
		}
	}
	if cfg.OIDCIssuer == "" {
		if cfg.OIDCClientID != "" || cfg.OIDCClientSecretEnv != "" {
			return errors.New("--oidc-client-id and --oidc-client-secret-env need --oidc-issuer (ROSTER_OIDC_ISSUER)")
		}
		return nil
	}
	switch name := cfg.OIDCClientSecretEnv; {
	case cfg.OIDCClientID == "":
		return errors.New("--oidc-issuer needs --oidc-client-id (ROSTER_OIDC_CLIENT_ID)")
	case cfg.BaseURL == "":
		return errors.New("--oidc-issuer needs --base-url (ROSTER_BASE_URL), the console's address, to make the redirect URI <base-url>/auth/oidc/callback")
	case name == "":
		return errors.New("--oidc-issuer needs --oidc-client-secret-env (ROSTER_OIDC_CLIENT_SECRET_ENV): the name of the environment variable that holds the client secret")
	case cfg.SecretEnvPrefix != "" && strings.HasPrefix(name, cfg.SecretEnvPrefix):
		return fmt.Errorf("--oidc-client-secret-env %s starts with --secret-env-prefix %s, so connectors could read the client secret: name a variable outside it", name, cfg.SecretEnvPrefix)
	}
	cfg.OIDCClientSecret = a.opts.Getenv(cfg.OIDCClientSecretEnv)
	if cfg.OIDCClientSecret == "" {
		return fmt.Errorf("--oidc-client-secret-env names %s, which is not set: it must hold Roster's client secret at the provider", cfg.OIDCClientSecretEnv)
	}
	return nil
}

// migrateCommand is `roster migrate`: it applies the database's missing
// migrations and exits, for deployments that start servers with --no-migrate.
func (a *app) migrateCommand() *cobra.Command {
	db := "roster.db"
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date",
		Long: "Migrate applies the migrations the database lacks, in order, and exits.\n" +
			"Servers apply them at start-up unless started with --no-migrate.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.opts.Migrate == nil {
				return errors.New("this build of roster cannot migrate")
			}
			msg, err := a.opts.Migrate(cmd.Context(), db)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.opts.Stdout, msg)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", db, "SQLite database path, or postgres:// URL")
	return cmd
}

// backupCommand is `roster backup DEST`: an online backup of a SQLite
// database, safe while servers run. PostgreSQL is backed up with pg_dump.
func (a *app) backupCommand() *cobra.Command {
	db := "roster.db"
	cmd := &cobra.Command{
		Use:   "backup DEST",
		Short: "Write an online backup of a SQLite database",
		Long: "Backup writes a consistent copy of the SQLite database to DEST (which must\n" +
			"not exist) while servers keep running. Back up PostgreSQL with pg_dump.",
		Args: args("DEST"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if a.opts.Backup == nil {
				return errors.New("this build of roster cannot back up")
			}
			if err := a.opts.Backup(cmd.Context(), db, argv[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.opts.Stdout, "backed up %s to %s\n", db, argv[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", db, "SQLite database path")
	return cmd
}
