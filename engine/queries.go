package engine

// The reads of the service: lists and single objects with their permission
// rules. Nothing here writes; what changes state lives with its job
// (grants.go, workflow.go, membership.go, sync.go, connector_*.go).

import (
	"context"
	"net/url"
	"slices"

	"github.com/rosterhq/roster"
)

// Grants lists grants: everyone's for admins and auditors, a user's own otherwise.
func (e *Engine) Grants(ctx context.Context, f roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	var out *roster.Page[roster.Grant]
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(u) {
			if f.User != "" && f.User != u.ID {
				return roster.Errorf(roster.EFORBIDDEN, "you may only list your own grants")
			}
			f.User = u.ID
		}
		out, err = o.tx.Grants(o.ctx, f)
		return err
	})
	return out, err
}

// Tasks lists tasks: all for admins and auditors; for a user, their own tasks
// (the default) or those waiting on them.
func (e *Engine) Tasks(ctx context.Context, f roster.TaskFilter) (*roster.Page[roster.Task], error) {
	var out *roster.Page[roster.Task]
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(u) {
			switch {
			case f.Approver == u.ID, f.User == u.ID:
			case f.Approver == "" && f.User == "":
				f.User = u.ID
			default:
				return roster.Errorf(roster.EFORBIDDEN, "you may only list your own tasks and those waiting on you")
			}
		}
		out, err = o.tx.Tasks(o.ctx, f)
		return err
	})
	return out, err
}

// Task returns one task to admins, auditors, and the users it concerns: its
// subject, requester, current approvers and provisioners, and those who acted
// on it.
func (e *Engine) Task(ctx context.Context, id int64) (*roster.Task, error) {
	var out *roster.Task
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		t, err := o.tx.Task(o.ctx, id)
		if err != nil {
			return err
		}
		if !readsAll(u) && !concerns(t, u.ID) {
			return roster.Errorf(roster.EFORBIDDEN, "task %d does not concern you", id)
		}
		out = t
		return nil
	})
	return out, err
}

func concerns(t *roster.Task, user string) bool {
	if t.User == user || t.RequestedBy == user || slices.Contains(t.Approvers, user) || slices.Contains(t.Provisioners, user) {
		return true
	}
	for _, h := range t.History {
		if h.Actor == user {
			return true
		}
	}
	return false
}

// Profile returns a profile with its members and pending tasks. Users who do
// not read everything see only their own membership and pending tasks.
func (e *Engine) Profile(ctx context.Context, id string) (*roster.ProfileView, error) {
	var out *roster.ProfileView
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		p, err := o.profile(id)
		if err != nil {
			return err
		}
		out, err = o.profileView(p, u)
		return err
	})
	return out, err
}

// Profiles returns every profile's view.
func (e *Engine) Profiles(ctx context.Context) ([]roster.ProfileView, error) {
	var out []roster.ProfileView
	err := e.view(ctx, func(o *op) error {
		out = []roster.ProfileView{}
		u, err := o.caller()
		if err != nil {
			return err
		}
		ps, err := o.tx.Profiles(o.ctx)
		if err != nil {
			return err
		}
		for i := range ps {
			v, err := o.profileView(&ps[i], u)
			if err != nil {
				return err
			}
			out = append(out, *v)
		}
		return nil
	})
	return out, err
}

