package syncview

// The matches of profiles' expressions (rules on attributes), kept from one
// view to the next so that a sync evaluates an expression only for the
// users whose fields, or whose holding of an entitlement the expression
// names, changed since, and for everyone only when the expression itself
// changed.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/rule"
)

// Matches keeps, across views, what each profile's expression matched: a
// bitmap of the users it is true for and one of those it could not be
// evaluated for, with what they were evaluated against — each user's fields
// (kept interned, with the user's rev, the store's count of changes to
// them) and the holders of the entitlements the expression names
// (user.has, and a profile's membership for user.member_of). A view
// evaluates again only the users whose rev moved or whose holding of one of
// those entitlements changed, and every user only for an expression it has
// not seen. An expression's value depends on the fields it reads alone, so
// users alike in those fields share one evaluation.
//
// A rev is a store-wide count given in commit order (roster.SyncScan), so a
// view finds the users changed since with rev > the largest rev kept
// (last), without reading every user. A view whose transaction reads an
// older snapshot than the kept state finds nothing newer and uses the kept
// state, which is newer than its snapshot; a user the kept state has and a
// view lacks is forgotten and read again when next seen. What a view of a
// transaction that wrote users read may be uncommitted: its Journal undoes
// it if the transaction rolls back. It is safe for concurrent use: views
// update it one at a time.
type Matches struct {
	mu       sync.Mutex
	compiled map[string]*rule.Rule
	// users is the index space of the bitmaps (a view's users); revs and
	// rows are by index: rev -1 is a user not read (or not a user).
	users []string
	revs  []int64
	rows  []fieldRow
	// last is the largest rev read (-1: none); forced holds the users to
	// read again whatever their rev (see Journal).
	last   int64
	forced map[string]bool
	dict   [numFields]dictionary
	// attrs holds the attributes behind each value of the attributes field.
	attrs    []map[string]string
	profiles map[string]*exprState
	evals    atomic.Int64
	// epoch counts the views that found users changed, and log holds the
	// users each found changed (views may bring some profiles up to date
	// and not others: each profile's state says up to which epoch it is).
	// Entries no profile needs are dropped; old ones are merged, which
	// only makes a profile evaluate more users than it needs to.
	epoch int64
	log   []changeSet
}

// changeSet is the users a view found changed, at an epoch.
type changeSet struct {
	epoch int64
	users *roaring.Bitmap
}

// maxLog bounds Matches.log: past it, the older half is merged.
const maxLog = 64

// numFields is len(rule.Fields); attributesField is the index of
// "attributes" in it.
const (
	numFields       = 12
	attributesField = 11
)

// fieldRow holds a user's fields as indexes into Matches.dict, in the order
// of rule.Fields.
type fieldRow [numFields]uint32

// dictionary interns the values of one field.
type dictionary struct {
	ids  map[string]uint32
	vals []string
}

func (d *dictionary) id(v string) uint32 {
	if i, ok := d.ids[v]; ok {
		return i
	}
	if d.ids == nil {
		d.ids = map[string]uint32{}
	}
	i := uint32(len(d.vals))
	d.vals = append(d.vals, v)
	d.ids[v] = i
	return i
}

// exprState is what one profile's expression matched, and against what.
type exprState struct {
	source string
	rule   *rule.Rule
	// fields are the indexes (in rule.Fields) of the fields it reads; ents
	// the entitlements whose holding it reads, and holders their holders
	// when it was last evaluated, in the same order.
	fields  []int
	ents    []string
	holders []*roaring.Bitmap
	// memo holds the outcome for each combination of the values of fields
	// and the holding of ents seen.
	memo        map[string]outcome
	match, errs *roaring.Bitmap
	// epoch is the Matches epoch match and errs are up to date with.
	epoch int64
}

// outcome is an evaluation's result.
type outcome uint8

const (
	noMatch outcome = iota
	match
	evalError
)

