package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// tokenCommand is `roster token create|list|revoke`.
func (a *app) tokenCommand() *cobra.Command {
	var req roster.TokenRequest
	create := &cobra.Command{
		Use:   "create [USER]",
		Short: "Create an API token: your own, or, as an admin, one for a user who is not an admin; the secret is shown only once",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if len(argv) == 1 {
				req.User = argv[0]
			}
			t, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.render(t, func(w io.Writer) {
				fmt.Fprintf(w, "ID:\t%s\n", t.ID)
				fmt.Fprintf(w, "User:\t%s\n", t.User)
				if t.Name != "" {
					fmt.Fprintf(w, "Name:\t%s\n", t.Name)
				}
				fmt.Fprintf(w, "Issuer:\t%s\n", t.Issuer)
				fmt.Fprintf(w, "Expires:\t%s\n", timeOr(t.ExpiresAt, "never"))
				fmt.Fprintf(w, "Token:\t%s\n", t.Token)
			})
		},
	}
	create.Flags().StringVar(&req.Name, "name", "", "a name that says what the token is for")
	create.Flags().StringVar(&req.Expires, "expires", "", "how long the token lasts, in days (90d) or hours (24h); unset: until revoked")

	var user string
	list := &cobra.Command{
		Use:   "list",
		Short: "List your API tokens and those you issued (admins and auditors: --user U, or * for all); never their secrets",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ts, err := c.Tokens(cmd.Context(), user)
			if err != nil {
				return err
			}
			return a.render(ts, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tUSER\tNAME\tISSUER\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, orDash(t.Name), t.Issuer, formatTime(t.CreatedAt),
						timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "never"), timeOr(t.RevokedAt, "-"))
				}
			})
		},
	}
	list.Flags().StringVar(&user, "user", "", "list this user's tokens (admins and auditors; * for every token)")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token: your own or one you issued (admins: anyone's); its console sessions end too",
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := c.RevokeToken(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.render(t, func(w io.Writer) {
				fmt.Fprintf(w, "Revoked token %s of %s at %s\n", t.ID, t.User, timeOr(t.RevokedAt, "-"))
			})
		},
	}
	return group("token COMMAND", "Create, list and revoke API tokens", create, list, revoke)
}

// sessionCommand is `roster session list|revoke`.
func (a *app) sessionCommand() *cobra.Command {
	var user string
	list := &cobra.Command{
		Use:   "list",
		Short: "List your console sessions (admins and auditors: --user U, or * for all)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ss, err := c.Sessions(cmd.Context(), user)
			if err != nil {
				return err
			}
			return a.render(ss, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tUSER\tMETHOD\tTOKEN\tISSUER\tSIGNED IN\tLAST USED\tENDS")
				for _, s := range ss {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.User, s.Method, orDash(s.Token), orDash(s.Issuer),
						formatTime(s.CreatedAt), formatTime(s.LastUsedAt), formatTime(s.ExpiresAt))
				}
			})
		},
	}
	list.Flags().StringVar(&user, "user", "", "list this user's sessions (admins and auditors; * for every session)")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End a console session on every replica: your own (admins: anyone's)",
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.RevokeSession(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.render(s, func(w io.Writer) {
				fmt.Fprintf(w, "Ended session %s of %s\n", s.ID, s.User)
			})
		},
	}
	return group("session COMMAND", "List and end console sessions", list, revoke)
}

// timeOr formats an optional time, or says none.
func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return formatTime(*t)
}