func (o *op) profileView(p *roster.Profile, viewer *roster.User) (*roster.ProfileView, error) {
	v := &roster.ProfileView{
		ID: p.ID, Name: p.Name, Description: p.Description, Entitlements: orEmpty(p.Entitlements),
		AllowEnrollmentRequests: p.AllowEnrollmentRequests, Enrollment: p.Enrollment, Unenrollment: p.Unenrollment,
		Members: []roster.MemberView{}, PendingEnrollments: []roster.PendingTask{}, PendingUnenrollments: []roster.PendingTask{},
		Automation: roster.AutomationView{Automation: p.Automation, State: p.Sync.State, Staged: roster.Staged{Enroll: []string{}, Unenroll: []string{}},
			PausedAt: p.Sync.PausedAt, LastSync: p.Sync.Last},
	}
	if v.Automation.State == "" {
		v.Automation.State = roster.AutomationActive
	}
	v.Automation.AnyEntitlement = orEmpty(v.Automation.AnyEntitlement)
	v.Automation.ExcludedUsers = orEmpty(v.Automation.ExcludedUsers)
	if p.Sync.Staged != nil {
		v.Automation.Staged = roster.Staged{Enroll: orEmpty(p.Sync.Staged.Enroll), Unenroll: orEmpty(p.Sync.Staged.Unenroll)}
	}
	visible := func(user string) bool { return readsAll(viewer) || user == viewer.ID }
	members, err := o.tx.Members(o.ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if visible(m.User) {
			v.Members = append(v.Members, roster.MemberView{User: m.User, Source: m.Source, Since: m.Since})
		}
	}
	open, err := o.tx.OpenTasks(o.ctx, roster.EnrollmentEntitlement(p.ID))
	if err != nil {
		return nil, err
	}
	for _, t := range open {
		if !visible(t.User) {
			continue
		}
		pt := roster.PendingTask{User: t.User, Task: t.ID, Origin: t.Origin, State: t.State}
		if t.Kind == roster.TaskGrant {
			v.PendingEnrollments = append(v.PendingEnrollments, pt)
		} else {
			v.PendingUnenrollments = append(v.PendingUnenrollments, pt)
		}
	}
	if !readsAll(viewer) {
		v.Automation.ExcludedUsers = []string{}
		v.Automation.Staged = roster.Staged{Enroll: []string{}, Unenroll: []string{}}
		v.Automation.LastSync = nil
	}
	return v, nil
}

// User returns a user to themselves, admins and auditors.
func (e *Engine) User(ctx context.Context, id string) (*roster.User, error) {
	var out *roster.User
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(u) && u.ID != id {
			return roster.Errorf(roster.EFORBIDDEN, "you may only read your own user")
		}
		out, err = o.tx.User(o.ctx, id)
		return err
	})
	return out, err
}

// Users lists users (admins and auditors).
func (e *Engine) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	var out *roster.Page[roster.User]
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("list users"); err != nil {
			return err
		}
		out, err = o.tx.Users(o.ctx, f)
		return err
	})
	return out, err
}

// Apps lists the apps; everyone may read the catalog.
func (e *Engine) Apps(ctx context.Context) ([]roster.App, error) {
	var out []roster.App
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.caller(); err != nil {
			return err
		}
		out, err = o.tx.Apps(o.ctx)
		return err
	})
	return out, err
}

// Entitlements lists entitlements; everyone may read the catalog.
func (e *Engine) Entitlements(ctx context.Context, f roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	var out *roster.Page[roster.Entitlement]
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.caller(); err != nil {
			return err
		}
		out, err = o.tx.Entitlements(o.ctx, f)
		return err
	})
	return out, err
}

// Policies lists the approval policies; everyone may read them.
func (e *Engine) Policies(ctx context.Context) ([]roster.Policy, error) {
	var out []roster.Policy
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.caller(); err != nil {
			return err
		}
		out, err = o.tx.Policies(o.ctx)
		return err
	})
	return out, err
}

// Settings returns the tenant settings (admins and auditors).
func (e *Engine) Settings(ctx context.Context) (*roster.Settings, error) {
	var out *roster.Settings
	err := e.view(ctx, func(o *op) (err error) {
		caller, err := o.requireReader("read settings")
		if err != nil {
			return err
		}
		s, err := o.tenant()
		if err != nil {
			return err
		}
		c := *s
		if caller.Role != roster.RoleAdmin {
			c.SlackWebhookURL = maskURL(c.SlackWebhookURL)
		}
		out = &c
		return nil
	})
	return out, err
}

// maskURL hides what makes a webhook URL a secret — its path and query —
// keeping its scheme and host so a reader can see where alerts go.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	return u.Scheme + "://" + u.Host + "/…(hidden)"
}

// Events lists audit events (admins and auditors).
func (e *Engine) Events(ctx context.Context, f roster.EventFilter) (*roster.Page[roster.Event], error) {
	var out *roster.Page[roster.Event]
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("read the audit log"); err != nil {
			return err
		}
		if f.Action != "" && !roster.KnownAuditAction(f.Action) {
			return roster.Errorf(roster.EINVALID, "%q is not an audit action (roster event actions lists them)", f.Action)
		}
		out, err = o.tx.Events(o.ctx, f)
		return err
	})
	return out, err
}
