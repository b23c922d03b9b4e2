package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/rosterhq/roster"
)

// syncView is what planning the syncs of many profiles needs, read in one
// transaction (roster.Tx.ScanSync) and kept compactly, so that a pass over
// every profile reads the store once instead of once per profile. Every user
// id is interned once into a dictionary whose indexes follow the ids' order;
// the holders of each rule entitlement and the disabled users are bitmaps
// over those indexes. Members keep their ids as the store handed them over
// (parts of its rows, not one string each): they are only checked against the
// few disabled users. planInput then builds any profile's roster.PlanInput in
// memory, equal to what op.planInput reads from the store one profile at a
// time.
type syncView struct {
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
}

// memberRef is a member of a known profile: their user id, the index of
// their source in syncView.sources, and since when (unix microseconds, the
// precision the stores keep).
type memberRef struct {
	user   string
	source uint32
	since  int64
}

// syncView reads the view of the profiles ps (none of them paused) in o's
// transaction.
func (o *op) syncView(ps []*roster.Profile) (*syncView, error) {
	s, err := o.tenant()
	if err != nil {
		return nil, err
	}
	v := &syncView{settings: s, profiles: ps, rules: make([][]int, len(ps)), disabledIDs: map[string]bool{},
		members: make([][]memberRef, len(ps)), open: make([][]roster.OpenTask, len(ps)),
		denials: make([][]roster.Denial, len(ps)), removals: make([]int, len(ps))}
	scan := roster.SyncScan{Profiles: make([]string, len(ps)), RemovalsSince: o.now.Add(-roster.SafeguardWindow)}
	entitlement := map[string]int{}
	for i, p := range ps {
		scan.Profiles[i] = p.ID
		for _, ent := range p.Automation.AnyEntitlement {
			e, ok := entitlement[ent]
			if !ok {
				e = len(scan.Entitlements)
				entitlement[ent] = e
				scan.Entitlements = append(scan.Entitlements, ent)
			}
			v.rules[i] = append(v.rules[i], e)
		}
	}

	// While reading, holders are collected as lists of indexes; if ids the
	// users table lacks turn up, finish renumbers them in the ids' order.
	var in interner
	holders := make([][]uint32, len(scan.Entitlements))
	source := map[roster.MemberSource]uint32{}
	scan.User = func(id string) error {
		in.user(id)
		return nil
	}
	scan.Disabled = func(user string) error {
		v.disabledIDs[strings.Clone(user)] = true
		return nil
	}
	scan.Holder = func(e int, user string) error {
		holders[e] = append(holders[e], in.intern(user))
		return nil
	}
	scan.Member = func(p int, m roster.Member) error {
		src, ok := source[m.Source]
		if !ok {
			src = uint32(len(v.sources))
			s := roster.MemberSource(strings.Clone(string(m.Source)))
			source[s] = src
			v.sources = append(v.sources, s)
		}
		v.members[p] = append(v.members[p], memberRef{user: m.User, source: src, since: m.Since.UnixMicro()})
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
	if err := o.tx.ScanSync(o.ctx, &scan); err != nil {
		return nil, fmt.Errorf("read the state of %d profiles: %w", len(ps), err)
	}

	rank := in.order()
	v.users = in.ids
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
	for _, ds := range v.denials {
		slices.SortFunc(ds, func(a, b roster.Denial) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Kind, b.Kind))
		})
	}
	return v, nil
}

// interner gives each user id an index: the users the store lists, in
// order, and then any other id met (a grant may name a user the users table
// lacks).
type interner struct {
	ids []string
	// known is how many of ids the store listed; sorted says they came in
	// order.
	known  int
	sorted bool
	// Ids of up to 15 bytes are looked up by value, in a map the garbage
	// collector need not scan; longer ones by string.
	short map[shortID]uint32
	long  map[string]uint32
}

// shortID is an id of up to 15 bytes followed by its length.
type shortID [16]byte

func toShort(id string) (k shortID, ok bool) {
	if len(id) >= len(k) {
		return k, false
	}
	copy(k[:], id)
	k[len(k)-1] = byte(len(id))
	return k, true
}

// user adds a user the store lists. The id is kept as given: the store's
// buffer, if it shares one, holds little else.
func (in *interner) user(id string) {
	if len(in.ids) == 0 {
		in.sorted = true
	} else if id <= in.ids[len(in.ids)-1] {
		in.sorted = false
	}
	in.add(id)
	in.known = len(in.ids)
}

// intern returns the index of id, giving it one if it has none.
func (in *interner) intern(id string) uint32 {
	if k, ok := toShort(id); ok {
		if i, ok := in.short[k]; ok {
			return i
		}
	} else if i, ok := in.long[id]; ok {
		return i
	}
	// The store may hand id over as part of a larger buffer: keep a copy.
	return in.add(strings.Clone(id))
}

func (in *interner) add(id string) uint32 {
	i := uint32(len(in.ids))
	in.ids = append(in.ids, id)
	if k, ok := toShort(id); ok {
		if in.short == nil {
			in.short = map[shortID]uint32{}
		}
		in.short[k] = i
	} else {
		if in.long == nil {
			in.long = map[string]uint32{}
		}
		in.long[id] = i
	}
	return i
}

// order sorts the ids, when they are not already, and returns for each old
// index the new one, or nil when the indexes stay as they are.
func (in *interner) order() []uint32 {
	if in.sorted && len(in.ids) == in.known {
		return nil
	}
	order := make([]uint32, len(in.ids))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return cmp.Compare(in.ids[a], in.ids[b]) })
	rank := make([]uint32, len(order))
	ids := make([]string, len(order))
	for r, old := range order {
		rank[old] = uint32(r)
		ids[r] = in.ids[old]
	}
	in.ids = ids
	return rank
}

// user returns the index of a user id, if the view knows it.
func (v *syncView) user(id string) (uint32, bool) {
	i, ok := slices.BinarySearch(v.users, id)
	return uint32(i), ok
}

// planInput builds the planner's view of the i-th profile, as op.planInput
// would read it.
func (v *syncView) planInput(i int) roster.PlanInput {
	var in roster.PlanInput
	v.fill(i, &in)
	if len(in.Matching) == 0 {
		in.Matching = nil
	}
	return in
}

// fill sets in to the planner's view of the i-th profile, reusing the
// slices in already holds (PlanSync keeps none of them), except that
// Matching may be empty rather than nil.
func (v *syncView) fill(i int, in *roster.PlanInput) {
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
	rule := make([]*roaring.Bitmap, len(v.rules[i]))
	for j, e := range v.rules[i] {
		rule[j] = v.holders[e]
	}
	holders := roaring.FastOr(rule...)

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

	holders.AndNot(v.disabled)
	for _, x := range p.Automation.ExcludedUsers {
		if u, ok := v.user(x); ok {
			holders.Remove(u)
		}
	}
	in.Matching = v.ids(holders, in.Matching)
	in.Denials = append(in.Denials, v.denials[i]...)
	in.RecentRemovals = v.removals[i]
}

// ids appends the ids of the users in b, in order, to out.
func (v *syncView) ids(b *roaring.Bitmap, out []string) []string {
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
