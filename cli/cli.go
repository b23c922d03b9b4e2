// Package cli is the roster command line. `roster serve` runs the server
// through Options.Serve; every other command is a client of the HTTP API
// through the http package's Client, so it sees exactly what the API allows
// the token's user to see.
//
// Results, and nothing else, go to stdout: aligned tables by default, or one
// JSON value with -o json, where a list holds every item (the CLI follows the
// API's pages). Errors go to stderr and make the exit code 1.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/spf13/cobra"
)

// DefaultServer is the API address when neither --server nor ROSTER_SERVER
// names one.
const DefaultServer = "http://127.0.0.1:8080"

// Options are the command line's surroundings. Nil fields take the process's
// own (os.Stdin, os.Stdout, os.Stderr, os.Getenv).
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Serve runs the server until ctx is done; `roster serve` calls it.
	Serve func(ctx context.Context, cfg ServeConfig) error
	// Migrate brings a database's schema up to date; `roster migrate` calls it
	// and prints what it returns.
	Migrate func(ctx context.Context, db string) (string, error)
	// Backup writes an online backup of a SQLite database to dest; `roster
	// backup` calls it.
	Backup func(ctx context.Context, db, dest string) error
}

// ServeConfig is what `roster serve` hands to Options.Serve.
type ServeConfig struct {
	// DB is a SQLite path or a postgres:// URL. Default "roster.db".
	DB string
	// Addr is the address to listen on. Default "127.0.0.1:8080".
	Addr string
	// Demo loads the demo data set.
	Demo bool
	// BootstrapToken, from ROSTER_BOOTSTRAP_TOKEN, becomes the admin's API
	// token on an empty database.
	BootstrapToken string
	// NoMigrate leaves the database schema as it is.
	NoMigrate bool
	// SyncOnChange syncs the profiles a change can affect as soon as it is
	// committed (default true); the interval sync runs either way.
	SyncOnChange bool
	// SecretEnvPrefix starts the name of every environment variable a
	// connector's *_env setting may name. Default "ROSTER_SECRET_".
	SecretEnvPrefix string
	// SecretsDir holds the files connectors' *_file settings may name;
	// DataDir the data files they read (a csv connector's path). Empty: none.
	SecretsDir, DataDir string
	// SyncChunk bounds the work one transaction of a sync does (--sync-chunk;
	// 0: the engine's default).
	SyncChunk int
	// SessionIdle ends a console session unused this long (--session-idle,
	// ROSTER_SESSION_IDLE; default 8h).
	SessionIdle time.Duration
	// MetricsAddr serves the Prometheus metrics on an address of their own,
	// without a token; empty: on the main address, to admins and auditors.
	MetricsAddr string
	// BaseURL is the address people open the console at (--base-url,
	// ROSTER_BASE_URL).
	BaseURL string
	// OIDCIssuer, OIDCClientID and OIDCClientSecretEnv configure single
	// sign-on to the console (--oidc-issuer, --oidc-client-id,
	// --oidc-client-secret-env, or ROSTER_OIDC_ISSUER, ROSTER_OIDC_CLIENT_ID,
	// ROSTER_OIDC_CLIENT_SECRET_ENV); OIDCClientSecret is the value of the
	// environment variable OIDCClientSecretEnv names.
	OIDCIssuer, OIDCClientID, OIDCClientSecretEnv, OIDCClientSecret string
}

// Output formats.
const (
	outputTable  = "table"
	outputJSON   = "json"
	outputNDJSON = "ndjson" // one JSON object a line: roster audit export
)

// ndjsonAnnotation marks a command that writes -o ndjson.
const ndjsonAnnotation = "ndjson"

// app holds the global flags and the options every command uses.
type app struct {
	opts   Options
	server string
	token  string
	output string
}

// New returns the roster command.
func New(opts Options) *cobra.Command {
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	// What the server stores is shown, never obeyed: names, comments and
	// error messages may hold terminal control sequences.
	opts.Stdout, opts.Stderr = newTermSafe(opts.Stdout), newTermSafe(opts.Stderr)
	a := &app{opts: opts}

	root := &cobra.Command{
		Use:   "roster",
		Short: "Roster keeps access profiles' membership and access in line with their rules",
		Long: "Roster is a self-hosted access-governance service. `roster serve` runs the server;\n" +
			"every other command is a client of its HTTP API.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.checkGlobalFlags,
	}
	root.SetIn(opts.Stdin)
	root.SetOut(opts.Stdout)
	root.SetErr(opts.Stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageErrorf(cmd, "%v", err) })

	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", "", "API address (env ROSTER_SERVER, default "+DefaultServer+")")
	pf.StringVar(&a.token, "token", "", "API token (env ROSTER_TOKEN)")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json")

	root.AddCommand(
		a.applyCommand(),
		a.changeCommand(),
		a.planCommand(),
		a.syncCommand(),
		a.profileCommand(),
		a.taskCommand(),
		a.grantCommand(),
		a.connectorCommand(),
		a.webhookCommand(),
		a.userCommand(),
		a.whyCommand(),
		a.whoamiCommand(),
		a.tokenCommand(),
		a.sessionCommand(),
		a.appCommand(),
		a.entitlementCommand(),
		a.policyCommand(),
		a.settingsCommand(),
		a.eventCommand(),
		a.auditCommand(),
		a.serveCommand(),
		a.migrateCommand(),
		a.backupCommand(),
	)
	return root
}

