package engine

// A task's view: the task with what its approver needs to decide on it,
// read in one transaction with the task's own permission rule.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// TaskView returns a task with what a person needs to decide on it (see
// roster.TaskView), to those who may read the task: admins, auditors, and
// the people it concerns. The subject's access is in it only for those who
// may read it and for the task's current approvers and provisioners.
func (e *Engine) TaskView(ctx context.Context, id int64) (*roster.TaskView, error) {
	var out *roster.TaskView
	err := e.view(ctx, func(o *op) error {
		caller, err := o.caller()
		if err != nil {
			return err
		}
		t, err := o.tx.Task(o.ctx, id)
		if err != nil {
			return err
		}
		if !readsAll(caller) && !concerns(t, caller.ID) {
			return roster.Errorf(roster.EFORBIDDEN, "task %d does not concern you", id)
		}
		out, err = o.taskView(caller, t)
		return err
	})
	return out, err
}

// taskView reads what t's view says, as caller sees it.
func (o *op) taskView(caller *roster.User, t *roster.Task) (*roster.TaskView, error) {
	v := &roster.TaskView{Task: *t, Access: []roster.GrantName{}, People: map[string]string{}}
	subject, err := o.tx.User(o.ctx, t.User)
	if err != nil {
		return nil, fmt.Errorf("subject of task %d: %w", t.ID, err)
	}
	v.Subject = roster.PersonOf(subject)
	if subject.Manager != "" {
		if m, err := o.tx.User(o.ctx, subject.Manager); err == nil {
			p := roster.PersonOf(m)
			v.Manager = &p
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
	}
	if v.Asked, err = o.entitlementName(t.Entitlement); err != nil {
		return nil, err
	}
	v.Risk = v.Asked.Risk
	var profile *roster.Profile
	if t.Profile != "" {
		if profile, err = o.profile(t.Profile); err == nil {
			v.ProfileName = cmpOr(profile.Name, profile.ID)
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
	}
	grants, err := o.tx.UserGrants(o.ctx, t.User)
	if err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(grants))
	for _, g := range grants {
		held[g.Entitlement] = true
	}
	if app, local, _ := roster.SplitEntitlementID(t.Entitlement); app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") {
		if p, err := o.profile(local); err == nil {
			for _, id := range p.Entitlements {
				n, err := o.entitlementName(id)
				if err != nil {
					return nil, err
				}
				v.Contents = append(v.Contents, roster.ProfileContent{EntitlementName: n, Held: held[id]})
				v.Risk = roster.HigherRisk(v.Risk, n.Risk)
			}
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
	}
	shown, err := o.readsAccessOf(caller, t.User)
	if err != nil {
		return nil, err
	}
	if shown || (t.Open() && (slices.Contains(t.Approvers, caller.ID) || slices.Contains(t.Provisioners, caller.ID))) {
		v.AccessShown = true
		for _, g := range grants {
			n, err := o.entitlementName(g.Entitlement)
			if err != nil {
				return nil, err
			}
			v.Access = append(v.Access, roster.GrantName{Grant: g, Names: n})
		}
	}
	ids := []string{t.User, subject.Manager, t.RequestedBy}
	ids = append(ids, t.Approvers...)
	ids = append(ids, t.Provisioners...)
	for _, s := range t.Steps {
		ids = append(ids, s.Users...)
		ids = append(ids, s.Fallback...)
	}
	for _, h := range t.History {
		ids = append(ids, h.Actor, h.For)
	}
	for _, id := range sortedUnique(ids) {
		if id == "" || id == ActorAutomation || id == ActorSystem {
			continue
		}
		if u, err := o.tx.User(o.ctx, id); err == nil {
			v.People[id] = cmpOr(u.Name, u.ID)
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
	}
	v.Why = o.taskWhy(t, subject, profile, v, held)
	return v, nil
}

// entitlementName returns an entitlement's names; one that no longer
// exists is named by its id.
func (o *op) entitlementName(id string) (roster.EntitlementName, error) {
	n := roster.EntitlementName{ID: id, Name: id}
	ent, err := o.entitlement(id)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return n, nil
	} else if err != nil {
		return n, err
	}
	n.Name, n.Risk = cmpOr(ent.Name, id), ent.Risk
	if a, err := o.app(ent.App); err == nil {
		n.AppName = cmpOr(a.Name, a.ID)
	} else if roster.ErrorCode(err) != roster.ENOTFOUND {
		return n, err
	}
	if ent.App == roster.BuiltinApp {
		if name, err := o.displayName(ent); err == nil {
			n.Name = name
		}
	}
	return n, nil
}

// taskWhy says in words why t exists, from its origin, profile and reason.
func (o *op) taskWhy(t *roster.Task, subject *roster.User, p *roster.Profile, v *roster.TaskView, held map[string]bool) string {
	name := cmpOr(subject.Name, subject.ID)
	profile := cmpOr(v.ProfileName, t.Profile)
	asked := v.Asked.Name
	if v.Asked.AppName != "" && !strings.HasPrefix(t.Entitlement, roster.BuiltinApp+"/") {
		asked = v.Asked.AppName + " · " + v.Asked.Name
	}
	by := func(id string) string {
		if n, ok := v.People[id]; ok {
			return n
		}
		return id
	}
	withComment := func(s string) string {
		if t.Reason != "" {
			return s + ": “" + t.Reason + "”"
		}
		return s
	}
	switch t.Origin {
	case roster.OriginAutomation:
		var rule []string
		if p != nil {
			for _, e := range p.Automation.AnyEntitlement {
				if held[e] {
					rule = append(rule, e)
				}
			}
		}
		if t.Kind == roster.TaskGrant {
			if len(rule) > 0 {
				return fmt.Sprintf("%s matches the rule of %s: holds %s", name, profile, strings.Join(rule, ", "))
			}
			return fmt.Sprintf("%s matched the rule of %s when it was synced", name, profile)
		}
		if !subject.Active() {
			return fmt.Sprintf("%s no longer matches the rule of %s: their account is disabled", name, profile)
		}
		if p != nil && len(rule) == 0 && len(p.Automation.AnyEntitlement) > 0 {
			return fmt.Sprintf("%s no longer matches the rule of %s: holds none of %s", name, profile, strings.Join(p.Automation.AnyEntitlement, ", "))
		}
		return fmt.Sprintf("%s no longer matches the rule of %s", name, profile)
	case roster.OriginManual:
		switch {
		case t.RequestedBy == t.User && t.Kind == roster.TaskGrant:
			return withComment(fmt.Sprintf("%s asked for it", name))
		case t.RequestedBy == t.User:
			return withComment(fmt.Sprintf("%s asked to give it up", name))
		case t.Profile != "" && t.Kind == roster.TaskGrant:
			return withComment(fmt.Sprintf("%s enrolled %s by hand", by(t.RequestedBy), name))
		case t.Profile != "":
			return withComment(fmt.Sprintf("%s unenrolled %s by hand", by(t.RequestedBy), name))
		}
		return withComment(fmt.Sprintf("manual request by %s", by(t.RequestedBy)))
	case roster.OriginEnrollment:
		return fmt.Sprintf("%s was enrolled in %s, which gives %s", name, profile, asked)
	case roster.OriginUnenrollment:
		return fmt.Sprintf("%s left %s, which alone justified %s", name, profile, asked)
	case roster.OriginProfileContent:
		return fmt.Sprintf("%s was added to %s, of which %s is a member", asked, profile, name)
	case roster.OriginContentRemoved:
		return fmt.Sprintf("%s was removed from %s, which alone justified it for %s", asked, profile, name)
	case roster.OriginExclusion:
		if t.Kind == roster.TaskGrant {
			return fmt.Sprintf("%s was excluded from the rule of %s", name, profile)
		}
		return fmt.Sprintf("%s is no longer excluded from the rule of %s", name, profile)
	}
	return t.Reason
}
