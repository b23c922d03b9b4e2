package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// serveCommand is `roster serve`. It only fills a ServeConfig and hands it to
// Options.Serve.
func (a *app) serveCommand() *cobra.Command {
	cfg := ServeConfig{DB: "roster.db", Addr: "127.0.0.1:8080"}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Roster server",
		Long: "Serve runs the server until interrupted. --db is a SQLite file, or a\n" +
			"postgres:// URL for PostgreSQL. ROSTER_BOOTSTRAP_TOKEN, when set on an empty\n" +
			"database, becomes the API token of the built-in admin.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.opts.Serve == nil {
				return errors.New("this build of roster cannot serve")
			}
			cfg.BootstrapToken = a.opts.Getenv("ROSTER_BOOTSTRAP_TOKEN")
			return a.opts.Serve(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database path, or postgres:// URL")
	fl.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (HOST:PORT)")
	fl.BoolVar(&cfg.Demo, "demo", false, "load the demo data set")
	fl.BoolVar(&cfg.NoMigrate, "no-migrate", false, "do not migrate the database schema at start-up")
	return cmd
}
