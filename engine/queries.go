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

// Grants lists grants: everyone's for admins and auditors; for others their
// own, or a report's for their manager.
func (e *Engine) Grants(ctx context.Context, f roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	var out *roster.Page[roster.Grant]
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(u) {
			if f.User == "" {
				f.User = u.ID
			} else if ok, err := o.readsAccessOf(u, f.User); err != nil {
				return err
			} else if !ok {
				return roster.Errorf(roster.EFORBIDDEN, "you may only list your own grants and those of your reports")
			}
		}
		out, err = o.tx.Grants(o.ctx, f)
		return err
	})
	return out, err
}

// Tasks lists tasks: all for admins and auditors; for a user, their own tasks
// (the default), those waiting on them, and a report's for their manager.
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
			case f.Approver == "":
				if ok, err := o.readsAccessOf(u, f.User); err != nil {
					return err
				} else if !ok {
					return roster.Errorf(roster.EFORBIDDEN, "you may only list your own tasks, those waiting on you and those of your reports")
				}
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
		if h.Actor == user || h.For == user {
			return true
		}
	}
	return false
}

// Profile returns a profile with its members and pending tasks. Users who do
// not read everything see only their own membership and pending tasks.
func (e *Engine) Profile(ctx context.Context, id string) (*roster.ProfileView, error) {
	vs, err := e.Profiles(ctx, roster.ProfileFilter{ID: id})
	if err != nil {
		return nil, err
	}
	return &vs[0], nil
}

// Profiles returns the views of the profiles f selects. It reads only what
// the views list: for one user's views (a caller who does not read
// everything sees only their own, or a report's), that user's memberships and open tasks,
// not the profiles' members; without members, their counts.
func (e *Engine) Profiles(ctx context.Context, f roster.ProfileFilter) ([]roster.ProfileView, error) {
	var out []roster.ProfileView
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if !readsAll(u) {
			if f.User == "" {
				f.User = u.ID
			} else if ok, err := o.readsAccessOf(u, f.User); err != nil {
				return err
			} else if !ok {
				return roster.Errorf(roster.EFORBIDDEN, "you may only see your own memberships and those of your reports")
			}
		}
		var ps []roster.Profile
		if f.ID != "" {
			p, err := o.profile(f.ID)
			if err != nil {
				return err
			}
			ps = []roster.Profile{*p}
		} else if ps, err = o.tx.Profiles(o.ctx); err != nil {
			return err
		}
		out = make([]roster.ProfileView, 0, len(ps))
		for i := range ps {
			out = append(out, profileView(&ps[i], readsAll(u)))
		}
		if f.User != "" {
			return o.userInViews(out, f.User, f.WithoutMembers)
		}
		return o.fillViews(out, f.WithoutMembers)
	})
	return out, err
}

// userInViews lists in each view the membership and pending tasks of user
// alone, from the user's memberships and open tasks.
func (o *op) userInViews(vs []roster.ProfileView, user string, withoutMembers bool) error {
	ms, err := o.tx.Memberships(o.ctx, user)
	if err != nil {
		return err
	}
	open, err := o.tx.UserOpenTasks(o.ctx, user)
	if err != nil {
		return err
	}
	member := make(map[string]roster.Member, len(ms))
	for _, m := range ms {
		member[m.Profile] = m
	}
	index := make(map[string]int, len(vs))
	for i := range vs {
		index[roster.EnrollmentEntitlement(vs[i].ID)] = i
		if m, ok := member[vs[i].ID]; ok {
			vs[i].MemberCount = 1
			if !withoutMembers {
				vs[i].Members = append(vs[i].Members, roster.MemberView{User: m.User, Source: m.Source, Since: m.Since})
			}
		}
	}
	for _, t := range open {
		if i, ok := index[t.Entitlement]; ok {
			addPending(&vs[i], t.Kind, roster.PendingTask{User: t.User, Task: t.ID, Origin: t.Origin, State: t.State})
		}
	}
	return nil
}

