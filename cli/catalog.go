package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// appCommand is `roster app list`.
func (a *app) appCommand() *cobra.Command {
	return group("app COMMAND", "List apps",
		&cobra.Command{
			Use:   "list",
			Short: "List apps",
			Args:  args(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				apps, err := c.Apps(cmd.Context())
				if err != nil {
					return err
				}
				if apps == nil {
					apps = []roster.App{}
				}
				return a.render(apps, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME\tOWNERS")
					for _, app := range apps {
						fmt.Fprintf(w, "%s\t%s\t%s\n", app.ID, orDash(app.Name), list(app.Owners))
					}
				})
			},
		},
	)
}

// entitlementCommand is `roster entitlement list [--app A]`.
func (a *app) entitlementCommand() *cobra.Command {
	var f roster.EntitlementFilter
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List entitlements (every page)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ents, err := collect(func(cursor string) (*roster.Page[roster.Entitlement], error) {
				f.Cursor, f.Limit = cursor, roster.MaxPageSize
				return c.Entitlements(cmd.Context(), f)
			})
			if err != nil {
				return err
			}
			return a.render(ents, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tREQUEST POLICY\tREVOKE POLICY\tPROVISIONING\tRISK")
				for _, e := range ents {
					provisioning := e.Provisioning
					if len(e.Provisioners) > 0 {
						provisioning += " (" + strings.Join(e.Provisioners, ",") + ")"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, orDash(e.Name), orDash(e.RequestPolicy),
						orDash(e.RevokePolicy), orDash(provisioning), orDash(e.Risk))
				}
			})
		},
	}
	listCmd.Flags().StringVar(&f.App, "app", "", "only this app's entitlements")
	return group("entitlement COMMAND", "List entitlements", listCmd)
}

// policyCommand is `roster policy list`.
func (a *app) policyCommand() *cobra.Command {
	return group("policy COMMAND", "List approval policies",
		&cobra.Command{
			Use:   "list",
			Short: "List approval policies and their steps",
			Args:  args(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				policies, err := c.Policies(cmd.Context())
				if err != nil {
					return err
				}
				if policies == nil {
					policies = []roster.Policy{}
				}
				return a.render(policies, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tSTEPS")
					for _, p := range policies {
						fmt.Fprintf(w, "%s\t%s\n", p.ID, describeSteps(p.Steps))
					}
				})
			},
		},
	)
}

// describeSteps summarizes a policy's steps, such as
// "manager (fallback secadmin) -> users sam".
func describeSteps(steps []roster.Step) string {
	if len(steps) == 0 {
		return "approved at once"
	}
	var out []string
	for _, s := range steps {
		d := s.Approvers
		switch s.Approvers {
		case roster.ApproverUsers:
			d += " " + strings.Join(s.Users, ",")
		case roster.ApproverEntitlementMembers:
			d += " " + s.Entitlement
		}
		if len(s.Fallback) > 0 {
			d += " (fallback " + strings.Join(s.Fallback, ",") + ")"
		}
		out = append(out, d)
	}
	return strings.Join(out, " -> ")
}

// settingsCommand is `roster settings show`.
func (a *app) settingsCommand() *cobra.Command {
	return group("settings COMMAND", "Show the tenant settings",
		&cobra.Command{
			Use:   "show",
			Short: "Show the tenant settings",
			Args:  args(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				s, err := c.Settings(cmd.Context())
				if err != nil {
					return err
				}
				return a.render(s, func(w io.Writer) {
					fmt.Fprintf(w, "Default request policy:\t%s\n", orDash(s.DefaultRequestPolicy))
					fmt.Fprintf(w, "Default revoke policy:\t%s\n", orDash(s.DefaultRevokePolicy))
					fmt.Fprintf(w, "Sync interval:\t%s\n", s.SyncInterval)
					fmt.Fprintf(w, "Automations:\t%s\n", choose(s.AutomationsEnabled, "enabled", "disabled (kill switch)"))
					fmt.Fprintf(w, "Safeguard:\tpause a sync that removes more than %d%% of a profile with more than %d members\n",
						s.Safeguard.MaxRemovalPercent, s.Safeguard.MinMembers)
					fmt.Fprintf(w, "Slack webhook:\t%s\n", choose(s.SlackWebhookURL != "" || s.SlackWebhookURLEnv != "", "configured", "none"))
				})
			},
		},
	)
}

// eventCommand is `roster event list`.
func (a *app) eventCommand() *cobra.Command {
	var (
		f            roster.EventFilter
		since, until string
	)
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events (every page)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return usageErrorf(cmd, "--since must be an RFC 3339 time such as 2024-05-01T09:00:00Z, not %q", since)
				}
				f.Since = t
			}
			if until != "" {
				t, err := time.Parse(time.RFC3339, until)
				if err != nil {
					return usageErrorf(cmd, "--until must be an RFC 3339 time such as 2024-05-01T09:00:00Z, not %q", until)
				}
				f.Until = t
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			events, err := collect(func(cursor string) (*roster.Page[roster.Event], error) {
				f.Cursor, f.Limit = cursor, roster.MaxPageSize
				return c.Events(cmd.Context(), f)
			})
			if err != nil {
				return err
			}
			return a.render(events, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tAT\tACTOR\tACTION\tOBJECT\tREASON")
				for _, e := range events {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, formatTime(e.At), eventActor(e), e.Action,
						e.ObjectType+":"+e.ObjectID, orDash(e.Reason))
				}
			})
		},
	}
	fl := listCmd.Flags()
	fl.StringVar((*string)(&f.Action), "action", "", "only events with this action (roster event actions lists them)")
	fl.StringVar(&f.Actor, "actor", "", "only events by this user")
	fl.StringVar(&f.ObjectType, "object-type", "", "only events about objects of this type")
	fl.StringVar(&f.ObjectID, "object-id", "", "only events about the object with this id")
	fl.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	fl.StringVar(&until, "until", "", "only events before this RFC 3339 time")
	fl.BoolVar(&f.Newest, "newest", false, "newest first")
	actionsCmd := &cobra.Command{
		Use:   "actions",
		Short: "List every audit action Roster records, with what it means",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.render(roster.AuditActions, func(w io.Writer) {
				fmt.Fprintln(w, "ACTION\tOBJECT\tMEANS")
				for _, i := range roster.AuditActions {
					fmt.Fprintf(w, "%s\t%s\t%s\n", i.Action, i.Object, i.Means)
				}
			})
		},
	}
	return group("event COMMAND", "List audit events", listCmd, actionsCmd)
}

// eventActor is who acted in an event, with the token they acted with and
// its issuer when another person.
func eventActor(e roster.Event) string {
	actor := orDash(e.Actor)
	switch {
	case e.Token != "" && e.Issuer != "":
		actor += " (token " + e.Token + ", issuer " + e.Issuer + ")"
	case e.Token != "":
		actor += " (token " + e.Token + ")"
	}
	return actor
}
