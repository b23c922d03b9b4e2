// Package syncview reads, in one pass over the store, what planning the
// syncs of many profiles needs, and keeps it compactly: a sync of every
// profile reads the organisation once instead of once per profile, and then
// builds each profile's roster.PlanInput for the pure planner
// (roster.PlanSync) in memory. It is performance mechanics on the hot path
// of a steady-state sync; what a sync does is the engine's.
package syncview

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/rosterhq/roster"
)

// View is what planning the syncs of many profiles needs, read in one
// transaction (roster.Tx.ScanSync) and kept compactly. Every user id is
// interned once into a dictionary whose indexes follow the ids' order; the
// holders of each rule entitlement and the disabled users are bitmaps over
// those indexes. Members keep their ids as the store handed them over (parts
// of its rows, not one string each): they are only checked against the few
// disabled users. PlanInput and Fill then build any profile's
// roster.PlanInput in memory.
type View struct {
	settings *roster.Settings
	profiles []*roster.Profile
	// rules holds, for each profile, the positions of its rule's
	// entitlements in holders.
	rules [][]int
	// users maps a user index to its id; ids are sorted, so an index's order
	// is its id's.
	users    []string
	disabled *roaring.Bitmap
	// disabledIDs holds the ids of the disabled users.
	disabledIDs map[string]bool
	holders     []*roaring.Bitmap
	// members, open and denials are by profile: members ordered by user,
	// open tasks by id, denials by user and kind.
	members  [][]memberRef
	sources  []roster.MemberSource
	open     [][]roster.OpenTask
	denials  [][]roster.Denial
	removals []int
	// expr and exprErrs hold, for each profile with an expression, the
	// users it is true for and those it could not be evaluated for (see
	// Matches); nil for the others.
	expr, exprErrs []*roaring.Bitmap

	// What Refresh needs besides: the entitlements whose holders are in
	// holders, each profile's RuleKey, the profiles with an expression,
	// and the index of each member source in sources.
	ents     []string
	keys     []string
	xs       []exprProfile
	sourceAt map[roster.MemberSource]uint32
}

// memberRef is a member of a known profile: their user id, the index of
// their source in View.sources, and since when (unix microseconds, the
// precision the stores keep).
type memberRef struct {
	user   string
	source uint32
	since  int64
}

// Read reads, in tx, the view of the profiles ps (none of them paused) under
// the tenant settings s, counting the removals automation made since the
// safeguard's window before now.
//
// The matches of the profiles' expressions come from m, which keeps them
// from one view to the next (see Matches); nil evaluates every expression
// afresh. j, when tx may roll back, records what m learnt from tx (see
// Journal); nil for a read-only transaction.
func Read(ctx context.Context, tx roster.Tx, s *roster.Settings, ps []*roster.Profile, now time.Time, m *Matches, j *Journal) (*View, error) {
	return read(ctx, tx, s, ps, now, m, j, false)
}

// Matching returns the users who match p's rule now — active, not
// excluded, holding any of its entitlements if it names any, and for whom
// its expression is true — sorted, and the number of those (active, not
// excluded, holding one of the entitlements) its expression could not be
// evaluated for. It reads only what that takes: the users changed since m
// last looked, the disabled users and the holders of the entitlements p's
// rule reads, not every user, nor p's members or tasks. j is as for Read.
func Matching(ctx context.Context, tx roster.Tx, p *roster.Profile, m *Matches, j *Journal) (matching []string, errors int, err error) {
	v, err := read(ctx, tx, &roster.Settings{}, []*roster.Profile{p}, time.Unix(0, 0).UTC(), m, j, true)
	if err != nil {
		return nil, 0, err
	}
	var in roster.PlanInput
	v.Fill(0, &in)
	return in.Matching, in.Errors, nil
}

