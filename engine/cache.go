package engine

// The op's read-through caches: performance mechanics, not workflow. One
// transaction reads the same profiles, entitlements, policies, memberships,
// grants and open tasks over and over (for every task it creates and every
// grant it records), so the op keeps what it read, including what it found
// missing, and what it wrote. The workflow reads and writes through the
// methods here (profile, putProfile, grant, putGrant, openTask, saveTask,
// ...) as it would through the store, and gets the same answers: every
// write of a cached object goes through them, so the cache is never stale
// within the transaction, and reads return copies. prefetch and
// prefetchGrants fill the cache in bulk before a sync or an apply visits
// many users.

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// cache holds what an op read and wrote. Profiles, entitlements and
// policies are the same few for every task the op creates and every grant it
// records; writes go through putProfile, putEntitlement and putPolicy, which
// update the cache, and reads return copies, so a caller's changes stay its
// own until it puts them.
type cache struct {
	profiles     map[string]roster.Profile
	entitlements map[string]roster.Entitlement
	policies     map[string]roster.Policy
	// memberships holds users' memberships read in this op; putMember and
	// deleteMember keep it right.
	memberships map[string][]roster.Member
	// scoped holds, for users a sync enrolls, their memberships in the
	// profiles that contain any of the entitlements the sync gives (see
	// prefetch): all addGrant needs of them, where a user's every
	// membership is tens of rows. putMember and deleteMember keep it right;
	// putProfile drops it, since a profile's contents decide its scope.
	scoped map[string]scopedMembers
	// containing maps each entitlement to the profiles that contain it, read
	// once per op (nil until then); putProfile drops it.
	containing map[string][]string
	// grants and open hold the grants and open tasks the op read or wrote.
	grants map[accessKey]cachedGrant
	open   map[openKey]int64
	// allGrants holds the users every grant of whom is in grants, and
	// allOpen those every open task of whom is in open.
	allGrants map[string]bool
	allOpen   map[string]bool
	// rules maps entitlements to the profiles whose rule names them, for
	// the entitlements a decision read them of (surround); putProfile
	// drops it.
	rules map[string][]string
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
	o.cache.scoped, o.cache.containing, o.cache.rules = nil, nil, nil
	if o.cache.profiles != nil {
		o.cache.profiles[p.ID] = *p
	}
	return nil
}

// readProfiles reads every profile into the cache at once, keeping those
// the op has already read: a pass over many profiles reads them with one
// query instead of one each.
func (o *op) readProfiles() error {
	all, err := o.tx.Profiles(o.ctx)
	if err != nil {
		return err
	}
	if o.cache.profiles == nil {
		o.cache.profiles = make(map[string]roster.Profile, len(all))
	}
	for _, p := range all {
		if _, ok := o.cache.profiles[p.ID]; !ok {
			o.cache.profiles[p.ID] = p
		}
	}
	return nil
}

// putProfileSync records p's sync state. When the rest of p is the profile
// the op read, only the sync state is written (PutProfileSync): every sync
// records its outcome, and writing the whole profile would also write its
// rule's indexes again. Otherwise p is put whole.
func (o *op) putProfileSync(p *roster.Profile) error {
	cached, ok := o.cache.profiles[p.ID]
	if !ok || !sameBesidesSync(&cached, p) {
		return o.putProfile(p)
	}
	if err := o.tx.PutProfileSyncs(o.ctx, map[string]roster.SyncState{p.ID: p.Sync}); err != nil {
		return err
	}
	cached.Sync = p.Sync
	o.cache.profiles[p.ID] = cached
	return nil
}

// sameBesidesSync reports whether a and b differ in their sync state at
// most.
func sameBesidesSync(a, b *roster.Profile) bool {
	x, y := *a, *b
	x.Sync, y.Sync = roster.SyncState{}, roster.SyncState{}
	return reflect.DeepEqual(x, y)
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
	if o.cache.memberships == nil || len(o.cache.memberships) >= maxCachedUsers {
		o.cache.memberships = map[string][]roster.Member{}
	}
	o.cache.memberships[user] = ms
	return ms, nil
}

