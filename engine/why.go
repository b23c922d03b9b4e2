package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// whyTasks bounds how many tasks an explanation lists.
const whyTasks = 50

// Why explains a user's access to one entitlement: to admins, auditors, the
// user themself and their manager.
func (e *Engine) Why(ctx context.Context, user, entitlement string) (*roster.Explanation, error) {
	var out *roster.Explanation
	err := e.view(ctx, func(o *op) error {
		u, err := o.caller()
		if err != nil {
			return err
		}
		if ok, err := o.readsAccessOf(u, user); err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EFORBIDDEN, "you may only ask why about your own access and that of your reports")
		}
		out, err = o.why(user, entitlement)
		return err
	})
	return out, err
}

func (o *op) why(user, entitlement string) (*roster.Explanation, error) {
	subject, err := o.tx.User(o.ctx, user)
	if err != nil {
		return nil, err
	}
	if _, err := o.tx.Entitlement(o.ctx, entitlement); err != nil {
		return nil, err
	}
	x := &roster.Explanation{User: user, Entitlement: entitlement, Sources: []string{}, Profiles: []roster.ProfileReason{}, Tasks: []roster.Task{}}
	g, held, err := o.findGrant(user, entitlement)
	if err != nil {
		return nil, err
	}
	if held {
		x.Held, x.Sources = true, slices.Clone(g.Sources)
		x.Direct = g.HasSource(roster.SourceDirect)
	}
	memberships, err := o.tx.Memberships(o.ctx, user)
	if err != nil {
		return nil, err
	}
	member := map[string]roster.MemberSource{}
	for _, m := range memberships {
		member[m.Profile] = m.Source
	}
	profiles, err := o.tx.Profiles(o.ctx)
	if err != nil {
		return nil, err
	}
	// The profiles that would still justify the grant, by membership: the
	// ones revoke_unjustified keeps it for.
	var justifiers []string
	for _, p := range profiles {
		if _, ok := member[p.ID]; ok && p.Contains(entitlement) {
			justifiers = append(justifiers, p.ID)
		}
	}
	taskEnts := []string{entitlement}
	for i := range profiles {
		p := &profiles[i]
		src, isMember := member[p.ID]
		justifies := held && g.HasSource(roster.ProfileSource(p.ID))
		if !justifies && !(isMember && p.Contains(entitlement)) {
			continue
		}
		r := roster.ProfileReason{Profile: p.ID, Name: p.Name, Member: src, Justifies: justifies}
		if p.Automation.Enabled {
			if r.Rule, err = o.ruleReason(p, subject); err != nil {
				return nil, err
			}
		}
		r.IfRuleStops = ifRuleStops(p, src, justifies, x, slices.DeleteFunc(slices.Clone(justifiers), func(id string) bool { return id == p.ID }))
		x.Profiles = append(x.Profiles, r)
		taskEnts = append(taskEnts, roster.EnrollmentEntitlement(p.ID))
	}
	for _, ent := range taskEnts {
		page, err := o.tx.Tasks(o.ctx, roster.TaskFilter{User: user, Entitlement: ent, Limit: roster.MaxPageSize})
		if err != nil {
			return nil, err
		}
		x.Tasks = append(x.Tasks, page.Items...)
	}
	slices.SortFunc(x.Tasks, func(a, b roster.Task) int { return int(b.ID - a.ID) })
	if len(x.Tasks) > whyTasks {
		x.Tasks = x.Tasks[:whyTasks]
	}
	return x, nil
}

// ruleReason is how p's enabled automation sees u now.
func (o *op) ruleReason(p *roster.Profile, u *roster.User) (*roster.RuleReason, error) {
	r := &roster.RuleReason{
		Mode:           p.Automation.Mode,
		Active:         u.Active(),
		Excluded:       slices.Contains(p.Automation.ExcludedUsers, u.ID),
		AnyEntitlement: slices.Clone(p.Automation.AnyEntitlement),
	}
	for _, e := range p.Automation.AnyEntitlement {
		if _, ok, err := o.findGrant(u.ID, e); err != nil {
			return nil, err
		} else if ok {
			r.Holds = append(r.Holds, e)
		}
	}
	held := len(r.Holds) > 0 || len(p.Automation.AnyEntitlement) == 0 && p.Automation.Expression != ""
	if p.Automation.Expression != "" {
		r.Expression = p.Automation.Expression
		ok, err := o.evalExpression(p, u)
		if err != nil && !errors.As(err, new(*evalError)) {
			return nil, err
		} else if err != nil {
			r.ExpressionError = err.Error()
		}
		r.ExpressionTrue = ok
		held = held && ok
	}
	r.Matches = r.Active && !r.Excluded && held
	return r, nil
}

// ifRuleStops says what would become of x's access if p's rule stopped
// matching: the unenrollment p's settings start and what its access setting
// does to this grant. others are the other profiles the user is a member of
// that list the entitlement.
func ifRuleStops(p *roster.Profile, member roster.MemberSource, justifies bool, x *roster.Explanation, others []string) string {
	switch {
	case member == "":
		return fmt.Sprintf("%s is not a member of %s; its rule does not keep this access", x.User, p.ID)
	case member == roster.MemberManual:
		return fmt.Sprintf("nothing: %s was enrolled by hand, and automation never unenrolls manual members", x.User)
	case !p.Automation.Enabled:
		return fmt.Sprintf("%s's automation is off: nothing would change until it is turned on", p.ID)
	case p.Automation.Mode == roster.ModeSyncMembersOnly:
		return fmt.Sprintf("%s would leave %s at once (members-only sync); the access itself would not change", x.User, p.ID)
	}
	start := fmt.Sprintf("an unenrollment from %s under policy %s; once it is confirmed, ", p.ID, orDefault(p.Unenrollment.Policy, "the tenant's default revoke policy"))
	switch {
	case !x.Held:
		return start + "there is no grant of " + x.Entitlement + " to take back"
	case p.Unenrollment.Access == roster.AccessLeave:
		return start + "the access stays (access: leave) and profile:" + p.ID + " leaves its sources"
	case !justifies:
		return start + "the access stays: profile:" + p.ID + " is not among its sources"
	case x.Direct:
		return start + "the access stays: it also has a direct source"
	case p.Unenrollment.Access == roster.AccessRevokeUnjustified && len(others) > 0:
		return start + "the access stays, still justified by " + strings.Join(others, ", ") + " (access: revoke_unjustified)"
	default:
		return start + "a revoke task takes the access back (access: " + p.Unenrollment.Access + ")"
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
