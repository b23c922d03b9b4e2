package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// whyCommand is `roster why USER APP/ENT`.
func (a *app) whyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "why USER APP/ENT",
		Short: "Explain a user's access to an entitlement: its sources, the profiles and rules behind it, the tasks that granted it",
		Args:  args("USER", "APP/ENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEntitlementID(cmd, args[1]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			x, err := c.Why(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return a.render(x, func(w io.Writer) { writeExplanation(w, x) })
		},
	}
}

func writeExplanation(w io.Writer, x *roster.Explanation) {
	if !x.Held {
		fmt.Fprintf(w, "%s does not hold %s.\n", x.User, x.Entitlement)
	} else {
		fmt.Fprintf(w, "%s holds %s (sources: %s).\n", x.User, x.Entitlement, strings.Join(x.Sources, ", "))
		if x.Direct {
			fmt.Fprintln(w, "A direct source (recorded by an admin, imported or seen in a connector) keeps it whatever the profiles do.")
		}
	}
	for _, p := range x.Profiles {
		fmt.Fprintf(w, "\nProfile %s (%s)\n", p.Profile, p.Name)
		switch p.Member {
		case "":
			fmt.Fprintln(w, "  not a member")
		default:
			fmt.Fprintf(w, "  member (%s)\n", p.Member)
		}
		if p.Justifies {
			fmt.Fprintf(w, "  justifies the grant (profile:%s is among its sources)\n", p.Profile)
		}
		if r := p.Rule; r != nil {
			fmt.Fprintf(w, "  rule: %s\n", ruleSentence(x.User, r))
		} else {
			fmt.Fprintln(w, "  rule: automation off")
		}
		fmt.Fprintf(w, "  if the rule stopped matching: %s\n", p.IfRuleStops)
	}
	if len(x.Tasks) > 0 {
		fmt.Fprintln(w, "\nTasks (newest first)")
		for _, t := range x.Tasks {
			fmt.Fprintf(w, "  #%d\t%s %s\t%s\t%s\t%s\n", t.ID, t.Kind, t.Entitlement, t.State, t.Origin, taskDecisions(t))
		}
	}
}

// ruleSentence says in words how a rule sees a user.
func ruleSentence(user string, r *roster.RuleReason) string {
	var why []string
	if !r.Active {
		why = append(why, user+" is not active")
	}
	if r.Excluded {
		why = append(why, user+" is excluded")
	}
	switch {
	case len(r.Holds) > 0:
		why = append(why, "holds "+strings.Join(r.Holds, ", "))
	case len(r.AnyEntitlement) > 0:
		why = append(why, "holds none of "+strings.Join(r.AnyEntitlement, ", "))
	}
	verdict := "does not match"
	if r.Matches {
		verdict = "matches"
	}
	return verdict + ": " + strings.Join(why, "; ") + " (" + r.Mode + ")"
}

// taskDecisions lists who acted on a task, for one line.
func taskDecisions(t roster.Task) string {
	var acts []string
	for _, h := range t.History {
		if h.Actor == "" {
			continue
		}
		acts = append(acts, string(h.Action)+" by "+h.Actor)
	}
	return orDash(strings.Join(acts, ", "))
}