// NewMatches returns an empty Matches.
func NewMatches() *Matches {
	return &Matches{compiled: map[string]*rule.Rule{}, profiles: map[string]*exprState{}, last: -1, forced: map[string]bool{}}
}

// changedUser is a user whose rev is above Matches.last, as a scan read it.
type changedUser struct {
	id  string
	rev int64
}

// since returns the users m knows (sorted; the slice is never changed
// afterwards) and the rev above which a view must read the users changed.
func (m *Matches) since() ([]string, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.users, m.last
}

// Journal records what the views of one transaction taught a Matches: the
// users whose fields they read, and the largest rev kept before. A
// transaction that wrote users sees its own changes before they commit; if
// it rolls back, Undo makes the Matches read those users again (a
// rolled-back rev may be given again, on SQLite, to another change). The
// zero Journal records nothing yet.
type Journal struct {
	m     *Matches
	from  int64
	users []string
}

// Undo forgets what the views of j's transaction taught m: its users are
// read again at the next view, and so is every user changed since. Undoing
// a Journal twice does no more than once.
func (j *Journal) Undo() {
	if j == nil || j.m == nil {
		return
	}
	m := j.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = min(m.last, j.from)
	for _, id := range j.users {
		m.forced[id] = true
	}
	*j = Journal{}
}

// Evaluations returns how many times expressions were evaluated, in all:
// users alike in what an expression reads count once.
func (m *Matches) Evaluations() int64 { return m.evals.Load() }

// exprProfile is an expression profile of a view: its position among the
// view's profiles and the positions of the entitlements its expression
// reads among the view's holders.
type exprProfile struct {
	i    int
	ents []string
	pos  []int
}

