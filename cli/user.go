package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// userCommand is `roster user …`.
func (a *app) userCommand() *cobra.Command {
	return group("user COMMAND", "Show and list users, and name delegates",
		a.userShowCommand(),
		a.userListCommand(),
		a.userDelegateCommand(),
	)
}

func (a *app) userShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show USER",
		Short: "Show a user",
		Args:  args("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := c.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Delegations are shown to those who may read them: the
			// user themself, admins and auditors.
			ds, err := c.Delegations(cmd.Context(), args[0])
			if err != nil && roster.ErrorCode(err) != roster.EFORBIDDEN {
				return err
			}
			return a.render(u, func(w io.Writer) {
				writeUser(w, u)
				writeDelegations(w, ds)
			})
		},
	}
}

// userDelegateCommand is `roster user delegate USER --to DELEGATE --until
// DATE`, and `--clear` to end the delegation.
func (a *app) userDelegateCommand() *cobra.Command {
	var to, until string
	var clear bool
	cmd := &cobra.Command{
		Use:   "delegate USER (--to DELEGATE --until DATE | --clear)",
		Short: "Name someone to decide in USER's place until a date, or end it",
		Long: `Name someone to approve or deny, in USER's place, the tasks that wait on USER, until
a date: a day (YYYY-MM-DD, through the end of that day, UTC) or a time (RFC 3339).
The delegate is checked like any approver — never on their own access — and each of
their decisions is recorded as theirs for USER. Setting it again replaces it; --clear
ends it at once. USER themself or an admin may set or end it.`,
		Args: args("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if clear == (to != "" || until != "") {
				return usageErrorf(cmd, "give --to and --until, or --clear")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if clear {
				d, err := c.EndDelegation(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.render(d, func(w io.Writer) {
					fmt.Fprintf(w, "%s no longer decides in %s's place\n", d.Delegate, d.User)
				})
			}
			end, err := parseUntil(cmd, until)
			if err != nil {
				return err
			}
			d, err := c.Delegate(cmd.Context(), args[0], roster.DelegationRequest{Delegate: to, Until: end})
			if err != nil {
				return err
			}
			return a.render(d, func(w io.Writer) {
				fmt.Fprintf(w, "%s decides in %s's place until %s\n", d.Delegate, d.User, formatTime(d.Until))
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the delegate: who decides in USER's place")
	cmd.Flags().StringVar(&until, "until", "", "when it ends: YYYY-MM-DD (through that day, UTC) or an RFC 3339 time")
	cmd.Flags().BoolVar(&clear, "clear", false, "end USER's delegation now")
	return cmd
}

// parseUntil reads --until: a day, which lasts through its end (UTC), or
// an RFC 3339 time.
func parseUntil(cmd *cobra.Command, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageErrorf(cmd, "--until is required with --to")
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageErrorf(cmd, "--until %q: want a day (YYYY-MM-DD) or an RFC 3339 time (2026-01-31T18:00:00Z)", s)
	}
	return t, nil
}

// writeDelegations prints whom a user named and for whom they decide.
func writeDelegations(w io.Writer, ds *roster.UserDelegations) {
	if ds == nil {
		return
	}
	if d := ds.Delegate; d != nil {
		fmt.Fprintf(w, "Delegate:\t%s until %s\n", d.Delegate, formatTime(d.Until))
	}
	for _, d := range ds.DecidesFor {
		fmt.Fprintf(w, "Decides for:\t%s until %s\n", d.User, formatTime(d.Until))
	}
}

func (a *app) userListCommand() *cobra.Command {
	var f roster.UserFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users (every page)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			users, err := collect(func(cursor string) (*roster.Page[roster.User], error) {
				f.Cursor, f.Limit = cursor, roster.MaxPageSize
				return c.Users(cmd.Context(), f)
			})
			if err != nil {
				return err
			}
			return a.render(users, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tEMAIL\tDEPARTMENT\tMANAGER\tSTATUS\tROLE")
				for _, u := range users {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, orDash(u.Name), orDash(u.Email),
						orDash(u.Department), orDash(u.Manager), u.Status, u.Role)
				}
			})
		},
	}
	cmd.Flags().StringVar(&f.Status, "status", "", "only users with this status (active or disabled)")
	cmd.Flags().StringVar(&f.Department, "department", "", "only users of this department")
	cmd.Flags().StringVar(&f.Manager, "manager", "", "only users with this manager")
	return cmd
}

// whoamiCommand is `roster whoami`.
func (a *app) whoamiCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the user the API token belongs to",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			return a.render(u, func(w io.Writer) { writeUser(w, u) })
		},
	}
}

// writeUser prints one user as a block.
func writeUser(w io.Writer, u *roster.User) {
	fmt.Fprintf(w, "ID:\t%s\n", u.ID)
	fmt.Fprintf(w, "Name:\t%s\n", orDash(u.Name))
	fmt.Fprintf(w, "Email:\t%s\n", orDash(u.Email))
	fmt.Fprintf(w, "Manager:\t%s\n", orDash(u.Manager))
	fmt.Fprintf(w, "Department:\t%s\n", orDash(u.Department))
	for _, f := range [][2]string{{"Title", u.Title}, {"Location", u.Location},
		{"Employment type", u.EmploymentType}, {"Start date", u.StartDate}, {"End date", u.EndDate}} {
		if f[1] != "" {
			fmt.Fprintf(w, "%s:\t%s\n", f[0], f[1])
		}
	}
	fmt.Fprintf(w, "Status:\t%s\n", u.Status)
	fmt.Fprintf(w, "Role:\t%s\n", u.Role)
	if u.Kind == roster.UserService {
		fmt.Fprintf(w, "Kind:\t%s\n", u.Kind)
	}
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) {
		fmt.Fprintf(w, "%s:\t%s\n", k, u.Attributes[k])
	}
}
