package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// connectorCommand is `roster connector …`.
func (a *app) connectorCommand() *cobra.Command {
	return group("connector COMMAND", "List, sync and resume connectors",
		a.connectorListCommand(),
		a.connectorShowCommand(),
		a.connectorSyncCommand("sync", "Read a connector's system now and apply what changed; wait for it", roster.Service.SyncConnector),
		a.connectorSyncCommand("resume", "Carry out a connector sync the delete threshold held", roster.Service.ResumeConnector),
	)
}

func (a *app) connectorListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List connectors with their last run and error",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cs, err := c.Connectors(cmd.Context())
			if err != nil {
				return err
			}
			return a.render(cs, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tTYPE\tAPP\tSTATE\tLAST RUN\tRESULT\tERROR")
				for _, c := range cs {
					last, result, errText := "never", "", ""
					if r := c.Status.LastRun; r != nil {
						last = r.At.Local().Format(time.DateTime)
						errText = r.Error
						if r.Result != nil {
							result = summary(r.Result)
						}
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Type, c.App, c.Status.State, last, result, errText)
				}
			})
		},
	}
}

func (a *app) connectorShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a connector: its configuration (secrets only by name), state and last run",
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			conn, err := c.Connector(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.render(conn, func(w io.Writer) {
				fmt.Fprintf(w, "id:\t%s\ntype:\t%s\napp:\t%s\nusers:\t%s\nmatch_by:\t%s\nsync_interval:\t%s\ndelete_threshold:\t%d%%\nstate:\t%s\n",
					conn.ID, conn.Type, conn.App, yesNo(conn.Users), conn.MatchBy, conn.SyncInterval, conn.DeleteThresholdPercent, conn.Status.State)
				if conn.Status.HeldWhy != "" {
					fmt.Fprintf(w, "held:\t%s\n", conn.Status.HeldWhy)
				}
				if r := conn.Status.LastRun; r != nil {
					fmt.Fprintf(w, "last run:\t%s (%s)\n", r.At.Local().Format(time.DateTime), r.Duration)
					if r.Result != nil {
						fmt.Fprintf(w, "result:\t%s\n", summary(r.Result))
					}
					if r.Error != "" {
						fmt.Fprintf(w, "error:\t%s\n", r.Error)
					}
				}
			})
		},
	}
}

func (a *app) connectorSyncCommand(use, short string, do func(roster.Service, context.Context, string) (*roster.ConnectorSyncResult, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := do(c, cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %s\n", res.Connector, summary(res))
				if res.Held {
					fmt.Fprintf(w, "held: %s\nReview it, then run `roster connector resume %s` to carry it out.\n", res.Reason, res.Connector)
				}
				for _, s := range res.Skipped {
					fmt.Fprintf(w, "skipped %s: %s\n", s.What, s.Why)
				}
			})
		},
	}
}

// summary gives a connector sync's counts on one line.
func summary(r *roster.ConnectorSyncResult) string {
	s := fmt.Sprintf("users +%d ~%d disabled %d; entitlements +%d -%d; grants +%d -%d",
		r.Users.Added, r.Users.Changed, r.Users.Disabled, r.Entitlements.Added, r.Entitlements.Removed, r.Grants.Added, r.Grants.Removed)
	if r.Held {
		s += " (held, nothing applied)"
	}
	return s
}
