package syncview

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestInterner checks that the users the store lists keep their order's
// indexes, that other ids get new ones, and that order renumbers them all
// in the ids' order only when it must.
func TestInterner(t *testing.T) {
	long := strings.Repeat("x", 15) // too long to be looked up by value
	for _, tc := range []struct {
		name   string
		listed []string
		met    []string // ids interned after the listing, in turn
		idx    []uint32 // the index each met id gets
		ids    []string // the ids after order
		kept   bool     // order keeps the indexes
	}{
		{"only listed users, in order", []string{"a", "b", "c"}, []string{"c", "a"}, []uint32{2, 0}, []string{"a", "b", "c"}, true},
		{"no users at all", nil, nil, nil, nil, true},
		{"an id the users table lacks", []string{"b", "d"}, []string{"d", "a", "e", "a"}, []uint32{1, 2, 3, 2}, []string{"a", "b", "d", "e"}, false},
		{"users listed out of order", []string{"b", "a"}, []string{"a"}, []uint32{1}, []string{"a", "b"}, false},
		{"short and long ids, and ids a length apart", []string{"a", "a\x00", long, long + "y"}, []string{long + "y", "a\x00", long, "a"}, []uint32{3, 1, 2, 0},
			[]string{"a", "a\x00", long, long + "y"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in interner
			for _, id := range tc.listed {
				in.user(id)
			}
			for k, id := range tc.met {
				// The store hands ids over in buffers it reuses.
				if got := in.intern(string([]byte(id))); got != tc.idx[k] {
					t.Errorf("intern(%q) = %d, want %d", id, got, tc.idx[k])
				}
			}
			old := slices.Clone(in.ids)
			rank := in.order()
			if (len(rank) == 0) != tc.kept {
				t.Fatalf("order() = %v, want the indexes kept: %v", rank, tc.kept)
			}
			if !slices.Equal(in.ids, tc.ids) {
				t.Errorf("ids after order = %q, want %q", in.ids, tc.ids)
			}
			for i, r := range rank {
				if in.ids[r] != old[i] {
					t.Errorf("rank[%d] = %d: %q, want %q", i, r, in.ids[r], old[i])
				}
			}
		})
	}
}

// TestInternerSearches interns random ids — listed ones, in runs forward and
// backward and at random, and ids not listed, again and again — against
// the users listed in order, and checks that a listed id gets its place in
// the listing and any other id one index of its own, the same each time.
func TestInternerSearches(t *testing.T) {
	// Ids of several shapes: short; sharing a long prefix; tying in their
	// first 8 bytes after the prefix all share, in two groups; of lengths
	// around the 8 bytes compared at once.
	formats := []func(i int) string{
		func(i int) string { return fmt.Sprintf("u%04d", i) },
		func(i int) string { return fmt.Sprintf("employee-number-%04d", i) },
		func(i int) string { return fmt.Sprintf("%c-shared-bytes-%04d", 'a'+i%2, i) },
		func(i int) string { return strings.Repeat("z", i%11) + fmt.Sprint(i) },
	}
	for seed := range 40 {
		r := rand.New(rand.NewPCG(uint64(seed), 3))
		format := formats[seed%len(formats)]
		var listed []string
		for i := range r.IntN(300) {
			if r.IntN(3) > 0 {
				listed = append(listed, format(i))
			}
		}
		slices.Sort(listed)
		var in interner
		for _, id := range listed {
			in.user(id)
		}
		given := map[string]uint32{}
		check := func(id string) {
			got := in.intern(string([]byte(id)))
			if i, ok := slices.BinarySearch(listed, id); ok && got != uint32(i) {
				t.Fatalf("seed %d: intern(%q) = %d, want its place %d", seed, id, got, i)
			} else if !ok && got < uint32(len(listed)) {
				t.Fatalf("seed %d: intern(%q), not listed, = %d, a listed user's index", seed, id, got)
			}
			if before, ok := given[id]; ok && before != got {
				t.Fatalf("seed %d: intern(%q) = %d, and %d before", seed, id, got, before)
			}
			given[id] = got
		}
		for range 40 {
			start, n := r.IntN(310), r.IntN(30)
			switch r.IntN(3) {
			case 0: // a run forward, with gaps
				for i := start; i < start+n && i < len(listed); i += 1 + r.IntN(4) {
					check(listed[i])
				}
			case 1: // backward
				for i := min(start+n, len(listed)-1); i >= start; i-- {
					check(listed[i])
				}
			default:
				check(format(r.IntN(320)))
				check(fmt.Sprintf("x%d", r.IntN(20)))
				id := format(r.IntN(320))
				check(id[:r.IntN(len(id))])
			}
		}
	}
}
