// Package gctune sizes the garbage collector's target for a server whose
// live heap is mostly small: after each collection it sets GOGC so that
// the next one starts when the heap reaches twice the live heap or the
// live heap and a fixed headroom, whichever is more. With the default
// GOGC of 100 a server holding 30 MB collects every 30 MB it allocates —
// an approval's allocations made the collector 13% of the process's CPU —
// while a server whose live heap is past the headroom collects as GOGC=100
// would (the heap then at most twice the live one), so the memory a large
// sync or apply needs is not raised by more than the headroom.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the GOGC set for a tiny live heap.
const maxPercent = 2000

var once sync.Once

// Start tunes the collector, after every collection from now on, to leave
// headroom bytes of allocation between a collection and the next, or as
// much as the live heap when that is more. It does so once per process;
// later calls do nothing.
func Start(headroom uint64) {
	once.Do(func() {
		t := &tuner{headroom: headroom, samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		t.tune()
		t.arm()
	})
}

type tuner struct {
	headroom uint64
	samples  []metrics.Sample
}

// sentinel is an object whose finalizer runs once a collection found it
// unreachable: after each collection, since arm makes a new one each time.
type sentinel struct{ _ [64]byte }

// arm makes a sentinel that, once collected, tunes the collector and arms
// the next.
func (t *tuner) arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		t.tune()
		t.arm()
	})
}

// tune sets GOGC for the live heap the last collection marked.
func (t *tuner) tune() {
	metrics.Read(t.samples)
	live := t.samples[0].Value.Uint64()
	debug.SetGCPercent(Percent(live, t.headroom))
}

// Percent returns the GOGC that makes the next collection start after
// max(live, headroom) bytes more: 100 when live is at least headroom.
func Percent(live, headroom uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := headroom * 100 / live
	return int(max(100, min(p, maxPercent)))
}
