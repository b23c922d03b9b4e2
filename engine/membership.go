package engine

// Membership: what an approved enrollment or a confirmed unenrollment sets
// off, the requests that start them (Enroll, Unenroll, RequestProfile), and
// the exclusions from a profile's rule.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/rule"
)

// enrolled carries out an approved enrollment: the user becomes a member and
// requests every entitlement of the profile they lack.
func (o *op) enrolled(t *roster.Task) error {
	p, err := o.profile(t.Profile)
	if err != nil {
		return err
	}
	source := roster.MemberManual
	if t.Origin == roster.OriginAutomation {
		source = roster.MemberAutomation
	}
	if err := o.addMember(p, t.User, source, fmt.Sprintf("enrollment task %d done", t.ID)); err != nil {
		return err
	}
	bypass := ""
	if p.Enrollment.BypassEntitlementPolicies {
		bypass = fmt.Sprintf("covered by the approval of enrollment task %d", t.ID)
	}
	return o.requestContents(p, t.User, p.Entitlements, roster.OriginEnrollment, bypass)
}

// addMember makes user a member of p, with the enrollment grant that shows it.
func (o *op) addMember(p *roster.Profile, user string, source roster.MemberSource, reason string) error {
	if err := o.putMember(&roster.Member{Profile: p.ID, User: user, Source: source, Since: o.now}); err != nil {
		return err
	}
	if err := o.audit(roster.ActionMemberAdded, "profile", p.ID, reason, map[string]any{"user": user, "source": source}); err != nil {
		return err
	}
	return o.addGrant(user, roster.EnrollmentEntitlement(p.ID), []string{roster.ProfileSource(p.ID)}, reason)
}

// removeMember ends user's membership of p and removes the enrollment grant.
func (o *op) removeMember(p *roster.Profile, user, reason string) error {
	if err := o.deleteMember(p.ID, user); err != nil {
		return err
	}
	if err := o.audit(roster.ActionMemberRemoved, "profile", p.ID, reason, map[string]any{"user": user}); err != nil {
		return err
	}
	return o.removeGrant(user, roster.EnrollmentEntitlement(p.ID), reason)
}

// justify adds p to the sources of user's grant of e, and reports whether
// the user holds e: a profile justifies every grant of its entitlements to its
// members, in either automation mode, whatever came first.
func (o *op) justify(p *roster.Profile, user, e string) (bool, error) {
	g, err := o.grant(user, e)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !g.AddSource(roster.ProfileSource(p.ID)) {
		return true, nil
	}
	g.UpdatedAt = o.now
	if err := o.putGrant(g); err != nil {
		return true, err
	}
	return true, o.audit(roster.ActionGrantSources, "grant", user+" "+e, "member of profile "+p.ID, o.grantData.of(g.Sources))
}

