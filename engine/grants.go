package engine

// Grants: what users hold and why. A grant's sources say what justifies it
// (direct, or profile:P for each profile P of the user's that contains it);
// the admin's record of a grant made or removed outside Roster, and what a
// done task or a connector sync sets off, all change grants here.

import (
	"context"

	"github.com/rosterhq/roster"
)

// AddGrant records that a user holds an entitlement granted outside Roster:
// the grant gets the direct source (admins).
func (e *Engine) AddGrant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	var out *roster.Grant
	err := e.update(ctx, func(o *op) error {
		if _, err := o.requireAdmin("record grants"); err != nil {
			return err
		}
		if err := o.checkDirectGrant(user, entitlement); err != nil {
			return err
		}
		if err := o.addGrant(user, entitlement, []string{roster.SourceDirect}, "recorded by "+o.actor); err != nil {
			return err
		}
		g, err := o.grant(user, entitlement)
		out = g
		return err
	})
	return out, err
}

// RemoveGrant records that a grant no longer exists, whatever its sources
// (admins).
func (e *Engine) RemoveGrant(ctx context.Context, user, entitlement string) error {
	return e.update(ctx, func(o *op) error {
		if _, err := o.requireAdmin("record grants"); err != nil {
			return err
		}
		if err := o.checkDirectGrant(user, entitlement); err != nil {
			return err
		}
		if _, err := o.grant(user, entitlement); err != nil {
			return err
		}
		return o.removeGrant(user, entitlement, "recorded by "+o.actor)
	})
}

func (o *op) checkDirectGrant(user, entitlement string) error {
	if _, err := o.tx.User(o.ctx, user); err != nil {
		return err
	}
	ent, err := o.entitlement(entitlement)
	if err != nil {
		return err
	}
	if ent.App == roster.BuiltinApp {
		return roster.Errorf(roster.EINVALID, "%s is a built-in entitlement of profile %s: membership changes through enrollment and unenrollment (roster profile enroll / unenroll)", entitlement, ent.Profile)
	}
	return nil
}

// addGrant records that user holds entitlement with the given sources, plus
// profile:Q for every profile Q the user is a member of that contains it: a
// profile justifies every grant of its entitlements to its members.
func (o *op) addGrant(user, entitlement string, sources []string, reason string) error {
	ms, err := o.membershipsFor(user, entitlement)
	if err != nil {
		return err
	}
	for _, m := range ms {
		p, err := o.profile(m.Profile)
		if err != nil {
			return err
		}
		if p.Contains(entitlement) {
			sources = append(sources, roster.ProfileSource(p.ID))
		}
	}
	g, found, err := o.findGrant(user, entitlement)
	if err != nil {
		return err
	}
	created := !found
	if created {
		g = &roster.Grant{User: user, Entitlement: entitlement, Sources: []string{}, CreatedAt: o.now}
		if len(sources) == 0 {
			sources = []string{roster.SourceDirect} // a grant with no source counts as direct
		}
	}
	changed := created
	for _, s := range sources {
		changed = g.AddSource(s) || changed
	}
	if !changed {
		return nil
	}
	g.UpdatedAt = o.now
	if err := o.putGrant(g); err != nil {
		return err
	}
	action := roster.ActionGrantSources
	if created {
		action = roster.ActionGrantAdded
		o.grantChanged(entitlement)
	}
	return o.audit(action, "grant", user+" "+entitlement, reason, o.grantData.of(g.Sources))
}

// removeGrant deletes a grant, whatever its sources.
func (o *op) removeGrant(user, entitlement, reason string) error {
	if _, found, err := o.findGrant(user, entitlement); err != nil || !found {
		return err
	}
	if err := o.deleteGrant(user, entitlement); err != nil {
		return err
	}
	o.grantChanged(entitlement)
	return o.audit(roster.ActionGrantRemoved, "grant", user+" "+entitlement, reason, nil)
}

// dropSource removes source s from a grant (a grant left with none counts as
// direct).
func (o *op) dropSource(g *roster.Grant, s, reason string) error {
	if !g.RemoveSource(s) {
		return nil
	}
	g.UpdatedAt = o.now
	if err := o.putGrant(g); err != nil {
		return err
	}
	return o.audit(roster.ActionGrantSources, "grant", g.User+" "+g.Entitlement, reason, o.grantData.of(g.Sources))
}