func read(ctx context.Context, tx roster.Tx, s *roster.Settings, ps []*roster.Profile, now time.Time, m *Matches, j *Journal, matchOnly bool) (*View, error) {
	v := &View{settings: s, profiles: ps, rules: make([][]int, len(ps)), disabledIDs: map[string]bool{},
		members: make([][]memberRef, len(ps)), open: make([][]roster.OpenTask, len(ps)),
		denials: make([][]roster.Denial, len(ps)), removals: make([]int, len(ps)),
		expr: make([]*roaring.Bitmap, len(ps)), exprErrs: make([]*roaring.Bitmap, len(ps)),
		keys: make([]string, len(ps)), sourceAt: map[roster.MemberSource]uint32{}}
	scan := roster.SyncScan{Profiles: make([]string, len(ps)), RemovalsSince: now.Add(-roster.SafeguardWindow)}
	entitlement := map[string]int{}
	position := func(ent string) int {
		e, ok := entitlement[ent]
		if !ok {
			e = len(scan.Entitlements)
			entitlement[ent] = e
			scan.Entitlements = append(scan.Entitlements, ent)
		}
		return e
	}
	var xs []exprProfile
	for i, p := range ps {
		scan.Profiles[i] = p.ID
		v.keys[i] = RuleKey(p)
		for _, ent := range p.Automation.AnyEntitlement {
			v.rules[i] = append(v.rules[i], position(ent))
		}
		if p.Automation.Expression != "" {
			x := exprProfile{i: i}
			if r := p.Automation.Reads; r != nil {
				x.ents = append(slices.Clone(r.Entitlements), mapSlice(r.Profiles, roster.EnrollmentEntitlement)...)
			}
			for _, ent := range x.ents {
				x.pos = append(x.pos, position(ent))
			}
			xs = append(xs, x)
		}
	}
	// With expressions, only the users changed since m last looked are
	// read again (their ids and revs).
	if len(xs) > 0 && m == nil {
		m = NewMatches()
	}
	var (
		changed []changedUser
		base    []string
	)
	if len(xs) > 0 {
		base, scan.RevsAfter = m.since()
		scan.ChangedUser = func(id string, rev int64) error {
			changed = append(changed, changedUser{id: strings.Clone(id), rev: rev})
			return nil
		}
	}

	// While reading, holders are collected as lists of indexes; if ids the
	// users table lacks turn up, finish renumbers them in the ids' order.
	var in interner
	holders := make([][]uint32, len(scan.Entitlements))
	// Matching does not read every user: its users are those m knows and
	// those changed since, interned only when there are holders to intern
	// or new users (seed).
	seeded := !matchOnly
	seed := func() {
		if seeded {
			return
		}
		seeded = true
		for _, id := range base {
			in.user(id)
		}
		for _, c := range changed {
			in.intern(c.id)
		}
	}
	if !matchOnly {
		scan.User = func(id string) error {
			in.user(id)
			return nil
		}
	}
	scan.Disabled = func(user string) error {
		v.disabledIDs[strings.Clone(user)] = true
		return nil
	}
	scan.Holder = func(e int, user string) error {
		seed()
		holders[e] = append(holders[e], in.intern(user))
		return nil
	}
	scan.Member = func(p int, m roster.Member) error {
		v.members[p] = append(v.members[p], memberRef{user: m.User, source: v.source(m.Source), since: m.Since.UnixMicro()})
		return nil
	}
	scan.OpenTask = func(p int, t roster.OpenTask) error {
		v.open[p] = append(v.open[p], t)
		return nil
	}
	scan.Denial = func(p int, d roster.Denial) error {
		v.denials[p] = append(v.denials[p], d)
		return nil
	}
	scan.Removals = func(p int, n int) error {
		v.removals[p] = n
		return nil
	}
	if matchOnly {
		scan.Profiles = nil
	}
	if err := tx.ScanSync(ctx, &scan); err != nil {
		return nil, fmt.Errorf("read the state of %d profiles: %w", len(ps), err)
	}

	if !seeded {
		for _, c := range changed {
			if _, ok := slices.BinarySearch(base, c.id); !ok {
				seed() // a new user
				break
			}
		}
	}
	rank := in.order()
	v.users = in.ids
	if !seeded {
		v.users = base
	}
	in = interner{}
	v.holders = make([]*roaring.Bitmap, len(holders))
	for e, xs := range holders {
		if rank != nil {
			for i, x := range xs {
				xs[i] = rank[x]
			}
		}
		slices.Sort(xs)
		v.holders[e] = roaring.BitmapOf(xs...)
		holders[e] = nil
	}
	v.disabled = roaring.New()
	for id := range v.disabledIDs {
		if u, ok := v.user(id); ok {
			v.disabled.Add(u)
		}
	}
	byUser := func(a, b memberRef) int { return strings.Compare(a.user, b.user) }
	for _, ms := range v.members {
		if !slices.IsSortedFunc(ms, byUser) {
			slices.SortFunc(ms, byUser)
		}
	}
	sortDenials(v.denials)
	v.ents, v.xs = scan.Entitlements, xs
	if len(xs) > 0 {
		if err := v.evaluate(ctx, tx, m, j, changed, xs); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// source returns the index of a member source in v.sources, adding it.
func (v *View) source(s roster.MemberSource) uint32 {
	i, ok := v.sourceAt[s]
	if !ok {
		i = uint32(len(v.sources))
		s = roster.MemberSource(strings.Clone(string(s)))
		v.sourceAt[s] = i
		v.sources = append(v.sources, s)
	}
	return i
}

// sortDenials sorts each profile's denials by user and kind.
func sortDenials(denials [][]roster.Denial) {
	for _, ds := range denials {
		slices.SortFunc(ds, func(a, b roster.Denial) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Kind, b.Kind))
		})
	}
}

