package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// taskCommand is `roster task …`.
func (a *app) taskCommand() *cobra.Command {
	return group("task COMMAND", "List and act on grant and revoke tasks",
		a.taskListCommand(),
		a.taskShowCommand(),
		a.taskActionCommand("approve", "Approve the current step of a task", roster.Service.ApproveTask),
		a.taskActionCommand("deny", "Deny a task", roster.Service.DenyTask),
		a.taskActionCommand("provision", "Record that a task's access change was carried out", roster.Service.ProvisionTask),
		a.taskActionCommand("cancel", "Cancel an open task", roster.Service.CancelTask),
		a.taskActionCommand("retry", "Give a failed task back to its connector, from the first attempt (admins)", roster.Service.RetryTask),
	)
}

func (a *app) taskListCommand() *cobra.Command {
	var f roster.TaskFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks (every page)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tasks, err := collect(func(cursor string) (*roster.Page[roster.Task], error) {
				f.Cursor, f.Limit = cursor, roster.MaxPageSize
				return c.Tasks(cmd.Context(), f)
			})
			if err != nil {
				return err
			}
			return a.renderTasks(tasks)
		},
	}
	fl := cmd.Flags()
	fl.StringVar((*string)(&f.State), "state", "", "only tasks in this state (pending_approval, pending_provisioning, done, denied, cancelled, failed)")
	fl.StringVar((*string)(&f.Kind), "kind", "", "only tasks of this kind (grant or revoke)")
	fl.StringVar(&f.User, "user", "", "only tasks for this user")
	fl.StringVar(&f.Entitlement, "entitlement", "", "only tasks for this entitlement (APP/ENT)")
	fl.StringVar(&f.Profile, "profile", "", "only tasks of this profile")
	fl.StringVar((*string)(&f.Origin), "origin", "", "only tasks of this origin (automation, manual, enrollment, …)")
	fl.StringVar(&f.Approver, "approver", "", "only open tasks waiting on this user")
	fl.BoolVar(&f.OpenOnly, "open", false, "only open tasks (pending approval or provisioning)")
	return cmd
}

func (a *app) taskShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a task with its approval steps and history",
		Args:  args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTaskID(cmd, args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			task, err := c.Task(cmd.Context(), id)
			if err != nil {
				return err
			}
			return a.render(task, func(w io.Writer) { writeTask(w, task) })
		},
	}
}

func (a *app) taskActionCommand(action, short string, act func(s roster.Service, ctx context.Context, id int64, comment string) (*roster.Task, error)) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   action + " ID...",
		Short: short + ", as the token's user",
		Long: short + ", as the token's user. With several IDs each task is acted on in turn, " +
			"stopping at the first refusal; those before it stay done. With one ID, -o json prints the task; " +
			"with several, a JSON array of them.",
		Args: atLeast("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args))
			for i, arg := range args {
				id, err := parseTaskID(cmd, arg)
				if err != nil {
					return err
				}
				ids[i] = id
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var done []roster.Task
			for _, id := range ids {
				task, err := act(c, cmd.Context(), id, comment)
				if err != nil {
					if len(done) == 0 {
						return err
					}
					return &roster.Error{Code: roster.ErrorCode(err), Details: roster.ErrorDetails(err),
						Message: fmt.Sprintf("task %d: %s (the %d before it went through)", id, roster.ErrorMessage(err), len(done))}
				}
				done = append(done, *task)
			}
			if len(done) == 1 {
				return a.renderTask(&done[0])
			}
			return a.renderTasks(done)
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "comment recorded in the task's history")
	return cmd
}

func parseTaskID(cmd *cobra.Command, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usageErrorf(cmd, "task ID must be a number, not %q", s)
	}
	return id, nil
}

// renderTasks prints tasks as a table, or a JSON array.
func (a *app) renderTasks(tasks []roster.Task) error {
	if tasks == nil {
		tasks = []roster.Task{}
	}
	return a.render(tasks, func(w io.Writer) { writeTaskTable(w, tasks) })
}

// renderTask prints one task as a one-row table, or a JSON object.
func (a *app) renderTask(task *roster.Task) error {
	return a.render(task, func(w io.Writer) { writeTaskTable(w, []roster.Task{*task}) })
}

func writeTaskTable(w io.Writer, tasks []roster.Task) {
	fmt.Fprintln(w, "ID\tKIND\tUSER\tENTITLEMENT\tSTATE\tORIGIN\tPROFILE\tAPPROVERS")
	for _, t := range tasks {
		waiting := t.Approvers
		if t.State == roster.StatePendingProvisioning {
			waiting = t.Provisioners
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, t.User, t.Entitlement, t.State,
			t.Origin, orDash(t.Profile), list(waiting))
	}
}

// writeTask prints one task in full.
func writeTask(w io.Writer, t *roster.Task) {
	fmt.Fprintf(w, "ID:\t%d\n", t.ID)
	fmt.Fprintf(w, "Kind:\t%s\n", t.Kind)
	fmt.Fprintf(w, "User:\t%s\n", t.User)
	fmt.Fprintf(w, "Entitlement:\t%s\n", t.Entitlement)
	fmt.Fprintf(w, "State:\t%s\n", t.State)
	fmt.Fprintf(w, "Origin:\t%s\n", t.Origin)
	fmt.Fprintf(w, "Profile:\t%s\n", orDash(t.Profile))
	fmt.Fprintf(w, "Requested by:\t%s\n", orDash(t.RequestedBy))
	if t.Reason != "" {
		fmt.Fprintf(w, "Reason:\t%s\n", t.Reason)
	}
	fmt.Fprintf(w, "Policy:\t%s (%d steps)\n", orDash(t.Policy), len(t.Steps))
	if t.Bypass != "" {
		fmt.Fprintf(w, "Approval bypassed:\t%s\n", t.Bypass)
	}
	if t.State == roster.StatePendingApproval {
		fmt.Fprintf(w, "Current step:\t%d of %d\n", t.Step+1, len(t.Steps))
		fmt.Fprintf(w, "Approvers:\t%s\n", list(t.Approvers))
	}
	fmt.Fprintf(w, "Provisioning:\t%s\n", orDash(t.Provisioning))
	if len(t.Provisioners) > 0 {
		fmt.Fprintf(w, "Provisioners:\t%s\n", list(t.Provisioners))
	}
	if t.Error != "" {
		fmt.Fprintf(w, "Error:\t%s\n", t.Error)
	}
	fmt.Fprintf(w, "Created:\t%s\n", formatTime(t.CreatedAt))
	if t.ClosedAt != nil {
		fmt.Fprintf(w, "Closed:\t%s\n", formatTime(*t.ClosedAt))
	}
	fmt.Fprintf(w, "\nHISTORY (%d)\n", len(t.History))
	fmt.Fprintln(w, "AT\tACTOR\tACTION\tSTEP\tCOMMENT")
	for _, h := range t.History {
		actor := h.Actor
		if h.For != "" {
			actor += " for " + h.For
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", formatTime(h.At), actor, h.Action, h.Step+1, orDash(h.Comment))
	}
}