// membershipsFor returns memberships of user that include every one in a
// profile containing entitlement (and perhaps others): those prefetch read
// for a sync when they cover the entitlement, else all of them.
func (o *op) membershipsFor(user, entitlement string) ([]roster.Member, error) {
	if ms, ok := o.cache.memberships[user]; ok {
		return ms, nil
	}
	if s, ok := o.cache.scoped[user]; ok && s.covers[entitlement] {
		return s.members, nil
	}
	return o.memberships(user)
}

// scopedMembers is a user's memberships in the profiles that contain any of
// the entitlements covers holds.
type scopedMembers struct {
	covers  map[string]bool
	members []roster.Member
}

// withMember returns ms, ordered by profile, with m in place of any
// membership of the same profile.
func withMember(ms []roster.Member, m roster.Member) []roster.Member {
	ms = withoutMember(ms, m.Profile)
	i, _ := slices.BinarySearchFunc(ms, m.Profile, func(x roster.Member, p string) int { return strings.Compare(x.Profile, p) })
	return slices.Insert(ms, i, m)
}

// withoutMember returns a copy of ms without the membership of profile.
func withoutMember(ms []roster.Member, profile string) []roster.Member {
	return slices.DeleteFunc(slices.Clone(ms), func(x roster.Member) bool { return x.Profile == profile })
}

func (o *op) putMember(m *roster.Member) error {
	if err := o.tx.PutMember(o.ctx, m); err != nil {
		return err
	}
	if ms, ok := o.cache.memberships[m.User]; ok {
		o.cache.memberships[m.User] = withMember(ms, *m)
	}
	// A membership outside the scope is kept too: the list may hold more
	// than its scope, never less.
	if s, ok := o.cache.scoped[m.User]; ok {
		s.members = withMember(s.members, *m)
		o.cache.scoped[m.User] = s
	}
	return nil
}

func (o *op) deleteMember(profile, user string) error {
	if err := o.tx.DeleteMember(o.ctx, profile, user); err != nil {
		return err
	}
	if ms, ok := o.cache.memberships[user]; ok {
		o.cache.memberships[user] = withoutMember(ms, profile)
	}
	if s, ok := o.cache.scoped[user]; ok {
		s.members = withoutMember(s.members, profile)
		o.cache.scoped[user] = s
	}
	return nil
}

// profilesContaining returns the ids of the profiles that contain any of
// entitlements, sorted.
func (o *op) profilesContaining(entitlements []string) ([]string, error) {
	if o.cache.containing == nil {
		ps, err := o.tx.Profiles(o.ctx)
		if err != nil {
			return nil, err
		}
		o.cache.containing = map[string][]string{}
		for _, p := range ps {
			for _, e := range p.Entitlements {
				o.cache.containing[e] = append(o.cache.containing[e], p.ID)
			}
		}
	}
	var ids []string
	for _, e := range entitlements {
		ids = append(ids, o.cache.containing[e]...)
	}
	return sortedUnique(ids), nil
}

// maxCachedUsers bounds the users whose memberships an op keeps.
const maxCachedUsers = 1 << 16

// maxCachedAccess bounds the grants and open tasks an op keeps: a sync that
// enrolls tens of thousands of users visits each once, so past the bound the
// cache starts afresh.
const maxCachedAccess = 1 << 18

// The op's cache of grants and open tasks, by (user, entitlement): what the
// op read, including what it found missing, and what it wrote. Reads fill it
// one by one, or in bulk with prefetch before a sync enrolls or unenrolls
// many users. The op's writes of grants and tasks go through putGrant,
// deleteGrant, saveNewTask and saveTask, which keep it right.
type accessKey struct{ user, entitlement string }

// cachedGrant is a grant the op knows of; ok is false when it knows there is
// none.
type cachedGrant struct {
	g  roster.Grant
	ok bool
}

// openKey names the open task of a kind for (user, entitlement); its value
// is the task's id, or 0 when the op knows there is none.
type openKey struct {
	accessKey
	kind roster.TaskKind
}

