package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// userCommand is `roster user …`.
func (a *app) userCommand() *cobra.Command {
	return group("user COMMAND", "Show and list users",
		a.userShowCommand(),
		a.userListCommand(),
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
			return a.render(u, func(w io.Writer) { writeUser(w, u) })
		},
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