// update brings m up to date with the view v, in which the users changed
// are those whose rev is above the last rev m kept when v was read, and
// sets the view's matches of the expression profiles xs; j, if not nil,
// records what it read. users reads the rows of users m lacks or that
// changed.
func (m *Matches) update(ctx context.Context, v *View, changedUsers []changedUser, j *Journal, xs []exprProfile, users func(ctx context.Context, ids []string, all bool) ([]roster.User, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.align(v.users)

	// The users whose fields changed, and those to read again, read again.
	changed := roaring.New()
	revs := map[uint32]int64{}
	last := m.last
	for _, c := range changedUsers {
		last = max(last, c.rev)
		if x, ok := v.user(c.id); ok && c.rev > m.revs[x] {
			changed.Add(x)
			revs[x] = c.rev
		}
	}
	for id := range m.forced {
		if x, ok := v.user(id); ok {
			changed.Add(x)
		}
	}
	if !changed.IsEmpty() {
		ids := v.ids(changed, nil)
		rows, err := users(ctx, ids, len(ids) > len(v.users)/2)
		if err != nil {
			return fmt.Errorf("read the fields of %d users: %w", len(ids), err)
		}
		if j != nil {
			if j.m == nil {
				*j = Journal{m: m, from: m.last}
			}
			j.from = min(j.from, m.last)
			j.users = append(j.users, ids...)
		}
		// What the store did not return is not a user (a grant may name
		// an id the users table lacks): its rev is -1. A user read again
		// whatever their rev has rev 0, below any a change gives.
		for _, x := range changed.ToArray() {
			m.revs[x] = -1
		}
		for i := range rows {
			u := &rows[i]
			if x, ok := v.user(u.ID); ok {
				m.rows[x] = m.row(u)
				m.revs[x] = revs[x] // 0 when only forced
			}
		}
		for _, id := range ids {
			delete(m.forced, id)
		}
		m.epoch++
		m.log = append(m.log, changeSet{epoch: m.epoch, users: changed})
	}
	m.last = max(m.last, last)

	n := uint64(len(v.users))
	for _, x := range xs {
		p := v.profiles[x.i]
		src := p.Automation.Expression
		now := make([]*roaring.Bitmap, len(x.pos))
		for k, e := range x.pos {
			now[k] = v.holders[e]
		}
		st := m.profiles[p.ID]
		var dirty *roaring.Bitmap
		if st == nil || st.source != src || !slices.Equal(st.ents, x.ents) {
			r, err := m.compile(src)
			if err != nil {
				// A stored expression compiled when it was applied; one
				// that does not now matches nobody and errs for everyone.
				st = &exprState{source: src, match: roaring.New(), errs: roaring.New()}
				st.errs.AddRange(0, n)
				m.profiles[p.ID] = st
				v.expr[x.i], v.exprErrs[x.i] = st.match, st.errs
				continue
			}
			st = &exprState{source: src, rule: r, ents: x.ents, memo: map[string]outcome{},
				match: roaring.New(), errs: roaring.New()}
			for _, f := range r.Reads().Fields {
				st.fields = append(st.fields, slices.Index(rule.Fields, f))
			}
			m.profiles[p.ID] = st
			dirty = roaring.New()
			dirty.AddRange(0, n)
		} else {
			dirty = roaring.New()
			for _, c := range m.log {
				if c.epoch > st.epoch {
					dirty.Or(c.users)
				}
			}
			for k := range now {
				dirty.Or(roaring.Xor(st.holders[k], now[k]))
			}
		}
		st.holders = now
		st.epoch = m.epoch
		if !dirty.IsEmpty() {
			// The view keeps the bitmaps it was given: change copies.
			st.match, st.errs = st.match.Clone(), st.errs.Clone()
			m.evaluate(st, dirty, now)
		}
		v.expr[x.i], v.exprErrs[x.i] = st.match, st.errs
	}
	m.trimLog()
	return nil
}

// trimLog drops the change sets every profile's state has seen, and merges
// the older half of the rest when there are too many.
func (m *Matches) trimLog() {
	least := m.epoch
	for _, st := range m.profiles {
		least = min(least, st.epoch)
	}
	m.log = slices.DeleteFunc(m.log, func(c changeSet) bool { return c.epoch <= least })
	if len(m.log) > maxLog {
		half := len(m.log) / 2
		merged := changeSet{epoch: m.log[half-1].epoch, users: roaring.New()}
		for _, c := range m.log[:half] {
			merged.users.Or(c.users)
		}
		m.log = append([]changeSet{merged}, m.log[half:]...)
	}
}

// evaluate evaluates st's expression for the users in dirty, whose
// holding of st.ents is in holders.
func (m *Matches) evaluate(st *exprState, dirty *roaring.Bitmap, holders []*roaring.Bitmap) {
	key := make([]byte, 0, 4*len(st.fields)+len(holders))
	var buf [256]uint32
	it := dirty.ManyIterator()
	for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
		for _, x := range buf[:n] {
			if m.revs[x] < 0 {
				st.match.Remove(x)
				st.errs.Remove(x)
				continue
			}
			row := &m.rows[x]
			key = key[:0]
			for _, f := range st.fields {
				key = append(key, byte(row[f]), byte(row[f]>>8), byte(row[f]>>16), byte(row[f]>>24))
			}
			for _, h := range holders {
				if h.Contains(x) {
					key = append(key, 1)
				} else {
					key = append(key, 0)
				}
			}
			out, ok := st.memo[unsafe.String(unsafe.SliceData(key), len(key))]
			if !ok {
				out = m.eval(st, row, key[4*len(st.fields):])
				st.memo[string(key)] = out
			}
			switch out {
			case match:
				st.match.Add(x)
				st.errs.Remove(x)
			case evalError:
				st.match.Remove(x)
				st.errs.Add(x)
			default:
				st.match.Remove(x)
				st.errs.Remove(x)
			}
		}
	}
}

