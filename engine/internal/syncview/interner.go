package syncview

// The dictionary of user ids behind the view's bitmaps.

import (
	"cmp"
	"slices"
	"strings"
)

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
