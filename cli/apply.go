package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// applyCommand is `roster apply -f FILE [--dry-run]`.
func (a *app) applyCommand() *cobra.Command {
	var (
		file   string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Validate and apply a declarative file (YAML or JSON)",
		Long: "Apply validates the file as a whole and applies it in one transaction: every\n" +
			"object it names is upserted by id, objects it does not name are left alone.\n" +
			"With -f - the file is read from stdin.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf(cmd, "unexpected argument %q: give the file with -f", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageErrorf(cmd, "missing -f FILE")
			}
			req := roster.ApplyRequest{Filename: file, DryRun: dryRun}
			var err error
			if file == "-" {
				req.Filename = "stdin"
				req.Document, err = io.ReadAll(cmd.InOrStdin())
			} else {
				req.Document, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("reading %s: %w", req.Filename, err)
			}
			c, err := a.client()
			if err != nil {
				return err
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
	return cmd
}
