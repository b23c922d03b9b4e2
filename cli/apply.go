package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// applyCommand is `roster apply -f FILE [--dry-run] [--confirm-over N]`.
func (a *app) applyCommand() *cobra.Command {
	var (
		file        string
		dryRun      bool
		confirmOver int
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Validate and apply a declarative file (YAML or JSON)",
		Long: "Apply validates the file as a whole and applies it in one transaction: every\n" +
			"object it names is upserted by id, objects it does not name are left alone.\n" +
			"It first prints a summary of its plan (see roster plan). With --confirm-over N\n" +
			"it refuses, applying nothing, when the apply and the syncs it sets off would\n" +
			"take access from more than N people. With -f - the file is read from stdin.",
		Args: noArgsButFile,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := readApplyFile(cmd, file)
			if err != nil {
				return err
			}
			req.DryRun = dryRun
			if cmd.Flags().Changed("confirm-over") {
				if confirmOver < 0 {
					return usageErrorf(cmd, "--confirm-over %d: give a number of people, 0 or more", confirmOver)
				}
				req.ConfirmOver = &confirmOver
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if a.output != outputJSON {
				// The summary of the plan comes first; the apply, and
				// --confirm-over's check, are then made by the server in
				// one transaction.
				// Counts, not lists: the summary is all it prints, and
				// switching on many profiles may create millions of tasks.
				summary := req
				summary.Summary = true
				plan, err := c.Plan(cmd.Context(), summary)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.opts.Stdout, "plan:")
				writePlan(indent{a.opts.Stdout}, plan, false)
			}
			res, err := c.Apply(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				for _, change := range res.Changes {
					fmt.Fprintln(w, change)
				}
				if len(res.Changes) == 0 && res.ChangeRequest == 0 {
					fmt.Fprintln(w, "no changes")
				}
				if res.ChangeRequest != 0 {
					fmt.Fprintf(w, "change request %d: change approval is on; another admin must approve (roster change approve %d):\n", res.ChangeRequest, res.ChangeRequest)
					for _, l := range res.Held {
						fmt.Fprintf(w, "  %s\n", l)
					}
					if res.HeldWhole {
						fmt.Fprintln(w, "the whole file waits: its users, apps or grants refer to what the held part creates")
					}
				}
				for _, s := range res.Synced {
					fmt.Fprintf(w, "synced %s: %s\n", s.Profile, syncSummary(s))
				}
				if res.DryRun {
					fmt.Fprintln(w, "dry run: nothing was applied")
				}
			})
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "declarative file to apply, - for stdin")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and list the changes without applying them")
	cmd.Flags().IntVar(&confirmOver, "confirm-over", 0, "refuse to apply when more than this many people would lose access")
	return cmd
}

// indent writes each line two spaces in.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	if _, err := io.WriteString(i.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
