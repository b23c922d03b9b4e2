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
//
// The listed users come in the order of their ids, and the ids met (the
// holders of an entitlement) mostly in runs in that order too: a listed id
// is then found by searching the listed ids forward from where the last
// search ended (find), and only the other ids go into a map. Listed out of
// order, every id is looked up in the map.
type interner struct {
	ids []string
	// known is how many of ids the store listed; sorted says they came in
	// order.
	known  int
	sorted bool
	// keys hold, for each listed id (once sorted and searched), the 8
	// bytes after the prefix every listed id shares, as a number in the
	// same order as the ids: a search compares numbers, and strings only
	// among the ids of one key (most often there is one).
	keys   []uint64
	prefix string
	// at is where the last search among the listed ids ended.
	at int
	// mapped is how many of ids the maps hold: the ids not listed when the
	// listed ones are sorted, every id otherwise. Ids of up to 15 bytes are
	// looked up by value, in a map the garbage collector need not scan;
	// longer ones by string.
	mapped int
	short  map[shortID]uint32
	long   map[string]uint32
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

// user adds a user the store lists, before any other id is interned. The id
// is kept as given: the store's buffer, if it shares one, holds little
// else.
func (in *interner) user(id string) {
	if len(in.ids) == 0 {
		in.sorted = true
	} else if id <= in.ids[len(in.ids)-1] {
		in.sorted = false
	}
	in.ids = append(in.ids, id)
	in.known = len(in.ids)
}

// intern returns the index of id, giving it one if it has none.
func (in *interner) intern(id string) uint32 {
	if in.sorted {
		if i, ok := in.find(id); ok {
			return uint32(i)
		}
	} else {
		// Out of order: every listed id goes into the maps.
		for ; in.mapped < len(in.ids); in.mapped++ {
			in.index(in.ids[in.mapped], uint32(in.mapped))
		}
	}
	if k, ok := toShort(id); ok {
		if i, ok := in.short[k]; ok {
			return i
		}
	} else if i, ok := in.long[id]; ok {
		return i
	}
	// The store may hand id over as part of a larger buffer: keep a copy.
	i := uint32(len(in.ids))
	in.ids = append(in.ids, strings.Clone(id))
	in.index(in.ids[i], i)
	in.mapped = len(in.ids)
	return i
}

// find searches the sorted listed ids for id, forward from where the last
// search ended (doubling its steps) when id is not before it, among those
// before it otherwise. It compares the ids' keys (see keyIDs), numbers, and
// strings only among ids of the same key.
func (in *interner) find(id string) (int, bool) {
	ids := in.ids[:in.known]
	if in.keys == nil {
		in.keyIDs()
	}
	if !strings.HasPrefix(id, in.prefix) {
		return 0, false // not listed: every listed id has the prefix
	}
	k, keys := in.key(id), in.keys
	// i: the first key not below k.
	var i int
	if at := in.at; at < len(keys) && keys[at] < k {
		// keys[lo] < k <= keys[lo+step], if there is one.
		lo, step := at, 1
		for lo+step < len(keys) && keys[lo+step] < k {
			lo += step
			step *= 2
		}
		hi := min(lo+step, len(keys))
		i, _ = slices.BinarySearch(keys[lo+1:hi], k)
		i += lo + 1
	} else {
		i, _ = slices.BinarySearch(keys[:min(at+1, len(keys))], k)
	}
	// Then, among the ids of that key, id.
	for ; i < len(ids) && keys[i] == k && ids[i] < id; i++ {
	}
	ok := i < len(ids) && ids[i] == id
	in.at = i
	if ok {
		in.at++
	}
	return i, ok
}

// keyIDs sets the prefix and keys of the listed ids, which are sorted.
func (in *interner) keyIDs() {
	ids := in.ids[:in.known]
	in.keys = make([]uint64, len(ids))
	if len(ids) == 0 {
		return
	}
	first, last := ids[0], ids[len(ids)-1]
	n := 0
	for n < len(first) && n < len(last) && first[n] == last[n] {
		n++
	}
	in.prefix = first[:n]
	for i, id := range ids {
		in.keys[i] = in.key(id)
	}
}

// key returns the 8 bytes of id after the prefix (0 past its end), big
// end first: ids in order have keys in order, and ids of one key are
// next to one another.
func (in *interner) key(id string) uint64 {
	var k uint64
	rest := id[len(in.prefix):]
	for b := range 8 {
		k <<= 8
		if b < len(rest) {
			k |= uint64(rest[b])
		}
	}
	return k
}

func (in *interner) index(id string, i uint32) {
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
