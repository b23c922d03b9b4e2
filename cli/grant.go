package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// grantCommand is `roster grant …`.
func (a *app) grantCommand() *cobra.Command {
	return group("grant COMMAND", "List grants, record access granted or removed outside Roster",
		a.grantListCommand(),
		a.grantAddCommand(),
		a.grantRemoveCommand(),
	)
}

func (a *app) grantListCommand() *cobra.Command {
	var f roster.GrantFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List grants with their sources (every page)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			grants, err := collect(func(cursor string) (*roster.Page[roster.Grant], error) {
				f.Cursor, f.Limit = cursor, roster.MaxPageSize
				return c.Grants(cmd.Context(), f)
			})
			if err != nil {
				return err
			}
			return a.renderGrants(grants)
		},
	}
	cmd.Flags().StringVar(&f.User, "user", "", "only grants of this user")
	cmd.Flags().StringVar(&f.Entitlement, "entitlement", "", "only grants of this entitlement (APP/ENT)")
	cmd.Flags().StringVar(&f.App, "app", "", "only grants of this app's entitlements")
	return cmd
}

func (a *app) grantAddCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "add USER APP/ENT",
		Short: "Record that a user holds an entitlement granted outside Roster (admins)",
		Args:  args("USER", "APP/ENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEntitlementID(cmd, args[1]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			g, err := c.AddGrant(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return a.render(g, func(w io.Writer) { writeGrantTable(w, []roster.Grant{*g}) })
		},
	}
}

// grantRemoved is what `grant remove -o json` prints.
type grantRemoved struct {
	Removed     bool   `json:"removed"`
	User        string `json:"user"`
	Entitlement string `json:"entitlement"`
}

func (a *app) grantRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER APP/ENT",
		Short: "Record that a user no longer holds an entitlement, whatever its sources (admins)",
		Args:  args("USER", "APP/ENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEntitlementID(cmd, args[1]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RemoveGrant(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			res := grantRemoved{Removed: true, User: args[0], Entitlement: args[1]}
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "removed %s from %s\n", res.Entitlement, res.User)
			})
		},
	}
}

// checkEntitlementID refuses an entitlement that is not written APP/ENT.
func checkEntitlementID(cmd *cobra.Command, id string) error {
	if _, _, ok := roster.SplitEntitlementID(id); !ok {
		return usageErrorf(cmd, "entitlement %q must be written APP/ENT, such as github/org-member", id)
	}
	return nil
}

// renderGrants prints grants as a table, or a JSON array.
func (a *app) renderGrants(grants []roster.Grant) error {
	return a.render(grants, func(w io.Writer) { writeGrantTable(w, grants) })
}

func writeGrantTable(w io.Writer, grants []roster.Grant) {
	fmt.Fprintln(w, "USER\tENTITLEMENT\tSOURCES\tSINCE")
	for _, g := range grants {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", g.User, g.Entitlement, orDash(strings.Join(g.Sources, ",")), formatTime(g.CreatedAt))
	}
}
