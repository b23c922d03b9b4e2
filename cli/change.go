package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// changeCommand is `roster change …`: four-eyes change approval.
func (a *app) changeCommand() *cobra.Command {
	return group("change COMMAND", "List, show, approve and deny change requests (settings.change_approval)",
		a.changeListCommand(),
		a.changeShowCommand(),
		a.changeActionCommand("approve", "Approve a change request and apply it now (another admin than its author)", roster.Service.ApproveChange),
		a.changeActionCommand("deny", "Deny a change request (with --comment), or withdraw your own", roster.Service.DenyChange),
	)
}

func (a *app) changeListCommand() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List change requests, newest first (admins, auditors)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cs, err := c.Changes(cmd.Context(), roster.ChangeFilter{State: roster.ChangeState(state)})
			if err != nil {
				return err
			}
			return a.render(cs, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tSTATE\tAUTHOR\tCREATED\tCHANGES")
				for _, c := range cs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", c.ID, c.State, c.Author, formatTime(c.CreatedAt), strings.Join(c.Changes, "; "))
				}
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only change requests in this state: pending, applied or denied")
	return cmd
}

func (a *app) changeShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show N",
		Short: "Show a change request: what it changes, its file, its decision",
		Args:  args("N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChangeID(cmd, args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ch, err := c.Change(cmd.Context(), id)
			if err != nil {
				return err
			}
			return a.render(ch, func(w io.Writer) { writeChange(w, ch, true) })
		},
	}
}

func (a *app) changeActionCommand(action, short string, act func(s roster.Service, ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error)) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   action + " N",
		Short: short,
		Args:  args("N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChangeID(cmd, args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ch, err := act(c, cmd.Context(), id, comment)
			if err != nil {
				return err
			}
			return a.render(ch, func(w io.Writer) { writeChange(w, ch, false) })
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (required to deny another admin's change)")
	return cmd
}

func parseChangeID(cmd *cobra.Command, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usageErrorf(cmd, "change request N must be a number, not %q", s)
	}
	return id, nil
}

// writeChange prints a change request; with document, its file too.
func writeChange(w io.Writer, c *roster.ChangeRequest, document bool) {
	fmt.Fprintf(w, "change request %d: %s\n", c.ID, c.State)
	fmt.Fprintf(w, "author: %s, %s (%s)\n", c.Author, formatTime(c.CreatedAt), c.Filename)
	if c.DecidedBy != "" {
		fmt.Fprintf(w, "decided by %s, %s", c.DecidedBy, formatTime(*c.DecidedAt))
		if c.DecisionNote != "" {
			fmt.Fprintf(w, ": %s", c.DecisionNote)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "changes requested:")
	for _, l := range c.Changes {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if c.Plan != nil {
		fmt.Fprintln(w, "plan when requested:")
		writePlan(indent{w}, c.Plan, document)
	}
	if c.State == roster.ChangeApplied {
		if c.Moved {
			fmt.Fprintln(w, "the plan moved since the request; at approval it was:")
			if c.ApprovedPlan != nil {
				writePlan(indent{w}, c.ApprovedPlan, true)
			}
		}
		fmt.Fprintln(w, "applied at approval:")
		for _, l := range c.Applied {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if document {
		fmt.Fprintln(w, "file:")
		for _, l := range strings.Split(strings.TrimRight(c.Document, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}
