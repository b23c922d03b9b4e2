package engine

import "github.com/rosterhq/roster"

// The op's read-through caches of profiles, entitlements and policies: one
// transaction reads the same few of them for every task it creates and every
// grant it records. Writes go through putProfile, putEntitlement and
// putPolicy, which update the cache, so it is never stale within the
// transaction. Reads return copies, so a caller's changes stay its own until
// it puts them.
type cache struct {
	profiles     map[string]roster.Profile
	entitlements map[string]roster.Entitlement
	policies     map[string]roster.Policy
	// memberships holds users' memberships read in this op; putMember and
	// deleteMember keep it right.
	memberships map[string][]roster.Member
}

func (o *op) profile(id string) (*roster.Profile, error) {
	if p, ok := o.cache.profiles[id]; ok {
		return &p, nil
	}
	p, err := o.tx.Profile(o.ctx, id)
	if err != nil {
		return nil, err
	}
	if o.cache.profiles == nil {
		o.cache.profiles = map[string]roster.Profile{}
	}
	o.cache.profiles[id] = *p
	return p, nil
}

func (o *op) putProfile(p *roster.Profile) error {
	if err := o.tx.PutProfile(o.ctx, p); err != nil {
		return err
	}
	if o.cache.profiles != nil {
		o.cache.profiles[p.ID] = *p
	}
	return nil
}

func (o *op) entitlement(id string) (*roster.Entitlement, error) {
	if e, ok := o.cache.entitlements[id]; ok {
		return &e, nil
	}
	e, err := o.tx.Entitlement(o.ctx, id)
	if err != nil {
		return nil, err
	}
	if o.cache.entitlements == nil {
		o.cache.entitlements = map[string]roster.Entitlement{}
	}
	o.cache.entitlements[id] = *e
	return e, nil
}

func (o *op) putEntitlement(e *roster.Entitlement) error {
	if err := o.tx.PutEntitlement(o.ctx, e); err != nil {
		return err
	}
	if o.cache.entitlements != nil {
		o.cache.entitlements[e.ID] = *e
	}
	return nil
}

func (o *op) policy(id string) (*roster.Policy, error) {
	if p, ok := o.cache.policies[id]; ok {
		return &p, nil
	}
	p, err := o.tx.Policy(o.ctx, id)
	if err != nil {
		return nil, err
	}
	if o.cache.policies == nil {
		o.cache.policies = map[string]roster.Policy{}
	}
	o.cache.policies[id] = *p
	return p, nil
}

func (o *op) putPolicy(p *roster.Policy) error {
	if err := o.tx.PutPolicy(o.ctx, p); err != nil {
		return err
	}
	if o.cache.policies != nil {
		o.cache.policies[p.ID] = *p
	}
	return nil
}

// memberships returns the profiles user is a member of, read once per op.
func (o *op) memberships(user string) ([]roster.Member, error) {
	if ms, ok := o.cache.memberships[user]; ok {
		return ms, nil
	}
	ms, err := o.tx.Memberships(o.ctx, user)
	if err != nil {
		return nil, err
	}
	if o.cache.memberships == nil {
		o.cache.memberships = map[string][]roster.Member{}
	}
	o.cache.memberships[user] = ms
	return ms, nil
}

func (o *op) putMember(m *roster.Member) error {
	delete(o.cache.memberships, m.User)
	return o.tx.PutMember(o.ctx, m)
}

func (o *op) deleteMember(profile, user string) error {
	delete(o.cache.memberships, user)
	return o.tx.DeleteMember(o.ctx, profile, user)
}
