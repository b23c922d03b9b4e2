// Command rosterbench generates the benchmark organisations of package
// bench/gen, to reproduce the benchmarks by hand:
//
//	rosterbench generate --preset medium -o org.yaml
//	rosterbench load --preset medium --db roster.db [--synced] [--history]
//
// generate writes a declarative file for `roster apply -f`; load writes the
// organisation straight into a database (a SQLite path or a postgres:// URL)
// that `roster serve --db` then serves. Issue 18's "many profiles switched on
// at once" is
//
//	rosterbench load --preset dense20k --db roster.db --off
//	rosterbench generate --preset dense20k --profiles-only -o profiles.yaml
//	roster serve --db roster.db & roster apply -f profiles.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/postgres"
	"github.com/rosterhq/roster/sqlite"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rosterbench:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  rosterbench generate --preset NAME [--seed N] [--profiles-only] [-o FILE]
  rosterbench load --preset NAME --db PATH_OR_URL [--seed N] [--synced [--history] | --off]
presets: small, medium, large, small20k, dense20k, small-expr, medium-expr, large-expr`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	fs := flag.NewFlagSet("rosterbench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "small", "organisation size: small, medium, large, small20k, dense20k, small-expr, medium-expr, large-expr")
	seed := fs.Int64("seed", 0, "random seed (0: the preset's)")
	out := fs.String("o", "-", "generate: output file (- for stdout)")
	db := fs.String("db", "", "load: SQLite file or postgres:// URL")
	synced := fs.Bool("synced", false, "load: write the profiles' members and access, as a completed sync leaves them")
	history := fs.Bool("history", false, "load: with --synced, also write the done tasks of that sync")
	off := fs.Bool("off", false, "load: save the profiles with their automation disabled (generate --profiles-only switches them on)")
	profilesOnly := fs.Bool("profiles-only", false, "generate: write the profiles alone, their automation enabled")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := gen.Preset(*preset)
	if err != nil {
		return err
	}
	if *seed != 0 {
		cfg.Seed = *seed
	}
	start := time.Now()
	org := gen.Generate(cfg)
	fmt.Fprintf(stderr, "generated in %s: %s\n", time.Since(start).Round(time.Millisecond), org.Stats())

	switch args[0] {
	case "generate":
		w := stdout
		if *out != "-" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		start = time.Now()
		write := org.WriteYAML
		if *profilesOnly {
			write = org.WriteProfilesYAML
		}
		if err := write(w); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s in %s\n", *out, time.Since(start).Round(time.Millisecond))
		return nil
	case "load":
		if *db == "" {
			return fmt.Errorf("load needs --db")
		}
		store, err := open(ctx, *db)
		if err != nil {
			return err
		}
		defer store.Close()
		opts := gen.LoadOptions{History: *history}
		switch {
		case *synced && *off:
			return fmt.Errorf("load: give --synced or --off, not both")
		case *synced:
			opts.State = gen.Synced
		case *off:
			opts.State = gen.Off
		}
		next := 0
		opts.Progress = func(n int) {
			if n >= next {
				fmt.Fprintf(stderr, "  %d objects (%s)\n", n, time.Since(start).Round(time.Second))
				next = n + 500_000
			}
		}
		start = time.Now()
		if err := org.LoadWith(ctx, store, roster.SystemClock{}, opts); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "loaded into %s in %s\n", *db, time.Since(start).Round(time.Millisecond))
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// open opens and migrates the database db names.
func open(ctx context.Context, db string) (roster.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, err
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	return sqlite.Open(ctx, db)
}