// eval evaluates st's expression for a user with the fields row, holding
// each of st.ents whose byte in holds is 1.
func (m *Matches) eval(st *exprState, row *fieldRow, holds []byte) outcome {
	m.evals.Add(1)
	has := func(e string) bool {
		k := slices.Index(st.ents, e)
		return k >= 0 && holds[k] == 1
	}
	memberOf := func(p string) bool { return has(roster.EnrollmentEntitlement(p)) }
	val := func(f int) string { return m.dict[f].vals[row[f]] }
	u := &rule.User{ID: val(0), Email: val(1), Name: val(2), Department: val(3), Title: val(4), Location: val(5),
		EmploymentType: val(6), Manager: val(7), Status: val(8), StartDate: val(9), EndDate: val(10),
		Attributes: m.attrs[row[attributesField]], Has: has, MemberOf: memberOf}
	ok, err := st.rule.Eval(u)
	switch {
	case err != nil:
		return evalError
	case ok:
		return match
	}
	return noMatch
}

// row interns u's fields.
func (m *Matches) row(u *roster.User) fieldRow {
	var r fieldRow
	for f, v := range []string{u.ID, u.Email, u.Name, u.Department, u.Title, u.Location, u.EmploymentType,
		u.Manager, u.Status, u.StartDate, u.EndDate} {
		r[f] = m.dict[f].id(strings.Clone(v))
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) {
		fmt.Fprintf(&b, "%q=%q;", k, u.Attributes[k])
	}
	d := &m.dict[attributesField]
	if _, ok := d.ids[b.String()]; !ok {
		m.attrs = append(m.attrs, maps.Clone(u.Attributes))
	}
	r[attributesField] = d.id(b.String())
	return r
}

// compile returns the compiled expression src, compiling it once.
func (m *Matches) compile(src string) (*rule.Rule, error) {
	if r, ok := m.compiled[src]; ok {
		return r, nil
	}
	r, err := rule.Compile(src)
	if err != nil {
		return nil, err
	}
	m.compiled[src] = r
	return r, nil
}

// align renumbers m's state from its users to users (both sorted): a user
// new to m has rev -1, and one users lacks is dropped.
func (m *Matches) align(users []string) {
	if len(m.attrs) == 0 {
		// Attribute value 0 is "no attributes".
		m.dict[attributesField].id("")
		m.attrs = append(m.attrs, nil)
	}
	if slices.Equal(m.users, users) {
		return
	}
	revs := make([]int64, len(users))
	rows := make([]fieldRow, len(users))
	// to maps an old index to its new one; gone marks the old ones dropped.
	to := make([]uint32, len(m.users))
	gone := make([]bool, len(m.users))
	i := 0
	drop := func(i int) {
		gone[i] = true
		if m.revs[i] >= 0 {
			// A user this view lacks (it reads an older snapshot): read
			// them again when a view next has them.
			m.last = min(m.last, m.revs[i]-1)
			m.forced[m.users[i]] = true
		}
	}
	for j, id := range users {
		for i < len(m.users) && m.users[i] < id {
			drop(i)
			i++
		}
		if i < len(m.users) && m.users[i] == id {
			to[i] = uint32(j)
			revs[j], rows[j] = m.revs[i], m.rows[i]
			i++
		} else {
			revs[j] = -1
		}
	}
	for ; i < len(m.users); i++ {
		drop(i)
	}
	remap := func(b *roaring.Bitmap) *roaring.Bitmap {
		out := make([]uint32, 0, b.GetCardinality())
		it := b.Iterator()
		for it.HasNext() {
			x := it.Next()
			if !gone[x] {
				out = append(out, to[x])
			}
		}
		return roaring.BitmapOf(out...) // to keeps the order
	}
	for i := range m.log {
		m.log[i].users = remap(m.log[i].users)
	}
	for _, st := range m.profiles {
		st.match, st.errs = remap(st.match), remap(st.errs)
		for k, h := range st.holders {
			st.holders[k] = remap(h)
		}
	}
	m.users, m.revs, m.rows = slices.Clone(users), revs, rows
}
