package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// profileCommand is `roster profile …`.
func (a *app) profileCommand() *cobra.Command {
	return group("profile COMMAND", "Show access profiles, enroll and unenroll users, resume paused syncs",
		a.profileShowCommand(),
		a.profileListCommand(),
		a.profileEnrollCommand(),
		a.profileUnenrollCommand(),
		a.profileResumeCommand(),
		a.profileRequestCommand(),
	)
}

func (a *app) profileShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show PROFILE",
		Short: "Show a profile: settings, automation state, members and pending tasks",
		Args:  args("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.Profile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.render(p, func(w io.Writer) { writeProfile(w, p) })
		},
	}
}

// writeProfile prints a profile view: a header block, then its members and
// pending enrollments and unenrollments.
func writeProfile(w io.Writer, p *roster.ProfileView) {
	au := p.Automation
	fmt.Fprintf(w, "ID:\t%s\n", p.ID)
	fmt.Fprintf(w, "Name:\t%s\n", orDash(p.Name))
	if p.Description != "" {
		fmt.Fprintf(w, "Description:\t%s\n", p.Description)
	}
	fmt.Fprintf(w, "Entitlements:\t%s\n", list(p.Entitlements))
	fmt.Fprintf(w, "Enrollment requests:\t%s\n", choose(p.AllowEnrollmentRequests, "allowed", "not allowed"))
	fmt.Fprintf(w, "Enrollment:\tpolicy %s%s\n", policyName(p.Enrollment.Policy), bypass(p.Enrollment.BypassEntitlementPolicies))
	fmt.Fprintf(w, "Unenrollment:\tpolicy %s, access %s%s\n", policyName(p.Unenrollment.Policy), orDash(p.Unenrollment.Access), bypass(p.Unenrollment.BypassEntitlementPolicies))
	if au.Enabled {
		fmt.Fprintf(w, "Automation:\tenabled, mode %s, state %s\n", orDash(au.Mode), orDash(au.State))
	} else {
		fmt.Fprintf(w, "Automation:\tdisabled, mode %s\n", orDash(au.Mode))
	}
	switch {
	case au.Expression != "" && len(au.AnyEntitlement) > 0:
		fmt.Fprintf(w, "Rule:\tactive users holding any of %s, for whom %s\n", list(au.AnyEntitlement), au.Expression)
	case au.Expression != "":
		fmt.Fprintf(w, "Rule:\tactive users for whom %s\n", au.Expression)
	default:
		fmt.Fprintf(w, "Rule:\tactive users holding any of %s\n", list(au.AnyEntitlement))
	}
	fmt.Fprintf(w, "Excluded users:\t%s\n", list(au.ExcludedUsers))
	fmt.Fprintf(w, "Safeguard:\t%s\n", choose(au.Safeguard, "on", "off"))
	if au.LastSync != nil {
		fmt.Fprintf(w, "Last sync:\t%s: %s\n", formatTime(au.LastSync.At), lastSyncSummary(*au.LastSync))
	}
	if au.State == roster.AutomationPaused {
		if au.PausedAt != nil {
			fmt.Fprintf(w, "Paused at:\t%s\n", formatTime(*au.PausedAt))
		}
		fmt.Fprintf(w, "Staged enroll:\t%s\n", list(au.Staged.Enroll))
		fmt.Fprintf(w, "Staged unenroll:\t%s\n", list(au.Staged.Unenroll))
	}

	fmt.Fprintf(w, "\nMEMBERS (%d)\n", len(p.Members))
	fmt.Fprintln(w, "USER\tSOURCE\tSINCE")
	for _, m := range p.Members {
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.User, m.Source, formatTime(m.Since))
	}
	writePending(w, "PENDING ENROLLMENTS", p.PendingEnrollments)
	writePending(w, "PENDING UNENROLLMENTS", p.PendingUnenrollments)
}

func writePending(w io.Writer, title string, tasks []roster.PendingTask) {
	fmt.Fprintf(w, "\n%s (%d)\n", title, len(tasks))
	fmt.Fprintln(w, "USER\tTASK\tORIGIN\tSTATE")
	for _, t := range tasks {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", t.User, t.Task, t.Origin, t.State)
	}
}

// policyName names a profile's policy; none means the tenant's default.
func policyName(id string) string { return choose(id == "", "(tenant default)", id) }

func bypass(b bool) string {
	if b {
		return ", bypasses entitlement policies"
	}
	return ""
}

func (a *app) profileListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List access profiles",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			profiles, err := c.Profiles(cmd.Context(), roster.ProfileFilter{})
			if err != nil {
				return err
			}
			if profiles == nil {
				profiles = []roster.ProfileView{}
			}
			return a.render(profiles, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tENTITLEMENTS\tMEMBERS\tPENDING\tAUTOMATION\tSTATE")
				for _, p := range profiles {
					automation := "off"
					if p.Automation.Enabled {
						automation = p.Automation.Mode
					}
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", p.ID, orDash(p.Name), len(p.Entitlements),
						p.MemberCount, len(p.PendingEnrollments)+len(p.PendingUnenrollments), orDash(automation), orDash(p.Automation.State))
				}
			})
		},
	}
}

func (a *app) profileEnrollCommand() *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "enroll PROFILE USER...",
		Short: "Enroll users in a profile by hand (admins); each gets an enrollment task",
		Args:  atLeast("PROFILE", "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tasks, err := c.Enroll(cmd.Context(), args[0], args[1:], comment)
			if err != nil {
				return err
			}
			return a.renderTasks(tasks)
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why, recorded on each task")
	return cmd
}

func (a *app) profileUnenrollCommand() *cobra.Command {
	var comment string
	var exclude bool
	cmd := &cobra.Command{
		Use:   "unenroll PROFILE USER...",
		Short: "Unenroll users from a profile by hand (admins); each gets an unenrollment task",
		Args:  atLeast("PROFILE", "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tasks, err := c.Unenroll(cmd.Context(), args[0], args[1:], comment, exclude)
			if err != nil {
				return err
			}
			return a.renderTasks(tasks)
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why, recorded on each task")
	cmd.Flags().BoolVar(&exclude, "exclude", false, "also exclude the users from the profile's rule (needed when the rule still matches them)")
	return cmd
}

func (a *app) profileResumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume PROFILE",
		Short: "Resume a paused sync: apply the staged changes that still hold (admins)",
		Args:  args("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Resume(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			normalizeSyncResult(res)
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "resumed %s: %s\n", res.Profile, syncSummary(*res))
			})
		},
	}
}

func (a *app) profileRequestCommand() *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "request PROFILE",
		Short: "Request a profile for yourself (the token's user)",
		Args:  args("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			task, err := c.RequestProfile(cmd.Context(), args[0], comment)
			if err != nil {
				return err
			}
			return a.renderTask(task)
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why you need it, shown to the approvers")
	return cmd
}

// formatTime prints a time for a table; the zero time is "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