// evaluate brings m up to date with v, in tx, for the users changed since
// m last looked, and sets v's matches of the expression profiles xs (see
// Matches.update).
func (v *View) evaluate(ctx context.Context, tx roster.Tx, m *Matches, j *Journal, changed []changedUser, xs []exprProfile) error {
	err := m.update(ctx, v, changed, j, xs, func(ctx context.Context, ids []string, all bool) ([]roster.User, error) {
		if all {
			return tx.AllUsers(ctx)
		}
		var out []roster.User
		for part := range slices.Chunk(ids, refreshChunk) {
			us, err := tx.UsersOf(ctx, part)
			if err != nil {
				return nil, err
			}
			out = append(out, us...)
		}
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("evaluate the expressions of %d profiles: %w", len(xs), err)
	}
	return nil
}

func mapSlice(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// user returns the index of a user id, if the view knows it.
func (v *View) user(id string) (uint32, bool) {
	i, ok := slices.BinarySearch(v.users, id)
	return uint32(i), ok
}

// PlanInput builds the planner's view of the i-th profile of those Read was
// given: what reading the profile's state from the store one query at a
// time gives.
func (v *View) PlanInput(i int) roster.PlanInput {
	var in roster.PlanInput
	v.Fill(i, &in)
	if len(in.Matching) == 0 {
		in.Matching = nil
	}
	return in
}

// Fill sets in to the planner's view of the i-th profile, as PlanInput
// does, reusing the slices in already holds (roster.PlanSync keeps none of
// them), except that Matching may be empty rather than nil. Fill only reads
// the view: goroutines may fill their own inputs at once.
func (v *View) Fill(i int, in *roster.PlanInput) {
	p := v.profiles[i]
	*in = roster.PlanInput{Profile: p.ID, Mode: p.Automation.Mode, Safeguard: p.Automation.Safeguard, Thresholds: v.settings.Safeguard,
		Matching: in.Matching[:0], Disabled: in.Disabled[:0], Members: in.Members[:0],
		OpenEnrollments: in.OpenEnrollments[:0], OpenUnenrollments: in.OpenUnenrollments[:0], Denials: in.Denials[:0]}
	if in.Disabled == nil {
		in.Disabled = []string{}
	}
	if in.Members == nil {
		in.Members = make([]roster.Member, 0, len(v.members[i]))
	}
	if in.Denials == nil {
		in.Denials = []roster.Denial{}
	}
	holders, errs := v.candidates(i)
	in.Errors = errs

	// The disabled users among those the profile concerns: holders, members
	// and the subjects of open tasks.
	in.Disabled = v.ids(roaring.And(holders, v.disabled), in.Disabled)
	extra := false
	for _, m := range v.members[i] {
		if v.disabledIDs[m.user] {
			in.Disabled, extra = append(in.Disabled, m.user), true
		}
		in.Members = append(in.Members, roster.Member{Profile: p.ID, User: m.user, Source: v.sources[m.source], Since: time.UnixMicro(m.since).UTC()})
	}
	for _, t := range v.open[i] {
		if v.disabledIDs[t.User] {
			in.Disabled, extra = append(in.Disabled, t.User), true
		}
		if t.Kind == roster.TaskGrant {
			in.OpenEnrollments = append(in.OpenEnrollments, t)
		} else {
			in.OpenUnenrollments = append(in.OpenUnenrollments, t)
		}
	}
	if extra {
		slices.Sort(in.Disabled)
		in.Disabled = slices.Compact(in.Disabled)
	}

	in.Matching = v.ids(v.matching(i, holders), in.Matching)
	in.Denials = append(in.Denials, v.denials[i]...)
	in.RecentRemovals = v.removals[i]
}

// candidates returns the i-th profile's candidates — the holders of any of
// its rule's entitlements, or everyone when it names none, and then those
// its expression is true for — as a bitmap of the caller's own, and the
// number of active candidates not excluded its expression could not be
// evaluated for.
func (v *View) candidates(i int) (holders *roaring.Bitmap, errors int) {
	if len(v.rules[i]) > 0 || v.expr[i] == nil {
		rule := make([]*roaring.Bitmap, len(v.rules[i]))
		for j, e := range v.rules[i] {
			rule[j] = v.holders[e]
		}
		holders = roaring.FastOr(rule...)
	}
	if v.expr[i] != nil {
		// The errors that count are those of active candidates not
		// excluded.
		errs := roaring.AndNot(v.exprErrs[i], v.disabled)
		if holders == nil {
			holders = v.expr[i].Clone()
		} else {
			errs.And(holders)
			holders.And(v.expr[i])
		}
		for _, x := range v.profiles[i].Automation.ExcludedUsers {
			if u, ok := v.user(x); ok {
				errs.Remove(u)
			}
		}
		errors = int(errs.GetCardinality())
	}
	return holders, errors
}

// matching takes from the i-th profile's candidates (which it changes and
// returns) the disabled and the excluded users: those left match its rule.
func (v *View) matching(i int, candidates *roaring.Bitmap) *roaring.Bitmap {
	candidates.AndNot(v.disabled)
	for _, x := range v.profiles[i].Automation.ExcludedUsers {
		if u, ok := v.user(x); ok {
			candidates.Remove(u)
		}
	}
	return candidates
}

// ids appends the ids of the users in b, in order, to out.
func (v *View) ids(b *roaring.Bitmap, out []string) []string {
	out = slices.Grow(out, int(b.GetCardinality()))
	var buf [256]uint32
	it := b.ManyIterator()
	for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
		for _, u := range buf[:n] {
			out = append(out, v.users[u])
		}
	}
	return out
}

// Quiet reports whether the plan of the i-th profile is certainly empty —
// whether roster.PlanSync of PlanInput(i) would enroll, unenroll, cancel and
// clear nothing (and so not pause either, which takes an unenrollment) —
// and the number of users its expression could not be evaluated for, as
// PlanInput's Errors. It answers without building the planner's input (a
// Member per member, an id per matching user, a map of each): it walks the
// matching users and the members side by side, both in the order of ids,
// and looks at the open tasks only for those who are on one side alone.
// That is most of a steady pass. false says only that the plan is to be
// made: a profile with denials, for one, is always left to the planner.
func (v *View) Quiet(i int) (quiet bool, errors int) {
	c, errors := v.candidates(i)
	if len(v.denials[i]) > 0 {
		return false, errors
	}
	matching := v.matching(i, c)
	// joining: matching users who are not members; leaving: members who do
	// not match and whom the rule would let go (automation members, and
	// disabled users however they joined). Either is quiet only while an
	// open task of the kind is under way for them.
	var joining, leaving []string
	members := v.members[i]
	j := 0
	leaves := func(m memberRef) bool {
		return v.sources[m.source] == roster.MemberAutomation || v.disabledIDs[m.user]
	}
	var buf [256]uint32
	it := matching.ManyIterator()
	for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
		for _, x := range buf[:n] {
			u := v.users[x]
			for ; j < len(members) && members[j].user < u; j++ {
				if leaves(members[j]) {
					leaving = append(leaving, members[j].user)
				}
			}
			if j < len(members) && members[j].user == u {
				j++
			} else {
				joining = append(joining, u)
			}
		}
	}
	for ; j < len(members); j++ {
		if leaves(members[j]) {
			leaving = append(leaving, members[j].user)
		}
	}
	matches := func(user string) bool {
		u, ok := v.user(user)
		return ok && matching.Contains(u)
	}
	var enrolling, unenrolling map[string]bool
	if len(joining) > 0 {
		enrolling = map[string]bool{}
	}
	if len(leaving) > 0 {
		unenrolling = map[string]bool{}
	}
	for _, t := range v.open[i] {
		if t.Kind == roster.TaskGrant {
			// Cancelled: a disabled user's, or automation's for a user who
			// no longer matches.
			if v.disabledIDs[t.User] || t.Origin == roster.OriginAutomation && !matches(t.User) {
				return false, errors
			}
			if enrolling != nil {
				enrolling[t.User] = true
			}
		} else {
			if t.Origin == roster.OriginAutomation && matches(t.User) {
				return false, errors
			}
			if unenrolling != nil {
				unenrolling[t.User] = true
			}
		}
	}
	for _, u := range joining {
		if !enrolling[u] {
			return false, errors
		}
	}
	for _, u := range leaving {
		if !unenrolling[u] {
			return false, errors
		}
	}
	return true, errors
}