// unjustify drops p from the sources of user's grants of p's entitlements,
// leaving the access in place: a members-only profile makes no access
// changes, but a grant's sources are the profiles the user is a member of.
func (o *op) unjustify(p *roster.Profile, user, why string) error {
	source := roster.ProfileSource(p.ID)
	for _, e := range p.Entitlements {
		g, err := o.grant(user, e)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if g.HasSource(source) {
			if err := o.dropSource(g, source, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// requestContents gives a member each of ents: a grant they hold gets the
// profile as a source; one they lack gets a grant task (unless one is open).
func (o *op) requestContents(p *roster.Profile, user string, ents []string, origin roster.Origin, bypass string) error {
	for _, e := range ents {
		if held, err := o.justify(p, user, e); err != nil || held {
			if err != nil {
				return err
			}
			continue
		}
		// An open grant task for the same access will, when done, record the
		// profile among the grant's sources (see addGrant).
		if _, _, err := o.createTask(taskSpec{
			kind: roster.TaskGrant, user: user, entitlement: e, origin: origin, profile: p.ID,
			bypass: bypass, requestedBy: ActorAutomation, reason: "access of profile " + p.ID,
		}); err != nil {
			return err
		}
	}
	return nil
}

// unenrolled carries out a confirmed unenrollment: the user stops being a
// member, open requests of the profile's access are cancelled, and the
// profile's access setting is applied to its entitlements.
func (o *op) unenrolled(t *roster.Task) error {
	p, err := o.profile(t.Profile)
	if err != nil {
		return err
	}
	if err := o.removeMember(p, t.User, fmt.Sprintf("unenrollment task %d done", t.ID)); err != nil {
		return err
	}
	bypass := ""
	if p.Unenrollment.BypassEntitlementPolicies {
		bypass = fmt.Sprintf("covered by the confirmation of unenrollment task %d", t.ID)
	}
	return o.withdraw(p, t.User, p.Entitlements, roster.OriginUnenrollment, bypass)
}

// withdraw applies the profile's unenrollment access setting to ents for a
// user the profile no longer justifies them for: the profile's open requests
// for them pass to another profile of the user's that contains them, or are
// cancelled when there is none; grants the profile never justified are left
// alone; the profile is dropped from the sources of the others at once (SPEC
// §1: a grant's profile sources are the user's profiles that contain it, also
// while a revocation waits for approval); with revoke_all a grant with no
// direct source is revoked; with revoke_unjustified it is revoked unless
// another profile the user is a member of contains it.
func (o *op) withdraw(p *roster.Profile, user string, ents []string, origin roster.Origin, bypass string) error {
	memberships, err := o.memberships(user)
	if err != nil {
		return err
	}
	var others []*roster.Profile
	for _, m := range memberships {
		if m.Profile == p.ID {
			continue
		}
		q, err := o.profile(m.Profile)
		if err != nil {
			return err
		}
		others = append(others, q)
	}
	source := roster.ProfileSource(p.ID)
	for _, e := range ents {
		if err := o.withdrawRequest(p, user, e, others); err != nil {
			return err
		}
		g, err := o.grant(user, e)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if !g.HasSource(source) {
			continue
		}
		revoke := false
		why := "profile " + p.ID + " no longer justifies it"
		switch {
		case p.Unenrollment.Access == roster.AccessLeave:
			why = "profile " + p.ID + " leaves the access in place"
		case g.HasSource(roster.SourceDirect):
			why = "the access was also granted directly"
		case p.Unenrollment.Access == roster.AccessRevokeAll:
			revoke = true
		default: // revoke_unjustified
			justified := ""
			for _, q := range others {
				if q.Contains(e) {
					justified = q.ID
					break
				}
			}
			if justified == "" {
				revoke = true
			} else {
				why = "still justified by profile " + justified
			}
		}
		if !revoke {
			if err := o.dropSource(g, source, why); err != nil {
				return err
			}
			continue
		}
		// The revocation removes the grant when it is done, whatever
		// sources it has then: p started it because p justified it alone.
		t, _, err := o.createTask(taskSpec{
			kind: roster.TaskRevoke, user: user, entitlement: e, origin: origin, profile: p.ID,
			bypass: bypass, requestedBy: ActorAutomation, reason: why,
		})
		if err != nil {
			return err
		}
		if !t.Open() {
			continue // done at once: the grant is gone
		}
		// While the revocation waits, the grant keeps only its other
		// sources (none: direct), and keeps them if it is denied.
		if err := o.dropSource(g, source, why+"; its revocation waits (task "+taskID(t)+")"); err != nil {
			return err
		}
	}
	return nil
}

// withdrawRequest settles user's open request for e that p made
// (enrollment or new contents) now that p no longer gives e to them: it
// passes to the first profile (by id) among others, the user's other
// profiles, that contains e, since that membership asks for the same access;
// with none it is cancelled.
func (o *op) withdrawRequest(p *roster.Profile, user, e string, others []*roster.Profile) error {
	open, err := o.openTask(user, e, roster.TaskGrant)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if open.Profile != p.ID || (open.Origin != roster.OriginEnrollment && open.Origin != roster.OriginProfileContent) {
		return nil
	}
	var heir *roster.Profile
	for _, q := range others {
		if q.Contains(e) && (heir == nil || q.ID < heir.ID) {
			heir = q
		}
	}
	if heir == nil {
		return o.cancel(open, "profile "+p.ID+" no longer gives this access to the user")
	}
	why := fmt.Sprintf("profile %s no longer gives this access to the user; the request stands for profile %s, of which they are a member", p.ID, heir.ID)
	open.Profile, open.UpdatedAt = heir.ID, o.now
	open.History = append(open.History, roster.TaskAction{At: o.now, Actor: ActorSystem, Action: roster.HistoryTransferred, Step: open.Step, Comment: why})
	if err := o.saveTask(open); err != nil {
		return err
	}
	return o.audit(roster.ActionTaskTransferred, "task", taskID(open), why, map[string]any{"from": p.ID, "profile": heir.ID})
}

// startEnrollment creates the grant task of p's enrollment entitlement.
func (o *op) startEnrollment(p *roster.Profile, user string, origin roster.Origin, requestedBy, reason string) (*roster.Task, bool, error) {
	return o.createTask(taskSpec{
		kind: roster.TaskGrant, user: user, entitlement: roster.EnrollmentEntitlement(p.ID),
		origin: origin, profile: p.ID, policy: p.Enrollment.Policy, requestedBy: requestedBy, reason: reason,
	})
}

// startUnenrollment creates the revoke task of p's enrollment entitlement.
func (o *op) startUnenrollment(p *roster.Profile, user string, origin roster.Origin, requestedBy, reason string) (*roster.Task, bool, error) {
	return o.createTask(taskSpec{
		kind: roster.TaskRevoke, user: user, entitlement: roster.EnrollmentEntitlement(p.ID),
		origin: origin, profile: p.ID, policy: p.Unenrollment.Policy, requestedBy: requestedBy, reason: reason,
	})
}

// checkEnrollable refuses to enroll a user who is disabled, already a member or
// already pending.
func (o *op) checkEnrollable(p *roster.Profile, user string) error {
	u, err := o.tx.User(o.ctx, user)
	if err != nil {
		return err
	}
	if !u.Active() {
		return roster.Errorf(roster.EINVALID, "user %q is disabled and cannot be enrolled in %s", user, p.ID)
	}
	members, err := o.memberships(user)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Profile == p.ID {
			return roster.Errorf(roster.ECONFLICT, "user %q is already a member of %s (%s)", user, p.ID, m.Source)
		}
	}
	if t, err := o.openTask(user, roster.EnrollmentEntitlement(p.ID), roster.TaskGrant); err == nil {
		return roster.Errorf(roster.ECONFLICT, "user %q already has a pending enrollment in %s (task %d)", user, p.ID, t.ID)
	} else if roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	return nil
}

// batch runs check for every user and, if any is refused, returns one error
// listing every refusal, so that a batch applies whole or not at all.
func batch(users []string, what string, check func(user string) error) error {
	if len(users) == 0 {
		return roster.Errorf(roster.EINVALID, "name at least one user to %s", what)
	}
	var details []string
	code := ""
	for _, u := range users {
		if err := check(u); err != nil {
			if roster.ErrorCode(err) == roster.EINTERNAL {
				return err
			}
			details = append(details, roster.ErrorMessage(err))
			if code == "" || code == roster.ENOTFOUND {
				code = roster.ErrorCode(err)
			}
		}
	}
	if len(details) == 0 {
		return nil
	}
	if len(details) == 1 {
		return roster.Errorf(code, "%s", details[0])
	}
	return &roster.Error{Code: code, Message: fmt.Sprintf("cannot %s %d of the users; nothing was done", what, len(details)), Details: details}
}

// Enroll starts manual enrollments of users in a profile (admins).
func (e *Engine) Enroll(ctx context.Context, profile string, users []string, comment string) ([]roster.Task, error) {
	var out []roster.Task
	err := e.update(ctx, func(o *op) error {
		out = nil // the store may run this function again
		if _, err := o.requireAdmin("enroll users"); err != nil {
			return err
		}
		p, err := o.profile(profile)
		if err != nil {
			return err
		}
		users = sortedUnique(users)
		if err := batch(users, "enroll", func(u string) error { return o.checkEnrollable(p, u) }); err != nil {
			return err
		}
		for _, u := range users {
			t, _, err := o.startEnrollment(p, u, roster.OriginManual, o.actor, comment)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return nil
	})
	return out, err
}

// Unenroll starts manual unenrollments of members of a profile (admins).
func (e *Engine) Unenroll(ctx context.Context, profile string, users []string, comment string, exclude bool) ([]roster.Task, error) {
	var out []roster.Task
	err := e.update(ctx, func(o *op) error {
		out = nil // the store may run this function again
		if _, err := o.requireAdmin("unenroll users"); err != nil {
			return err
		}
		p, err := o.profile(profile)
		if err != nil {
			return err
		}
		members, err := o.tx.Members(o.ctx, p.ID)
		if err != nil {
			return err
		}
		isMember := map[string]bool{}
		for _, m := range members {
			isMember[m.User] = true
		}
		users = sortedUnique(users)
		err = batch(users, "unenroll", func(u string) error {
			if _, err := o.tx.User(o.ctx, u); err != nil {
				return err
			}
			if !isMember[u] {
				return roster.Errorf(roster.EINVALID, "user %q is not a member of %s", u, p.ID)
			}
			if !exclude {
				if held, err := o.ruleMatch(p, u); err != nil {
					return err
				} else if held != "" {
					return roster.Errorf(roster.ECONFLICT, "the rule of %s still matches %q (%s): the next sync would enroll them again; unenroll with --exclude to exclude them from the rule too", p.ID, u, held)
				}
			}
			if t, err := o.openTask(u, roster.EnrollmentEntitlement(p.ID), roster.TaskRevoke); err == nil {
				return roster.Errorf(roster.ECONFLICT, "user %q already has a pending unenrollment from %s (task %d)", u, p.ID, t.ID)
			} else if roster.ErrorCode(err) != roster.ENOTFOUND {
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		if exclude {
			if err := o.exclude(p, users); err != nil {
				return err
			}
		}
		for _, u := range users {
			t, _, err := o.startUnenrollment(p, u, roster.OriginManual, o.actor, comment)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return nil
	})
	return out, err
}

// RequestProfile requests a profile for the caller, when the profile allows
// enrollment requests.
func (e *Engine) RequestProfile(ctx context.Context, profile string, comment string) (*roster.Task, error) {
	var out *roster.Task
	err := e.update(ctx, func(o *op) error {
		caller, err := o.requireActor()
		if err != nil {
			return err
		}
		p, err := o.profile(profile)
		if err != nil {
			return err
		}
		if !p.AllowEnrollmentRequests {
			return roster.Errorf(roster.EFORBIDDEN, "profile %s does not accept enrollment requests: only its rule and admins enroll users", p.ID)
		}
		if err := o.checkEnrollable(p, caller.ID); err != nil {
			return err
		}
		t, _, err := o.startEnrollment(p, caller.ID, roster.OriginManual, caller.ID, comment)
		out = t
		return err
	})
	return out, err
}

// exclusionChanged records the exclusion of a user from p's rule (added) or
// its end, as a task on p's excluded-from-rule entitlement under the
// profile's exclusion policy (none: recorded at once): the audit record of
// the exclusion.
func (o *op) exclusionChanged(p *roster.Profile, user string, added bool) error {
	ent := roster.ExclusionEntitlement(p.ID)
	spec := taskSpec{user: user, entitlement: ent, origin: roster.OriginExclusion, profile: p.ID, policy: p.Automation.ExclusionPolicy}
	if p.Automation.ExclusionPolicy == "" {
		spec.bypass = "an exclusion is recorded at once (the automation sets no exclusion_policy)"
	}
	if added {
		if t, err := o.openTask(user, ent, roster.TaskRevoke); err == nil {
			if err := o.cancel(t, "the user was excluded again"); err != nil {
				return err
			}
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		spec.kind, spec.reason = roster.TaskGrant, "excluded from the rule of profile "+p.ID
		_, _, err := o.createTask(spec)
		return err
	}
	if t, err := o.openTask(user, ent, roster.TaskGrant); err == nil {
		return o.cancel(t, "the user is no longer excluded")
	} else if roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	if _, err := o.grant(user, ent); roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	spec.kind, spec.reason = roster.TaskRevoke, "no longer excluded from the rule of profile "+p.ID
	_, _, err := o.createTask(spec)
	return err
}

// exclusionDenied withdraws the exclusion a denied task t recorded: the user
// leaves the profile's excluded users and the profile syncs again.
func (o *op) exclusionDenied(t *roster.Task) error {
	p, err := o.profile(t.Profile)
	if err != nil {
		return err
	}
	i := slices.Index(p.Automation.ExcludedUsers, t.User)
	if i < 0 {
		return nil
	}
	p.Automation.ExcludedUsers = slices.Delete(slices.Clone(p.Automation.ExcludedUsers), i, i+1)
	p.UpdatedAt = o.now
	if err := o.putProfile(p); err != nil {
		return err
	}
	if err := o.audit(roster.ActionExclusionDenied, "profile", p.ID, fmt.Sprintf("exclusion task %d denied", t.ID),
		map[string]any{"user": t.User, "task": t.ID}); err != nil {
		return err
	}
	o.marked = true
	return o.tx.TriggerProfiles(o.ctx, []string{p.ID})
}

// ruleMatch says why p's enabled automation matches user ("holds
// okta/engineering", "its expression is true for them"), or "" when it does
// not: the user is inactive, excluded, holds none of the rule's
// entitlements, or the expression is false (or cannot be evaluated) for
// them.
func (o *op) ruleMatch(p *roster.Profile, user string) (string, error) {
	if !p.Automation.Enabled || slices.Contains(p.Automation.ExcludedUsers, user) {
		return "", nil
	}
	u, err := o.tx.User(o.ctx, user)
	if err != nil || !u.Active() {
		return "", err
	}
	why := ""
	for _, e := range p.Automation.AnyEntitlement {
		if _, err := o.grant(user, e); err == nil {
			why = "holds " + e
			break
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return "", err
		}
	}
	if why == "" && len(p.Automation.AnyEntitlement) > 0 {
		return "", nil
	}
	if p.Automation.Expression == "" {
		return why, nil
	}

	ok, err := o.evalExpression(p, u)
	if err != nil && !errors.As(err, new(*evalError)) {
		return "", err
	}
	if err != nil || !ok {
		return "", nil
	}
	if why != "" {
		return why + " and its expression is true for them", nil
	}
	return "its expression is true for them", nil
}

// evalError is an expression that could not be evaluated for a user: it
// counts as false.
type evalError struct{ err error }

func (e *evalError) Error() string { return e.err.Error() }

// evalExpression evaluates p's expression for u, user.has and
// user.member_of answered from u's grants. An *evalError means the
// expression could not be evaluated for u (or does not compile); any other
// error is a failed lookup.
func (o *op) evalExpression(p *roster.Profile, u *roster.User) (bool, error) {
	r, err := rule.Compile(p.Automation.Expression)
	if err != nil {
		return false, &evalError{err}
	}
	var lookupErr error
	has := func(e string) bool {
		_, ok, err := o.findGrant(u.ID, e)
		if err != nil && lookupErr == nil {
			lookupErr = err
		}
		return ok
	}
	ok, err := r.Eval(rule.NewUser(u, has, func(profile string) bool { return has(roster.EnrollmentEntitlement(profile)) }))
	if lookupErr != nil {
		return false, lookupErr
	}
	if err != nil {
		return false, &evalError{err}
	}
	return ok, nil
}

// exclude adds users to p's excluded users, records each exclusion and
// audits the change of the profile.
func (o *op) exclude(p *roster.Profile, users []string) error {
	var added []string
	for _, u := range users {
		if !slices.Contains(p.Automation.ExcludedUsers, u) {
			added = append(added, u)
		}
	}
	if len(added) == 0 {
		return nil
	}
	p.Automation.ExcludedUsers = append(slices.Clone(p.Automation.ExcludedUsers), added...)
	slices.Sort(p.Automation.ExcludedUsers)
	p.UpdatedAt = o.now
	if err := o.putProfile(p); err != nil {
		return err
	}
	if err := o.audit(roster.ActionProfileUpdated, "profile", p.ID, "excluded while unenrolling by hand",
		map[string]any{"excluded_users_added": added}); err != nil {
		return err
	}
	for _, u := range added {
		if err := o.exclusionChanged(p, u, true); err != nil {
			return err
		}
	}
	return nil
}