// fillViews lists in each view every member (or only counts them) and every
// pending task, each read for every view at once.
func (o *op) fillViews(vs []roster.ProfileView, withoutMembers bool) error {
	var counts map[string]int
	if withoutMembers {
		var err error
		if counts, err = o.tx.MemberCounts(o.ctx); err != nil {
			return err
		}
	}
	ents := make([]string, len(vs))
	index := make(map[string]int, len(vs))
	for i := range vs {
		ents[i] = roster.EnrollmentEntitlement(vs[i].ID)
		index[ents[i]] = i
	}
	open, err := o.tx.OpenTaskRefsOf(o.ctx, ents)
	if err != nil {
		return err
	}
	for _, t := range open {
		if i, ok := index[t.Entitlement]; ok {
			addPending(&vs[i], t.Kind, roster.PendingTask{User: t.User, Task: t.ID, Origin: t.Origin, State: t.State})
		}
	}
	if withoutMembers {
		for i := range vs {
			vs[i].MemberCount = counts[vs[i].ID]
		}
		return nil
	}
	ids := make([]string, len(vs))
	byID := make(map[string]int, len(vs))
	for i := range vs {
		ids[i] = vs[i].ID
		byID[ids[i]] = i
	}
	err = o.tx.EachMemberOf(o.ctx, ids, func(m roster.Member) error {
		if i, ok := byID[m.Profile]; ok {
			vs[i].Members = append(vs[i].Members, roster.MemberView{User: m.User, Source: m.Source, Since: m.Since})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range vs {
		vs[i].MemberCount = len(vs[i].Members)
	}
	return nil
}

// addPending lists an open task of a profile's enrollment entitlement, of
// kind, in its view.
func addPending(v *roster.ProfileView, kind roster.TaskKind, pt roster.PendingTask) {
	if kind == roster.TaskGrant {
		v.PendingEnrollments = append(v.PendingEnrollments, pt)
	} else {
		v.PendingUnenrollments = append(v.PendingUnenrollments, pt)
	}
}

// profileView returns p's view with no members or pending tasks yet; the
// automation's excluded users, staged plan and last sync only for those who
// read everything.
func profileView(p *roster.Profile, readsAll bool) roster.ProfileView {
	v := roster.ProfileView{
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
		v.Automation.Staged = roster.Staged{Enroll: orEmpty(p.Sync.Staged.Enroll), Unenroll: orEmpty(p.Sync.Staged.Unenroll),
			Members: p.Sync.Staged.Members, RecentRemovals: p.Sync.Staged.RecentRemovals}
	}
	if !readsAll {
		v.Automation.ExcludedUsers = []string{}
		v.Automation.Staged = roster.Staged{Enroll: []string{}, Unenroll: []string{}}
		v.Automation.LastSync = nil
	}
	return v
}

// ProfileMembers lists a profile's members a page at a time: every member
// for admins and auditors, the caller's own membership for others.
func (e *Engine) ProfileMembers(ctx context.Context, profile string, f roster.MemberFilter) (*roster.Page[roster.MemberView], error) {
	var out *roster.Page[roster.MemberView]
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		p, err := o.profile(profile)
		if err != nil {
			return err
		}
		out = &roster.Page[roster.MemberView]{Items: []roster.MemberView{}}
		if !readsAll(u) {
			if f.Cursor != "" {
				return nil // the one page was the first
			}
			ms, err := o.tx.Memberships(o.ctx, u.ID)
			if err != nil {
				return err
			}
			var mine []roster.Member
			for _, m := range ms {
				if m.Profile == profile {
					mine = append(mine, m)
				}
			}
			out.Items, err = o.memberViews(p, mine)
			return err
		}
		page, err := o.tx.MembersPage(o.ctx, profile, f)
		if err != nil {
			return err
		}
		if out.Items, err = o.memberViews(p, page.Items); err != nil {
			return err
		}
		out.NextCursor = page.NextCursor
		return nil
	})
	return out, err
}

// memberViews reads one page of p's members as people see them: with their
// names and the entitlements of p whose grant tasks are still open for them.
func (o *op) memberViews(p *roster.Profile, ms []roster.Member) ([]roster.MemberView, error) {
	out := make([]roster.MemberView, len(ms))
	if len(ms) == 0 {
		return out, nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.User
	}
	users, err := o.tx.UsersOf(o.ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*roster.User, len(users))
	for i := range users {
		byID[users[i].ID] = &users[i]
	}
	pending := map[string][]string{}
	if len(p.Entitlements) > 0 {
		open, err := o.tx.OpenTasksAmong(o.ctx, ids, p.Entitlements)
		if err != nil {
			return nil, err
		}
		for _, t := range open {
			if t.Kind == roster.TaskGrant {
				pending[t.User] = append(pending[t.User], t.Entitlement)
			}
		}
	}
	for i, m := range ms {
		out[i] = roster.MemberView{User: m.User, Source: m.Source, Since: m.Since, Pending: sortedUnique(pending[m.User])}
		if u := byID[m.User]; u != nil {
			out[i].Name, out[i].Department = u.Name, u.Department
		}
	}
	return out, nil
}

// User returns a user to themselves, their manager, admins and auditors.
func (e *Engine) User(ctx context.Context, id string) (*roster.User, error) {
	var out *roster.User
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if ok, err := o.readsAccessOf(u, id); err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EFORBIDDEN, "you may only read your own user and those of your reports")
		}
		out, err = o.tx.User(o.ctx, id)
		return err
	})
	return out, err
}

// readsAccessOf reports whether caller may read user's record and access:
// admins and auditors anyone's, everyone their own, and a manager their
// direct reports'. A user who does not exist is read by readers only, so
// the answer says nothing of who exists.
func (o *op) readsAccessOf(caller *roster.User, user string) (bool, error) {
	if readsAll(caller) || caller.ID == user {
		return true, nil
	}
	u, err := o.tx.User(o.ctx, user)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return u.Manager != "" && u.Manager == caller.ID, nil
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
	if err := e.sealed(ctx); err != nil {
		return nil, err
	}
	var out *roster.Page[roster.Event]
	err := e.view(ctx, func(o *op) (err error) {
		if _, err := o.requireReader("read the audit log"); err != nil {
			return err
		}
		for _, a := range append([]roster.AuditAction{f.Action}, f.Actions...) {
			if a != "" && !roster.KnownAuditAction(a) {
				return roster.Errorf(roster.EINVALID, "%q is not an audit action (roster event actions lists them)", a)
			}
		}
		out, err = o.tx.Events(o.ctx, f)
		return err
	})
	return out, err
}
