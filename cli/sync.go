package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// syncCommand is `roster sync PROFILE` and `roster sync --all`.
func (a *app) syncCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "sync (PROFILE | --all)",
		Short: "Sync a profile's membership now and wait for the sync",
		Long: "Sync computes who should be a member of the profile and starts the\n" +
			"enrollments and unenrollments that brings; it waits for the sync, not for the\n" +
			"approvals it starts. --all syncs every profile whose automation is enabled.\n" +
			"With -o json it prints a JSON array of results, even for one profile.",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return usageErrorf(cmd, "give either PROFILE or --all, not both")
			case !all && len(args) == 0:
				return usageErrorf(cmd, "missing PROFILE (or --all)")
			case len(args) > 1:
				return usageErrorf(cmd, "unexpected argument %q: sync one profile, or all with --all", args[1])
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var results []roster.SyncResult
			if all {
				if results, err = c.SyncAll(cmd.Context()); err != nil {
					return err
				}
			} else {
				res, err := c.Sync(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				results = []roster.SyncResult{*res}
			}
			return a.renderSyncResults(results)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "sync every profile whose automation is enabled")
	return cmd
}

// renderSyncResults prints sync results, a JSON array with -o json.
func (a *app) renderSyncResults(results []roster.SyncResult) error {
	if results == nil {
		results = []roster.SyncResult{}
	}
	for i := range results {
		normalizeSyncResult(&results[i])
	}
	return a.render(results, func(w io.Writer) {
		fmt.Fprintln(w, "PROFILE\tENROLLED\tUNENROLLED\tCANCELLED\tTASKS\tPAUSED")
		for _, r := range results {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Profile, list(r.Enrolled), list(r.Unenrolled),
				len(r.Cancelled), r.TasksCreated, yesNo(r.Paused))
		}
	})
}

// normalizeSyncResult makes empty lists print as [] rather than null.
func normalizeSyncResult(r *roster.SyncResult) {
	if r.Enrolled == nil {
		r.Enrolled = []string{}
	}
	if r.Unenrolled == nil {
		r.Unenrolled = []string{}
	}
	if r.Cancelled == nil {
		r.Cancelled = []int64{}
	}
}

// syncSummary describes a sync result in one line.
func syncSummary(r roster.SyncResult) string {
	parts := []string{
		fmt.Sprintf("%d enrolled", len(r.Enrolled)),
		fmt.Sprintf("%d unenrolled", len(r.Unenrolled)),
		fmt.Sprintf("%d tasks created", r.TasksCreated),
	}
	if len(r.Cancelled) > 0 {
		parts = append(parts, fmt.Sprintf("%d tasks cancelled", len(r.Cancelled)))
	}
	if r.Paused {
		parts = append(parts, "paused by the safeguard")
	}
	return strings.Join(parts, ", ")
}

// lastSyncSummary describes a profile's last sync in figures.
func lastSyncSummary(r roster.SyncSummary) string {
	parts := []string{
		fmt.Sprintf("%d enrolled", r.Enrolled),
		fmt.Sprintf("%d unenrolled", r.Unenrolled),
		fmt.Sprintf("%d tasks created", r.TasksCreated),
	}
	if r.Cancelled > 0 {
		parts = append(parts, fmt.Sprintf("%d tasks cancelled", r.Cancelled))
	}
	if r.Paused {
		parts = append(parts, "paused by the safeguard")
	}
	return strings.Join(parts, ", ")
}
