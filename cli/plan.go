package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// planCommand is `roster plan -f FILE`.
func (a *app) planCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Say what applying a declarative file would do now, changing nothing",
		Long: "Plan runs the apply of the file and the syncs it sets off, then rolls them back:\n" +
			"it lists each object added or changed (field by field) and, for each profile\n" +
			"whose membership would move, who would be enrolled and unenrolled, the tasks\n" +
			"that would be created with their approvers, the grants that would end, and the\n" +
			"safeguard's verdict. With -f - the file is read from stdin.",
		Args: noArgsButFile,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := readApplyFile(cmd, file)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			plan, err := c.Plan(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.render(plan, func(w io.Writer) { writePlan(w, plan, true) })
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "declarative file to plan, - for stdin")
	return cmd
}

// noArgsButFile refuses arguments: the file is given with -f.
func noArgsButFile(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf(cmd, "unexpected argument %q: give the file with -f", args[0])
	}
	return nil
}

// readApplyFile reads the file of an apply or a plan (- for stdin).
func readApplyFile(cmd *cobra.Command, file string) (roster.ApplyRequest, error) {
	req := roster.ApplyRequest{Filename: file}
	if file == "" {
		return req, usageErrorf(cmd, "missing -f FILE")
	}
	var err error
	if file == "-" {
		req.Filename = "stdin"
		req.Document, err = io.ReadAll(cmd.InOrStdin())
	} else {
		req.Document, err = os.ReadFile(file)
	}
	if err != nil {
		return req, fmt.Errorf("reading %s: %w", req.Filename, err)
	}
	return req, nil
}

// writePlan prints a plan: with full, every object change, person, task and
// revocation; without, one line per profile and who would lose access.
func writePlan(w io.Writer, plan *roster.ChangePlan, full bool) {
	name := func(u string) string {
		if n := plan.Names[u]; n != "" && n != u {
			return n + " (" + u + ")"
		}
		return u
	}
	if full {
		for _, c := range plan.Changes {
			fmt.Fprintf(w, "%s %s %s\n", c.Op, c.Kind, c.ID)
			for _, f := range sortedKeys(c.Fields) {
				fmt.Fprintf(w, "    %s: %s -> %s\n", f, planValue(c.Fields[f].Before), planValue(c.Fields[f].After))
			}
		}
		if len(plan.Changes) == 0 {
			fmt.Fprintln(w, "no changes")
		}
		if plan.Unchanged > 0 {
			fmt.Fprintf(w, "%d unchanged\n", plan.Unchanged)
		}
	}
	for _, p := range plan.Profiles {
		fmt.Fprintf(w, "profile %s: +%d / -%d, %d task(s), %d grant(s) to end%s\n", p.Profile, p.Counts.Enroll, p.Counts.Unenroll, p.Counts.Tasks, p.Counts.Revoke, verdictLine(p.Safeguard))
		if !full {
			continue
		}
		for _, u := range p.Enroll {
			fmt.Fprintf(w, "  + %s: %s\n", name(u), orDash(p.Why[u]))
		}
		for _, u := range p.Unenroll {
			fmt.Fprintf(w, "  - %s: %s\n", name(u), orDash(p.Why[u]))
		}
		for _, t := range p.Tasks {
			approvers := ""
			if len(t.Approvers) > 0 {
				approvers = ", approvers " + strings.Join(t.Approvers, ",")
			}
			fmt.Fprintf(w, "  task %s %s for %s: %s%s\n", t.Kind, t.Entitlement, name(t.User), t.State, approvers)
		}
		for _, r := range p.Revoke {
			fmt.Fprintf(w, "  ends %s of %s\n", r.Entitlement, name(r.User))
		}
	}
	if len(plan.Profiles) == 0 {
		fmt.Fprintln(w, "no membership or access would change")
	} else if plan.Losing > 0 {
		fmt.Fprintf(w, "%d people would lose access\n", plan.Losing)
	}
}

// verdictLine is a profile's safeguard verdict in words, after a comma.
func verdictLine(v *roster.SafeguardVerdict) string {
	if v == nil {
		return ""
	}
	if v.Verdict == roster.VerdictPause {
		return fmt.Sprintf("; safeguard: PAUSE (would remove %d of %d members, %d in the past hour): nothing would be applied, the plan would wait for review", v.WouldRemove, v.Members, v.Recent)
	}
	return fmt.Sprintf("; safeguard: pass (would remove %d of %d members, %d in the past hour)", v.WouldRemove, v.Members, v.Recent)
}

// planValue prints a field's value in a plan.
func planValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		return fmt.Sprintf("%q", v)
	}
	b, err := jsonCompact(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return b
}

// jsonCompact returns v as compact JSON.
func jsonCompact(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