// forgetUsers drops what the op cached of users: their memberships, grants
// and open tasks. A transaction that syncs several profiles calls it
// between them, so that it holds what one sync needs, as a transaction of
// its own would, rather than filling the caches to their bounds; what the
// next sync reads comes from the store, which holds all the op wrote.
func (c *cache) forgetUsers() {
	c.memberships, c.scoped = nil, nil
	c.grants, c.open, c.allGrants, c.allOpen = nil, nil, nil, nil
}

func (c *cache) resetAccessIfFull() {
	if c.grants == nil {
		c.grants = map[accessKey]cachedGrant{}
		c.open = map[openKey]int64{}
		c.allGrants = map[string]bool{}
		c.allOpen = map[string]bool{}
	} else if len(c.grants)+len(c.open) >= maxCachedAccess {
		// An op that filled the cache once will likely fill it again: the
		// new one is made at its full size rather than grown to it.
		c.grants = make(map[accessKey]cachedGrant, len(c.grants))
		c.open = make(map[openKey]int64, len(c.open))
		c.allGrants = make(map[string]bool, len(c.allGrants))
		c.allOpen = make(map[string]bool, len(c.allOpen))
	}
}

// prefetch reads at once the memberships of users and their grants and open
// tasks on entitlements, so that the op's later lookups of them are answered from
// memory.
//
// The first enrolling of users are enrolled: of them it reads only the
// memberships in the profiles that contain any of entitlements, which is
// all that enrolling them looks up (the sources of the grants it records);
// the others' memberships are read whole. Reading every membership of each
// user a sync enrolls was a sixth of enabling 300 profiles at once: tens of
// rows per user, where the profiles sharing an entitlement are a few.
func (o *op) prefetch(users []string, enrolling int, entitlements []string) error {
	const chunk = 512
	var scope []string
	covers := map[string]bool{}
	if enrolling > 0 {
		var err error
		if scope, err = o.profilesContaining(entitlements); err != nil {
			return err
		}
		for _, e := range entitlements {
			covers[e] = true
		}
	}
	for len(users) > 0 {
		n := min(chunk, len(users))
		part := users[:n]
		users = users[n:]
		scoped := part[:min(max(enrolling, 0), n)]
		enrolling -= n
		if err := o.prefetchScoped(scoped, scope, covers); err != nil {
			return err
		}
		if err := o.prefetchMemberships(part[len(scoped):]); err != nil {
			return err
		}
		gs, err := o.tx.GrantsAmong(o.ctx, part, entitlements)
		if err != nil {
			return err
		}
		ts, err := o.tx.OpenTasksAmong(o.ctx, part, entitlements)
		if err != nil {
			return err
		}
		o.cache.resetAccessIfFull()
		for _, u := range part {
			for _, e := range entitlements {
				k := accessKey{u, e}
				o.cache.grants[k] = cachedGrant{}
				o.cache.open[openKey{k, roster.TaskGrant}] = 0
				o.cache.open[openKey{k, roster.TaskRevoke}] = 0
			}
		}
		for _, g := range gs {
			o.cache.grants[accessKey{g.User, g.Entitlement}] = cachedGrant{g: g, ok: true}
		}
		for _, t := range ts {
			o.cache.open[openKey{accessKey{t.User, t.Entitlement}, t.Kind}] = t.ID
		}
	}
	return nil
}

// prefetchGrants reads at once the memberships and every grant of users,
// so that the op's later lookups of them are answered from memory.
func (o *op) prefetchGrants(users []string) error {
	if err := o.prefetchMemberships(users); err != nil {
		return err
	}
	gs, err := o.tx.GrantsOf(o.ctx, users)
	if err != nil {
		return err
	}
	o.keepAllGrants(users, gs)
	return nil
}