// Main runs the roster command with args and returns the exit code: 0 on
// success, 1 on any error, which it prints to Stderr as "error: MESSAGE"
// followed by one indented line per detail.
func Main(args []string, opts Options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := New(opts)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		printError(cmd.ErrOrStderr(), err)
		return 1
	}
	return 0
}

// printError writes err for a person to read.
func printError(w io.Writer, err error) {
	var (
		usage *usageError
		e     *roster.Error
	)
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(w, "error: %s\n  usage: %s\n  run '%s' for help\n", usage.msg, usage.line, usage.help)
	case errors.As(err, &e):
		fmt.Fprintf(w, "error: %s\n", e.Message)
		for _, d := range e.Details {
			fmt.Fprintf(w, "  %s\n", d)
		}
		if e.Code == roster.EUNAUTHORIZED {
			fmt.Fprintln(w, "  check --token or ROSTER_TOKEN")
		}
	default:
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

// usageError is a command called the wrong way.
type usageError struct {
	msg  string
	line string
	help string
}

// Error returns the message without the usage line.
func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usageError for cmd.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{
		msg:  fmt.Sprintf(format, args...),
		line: cmd.UseLine(),
		help: cmd.CommandPath() + " --help",
	}
}

// checkGlobalFlags validates the flags every command shares.
func (a *app) checkGlobalFlags(cmd *cobra.Command, _ []string) error {
	if a.output == outputNDJSON && cmd.Annotations[ndjsonAnnotation] != "" {
		return nil
	}
	if a.output != outputTable && a.output != outputJSON {
		return usageErrorf(cmd, "unknown output format %q: use table or json", a.output)
	}
	return nil
}

// client returns an API client for the --server and --token flags, which
// take precedence over ROSTER_SERVER and ROSTER_TOKEN.
func (a *app) client() (*rosterhttp.Client, error) {
	server := a.server
	if server == "" {
		server = a.opts.Getenv("ROSTER_SERVER")
	}
	if server == "" {
		server = DefaultServer
	}
	token := a.token
	if token == "" {
		token = a.opts.Getenv("ROSTER_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no API token: pass --token or set ROSTER_TOKEN")
	}
	return rosterhttp.NewClient(server, token), nil
}

// render prints v as JSON with -o json, and with table otherwise. table writes
// tab-separated columns, which render aligns.
func (a *app) render(v any, table func(w io.Writer)) error {
	if a.output == outputJSON {
		enc := json.NewEncoder(a.opts.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(a.opts.Stdout, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// group returns a command that only holds subcommands. Called alone or with
// an unknown subcommand it is a usage error, not a silent help page.
func group(use, short string, subcommands ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			if len(args) > 0 {
				return usageErrorf(cmd, "unknown command %q for %q: use one of %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
			}
			return usageErrorf(cmd, "%q needs a command: one of %s", cmd.CommandPath(), strings.Join(names, ", "))
		},
	}
	cmd.AddCommand(subcommands...)
	return cmd
}

// args checks that a command gets exactly the named positional arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usageErrorf(cmd, "missing %s", strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usageErrorf(cmd, "unexpected argument %q", args[len(names)])
		}
		return nil
	}
}

// atLeast checks that a command gets the named positional arguments, the last
// of which may repeat.
func atLeast(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageErrorf(cmd, "missing %s", strings.Join(names[len(args):], " "))
		}
		return nil
	}
}

// collect follows a list's pages from the first to the last and returns
// every item; fetch gets each page's cursor.
func collect[T any](fetch func(cursor string) (*roster.Page[T], error)) ([]T, error) {
	items := []T{}
	seen := map[string]bool{}
	cursor := ""
	for {
		page, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if page.NextCursor == "" {
			return items, nil
		}
		if seen[page.NextCursor] {
			return nil, fmt.Errorf("the server sent the page cursor %q twice; stopping to avoid a loop", page.NextCursor)
		}
		seen[page.NextCursor] = true
		cursor = page.NextCursor
	}
}

// orDash returns s, or "-" when it is empty, so table columns stay aligned.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// list joins ids for a table cell.
func list(ids []string) string { return orDash(strings.Join(ids, ",")) }

// yesNo renders a boolean for people.
func yesNo(b bool) string { return choose(b, "yes", "no") }

// choose returns yes when b is true, no otherwise.
func choose(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