// keepAllGrants keeps gs, every grant of users, in the op's cache.
func (o *op) keepAllGrants(users []string, gs []roster.Grant) {
	o.cache.resetAccessIfFull()
	for _, g := range gs {
		o.cache.grants[accessKey{g.User, g.Entitlement}] = cachedGrant{g: g, ok: true}
	}
	for _, u := range users {
		o.cache.allGrants[u] = true
	}
}

// surround reads at once what a decision on t reads of its subject and
// profile (roster.Around) into the op's caches: its subject's memberships,
// grants and open tasks, the profile and the entitlements it contains, the
// profiles whose rules name them, and the delegations in force. On
// PostgreSQL that is one round trip where reading each as it is needed was
// seven (docs/performance.md, 2026-12-07 evening).
func (o *op) surround(t *roster.Task) error {
	a, err := o.tx.Around(o.ctx, t.User, t.Profile, t.Entitlement, o.now)
	if err != nil {
		return err
	}
	if a.Profile != nil {
		if o.cache.profiles == nil {
			o.cache.profiles = map[string]roster.Profile{}
		}
		o.cache.profiles[a.Profile.ID] = *a.Profile
	}
	if o.cache.entitlements == nil {
		o.cache.entitlements = map[string]roster.Entitlement{}
	}
	for _, e := range a.Entitlements {
		o.cache.entitlements[e.ID] = e
	}
	if o.cache.rules == nil {
		o.cache.rules = map[string][]string{}
	}
	maps.Copy(o.cache.rules, a.Rules)
	users := []string{t.User}
	o.keepMemberships(users, a.Memberships)
	o.keepAllGrants(users, a.Grants)
	for _, ot := range a.OpenTasks {
		o.cache.open[openKey{accessKey{ot.User, ot.Entitlement}, ot.Kind}] = ot.ID
	}
	o.cache.allOpen[t.User] = true
	o.delegs = make(map[string]roster.Delegation, len(a.Delegations))
	for _, d := range a.Delegations {
		o.delegs[d.User] = d
	}
	return nil
}

// ruleProfiles returns the ids of the profiles whose rule names any of
// entitlements, ordered: from the op's cache when surround read them all.
func (o *op) ruleProfiles(entitlements []string) ([]string, error) {
	var ids []string
	for _, e := range entitlements {
		ps, ok := o.cache.rules[e]
		if !ok {
			return o.tx.RuleProfiles(o.ctx, entitlements)
		}
		ids = append(ids, ps...)
	}
	return sortedUnique(ids), nil
}

// prefetchScoped reads the memberships of users in the profiles of scope,
// which are those that contain the entitlements of covers, in one query.
func (o *op) prefetchScoped(users, scope []string, covers map[string]bool) error {
	if len(users) == 0 {
		return nil
	}
	var ms []roster.Member
	if len(scope) > 0 {
		var err error
		if ms, err = o.tx.MembershipsAmong(o.ctx, users, scope); err != nil {
			return err
		}
	}
	if o.cache.scoped == nil || len(o.cache.scoped) >= maxCachedUsers {
		o.cache.scoped = map[string]scopedMembers{}
	}
	for _, u := range users {
		o.cache.scoped[u] = scopedMembers{covers: covers, members: []roster.Member{}}
	}
	for _, m := range ms {
		s := o.cache.scoped[m.User]
		s.members = append(s.members, m)
		o.cache.scoped[m.User] = s
	}
	return nil
}

// prefetchMemberships reads the memberships of users in one query.
func (o *op) prefetchMemberships(users []string) error {
	if len(users) == 0 {
		return nil
	}
	ms, err := o.tx.MembershipsOf(o.ctx, users)
	if err != nil {
		return err
	}
	o.keepMemberships(users, ms)
	return nil
}

// keepMemberships keeps ms, every membership of users ordered by user and
// profile, in the op's cache.
func (o *op) keepMemberships(users []string, ms []roster.Member) {
	if o.cache.memberships == nil || len(o.cache.memberships) >= maxCachedUsers {
		o.cache.memberships = map[string][]roster.Member{}
	}
	for _, u := range users {
		o.cache.memberships[u] = []roster.Member{}
	}
	for _, m := range ms {
		o.cache.memberships[m.User] = append(o.cache.memberships[m.User], m)
	}
}

// grant returns user's grant of entitlement, or ENOTFOUND.
func (o *op) grant(user, entitlement string) (*roster.Grant, error) {
	g, ok, err := o.findGrant(user, entitlement)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, roster.Errorf(roster.ENOTFOUND, "grant of %q to user %q not found", entitlement, user)
	}
	return g, nil
}

// findGrant returns user's grant of entitlement and true, or false when there
// is none: without the error grant makes, which is most of the cost of
// looking up a grant that is not there (as each one a first apply records).
func (o *op) findGrant(user, entitlement string) (*roster.Grant, bool, error) {
	k := accessKey{user, entitlement}
	c, ok := o.cache.grants[k]
	if !ok && !o.cache.allGrants[user] {
		g, err := o.tx.Grant(o.ctx, user, entitlement)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, false, err
		}
		o.cache.resetAccessIfFull()
		if g != nil {
			c = cachedGrant{g: *g, ok: true}
		}
		o.cache.grants[k] = c
	}
	if !c.ok {
		return nil, false, nil
	}
	g := c.g
	g.Sources = slices.Clone(g.Sources)
	return &g, true, nil
}

func (o *op) putGrant(g *roster.Grant) error {
	if err := o.tx.PutGrant(o.ctx, g); err != nil {
		return err
	}
	o.cache.resetAccessIfFull()
	c := *g
	c.Sources = slices.Clone(g.Sources)
	o.cache.grants[accessKey{g.User, g.Entitlement}] = cachedGrant{g: c, ok: true}
	return nil
}

func (o *op) deleteGrant(user, entitlement string) error {
	if err := o.tx.DeleteGrant(o.ctx, user, entitlement); err != nil {
		return err
	}
	o.cache.resetAccessIfFull()
	o.cache.grants[accessKey{user, entitlement}] = cachedGrant{}
	return nil
}

// openTask returns the open task for (user, entitlement, kind), or
// ENOTFOUND.
func (o *op) openTask(user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	k := openKey{accessKey{user, entitlement}, kind}
	id, ok := o.cache.open[k]
	if !ok && !o.cache.allOpen[user] {
		t, err := o.tx.OpenTask(o.ctx, user, entitlement, kind)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
		o.cache.resetAccessIfFull()
		if t != nil {
			o.cache.open[k] = t.ID
			return t, nil
		}
		o.cache.open[k] = 0
	}
	if id == 0 {
		return nil, roster.Errorf(roster.ENOTFOUND, "no open %s task for user %q and entitlement %q", kind, user, entitlement)
	}
	return o.tx.Task(o.ctx, id)
}

// saveNewTask creates t and sets its ID.
func (o *op) saveNewTask(t *roster.Task) error {
	if o.planned != nil && o.planned.dry && !t.Open() {
		// A plan is rolled back, and nothing it does after reads a
		// closed task (a sync reads open ones): its row is not written.
		// Switching dense20k's profiles on, that is 2M rows of five
		// B-trees each. The plan records it (planRecorder.task) with
		// an id of its own, below zero.
		o.planned.closedIDs--
		t.ID = o.planned.closedIDs
		o.noteTask(t)
		return nil
	}
	if err := o.tx.CreateTask(o.ctx, t); err != nil {
		return err
	}
	o.noteTask(t)
	return nil
}

// saveTask saves a change to t.
func (o *op) saveTask(t *roster.Task) error {
	if err := o.tx.UpdateTask(o.ctx, t); err != nil {
		return err
	}
	o.noteTask(t)
	return nil
}

// noteTask keeps the cached open tasks right after t was saved.
func (o *op) noteTask(t *roster.Task) {
	o.cache.resetAccessIfFull()
	k := openKey{accessKey{t.User, t.Entitlement}, t.Kind}
	if t.Open() {
		o.cache.open[k] = t.ID
	} else if id, ok := o.cache.open[k]; ok && id == t.ID {
		o.cache.open[k] = 0
	}
}
