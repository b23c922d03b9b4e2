package gctune

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{30 << 20, 128 << 20, 426},
		{128 << 20, 128 << 20, 100},
		{600 << 20, 128 << 20, 100},
		{1 << 20, 128 << 20, maxPercent},
		{0, 128 << 20, maxPercent},
	} {
		if got := Percent(c.live, c.headroom); got != c.want {
			t.Errorf("Percent(%d MiB live, %d MiB headroom) = %d, want %d", c.live>>20, c.headroom>>20, got, c.want)
		}
	}
}

// gogc reads GOGC as the runtime has it.
func gogc() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// settle collects until GOGC is want after a collection, or fails.
func settle(t *testing.T, want func(int64) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the finalizer runs on its own goroutine
		if want(gogc()) {
			return
		}
	}
	t.Fatalf("GOGC is %d after collections with %s", gogc(), what)
}

// TestStartFollowsTheLiveHeap: once started, the collector's GOGC follows
// the live heap after each collection — high while it is small, 100 once
// it passes the headroom, high again once it is freed.
func TestStartFollowsTheLiveHeap(t *testing.T) {
	const headroom = 64 << 20
	Start(headroom)
	settle(t, func(p int64) bool { return p > 300 }, "a small live heap")
	func() {
		held := make([][]byte, 0, 160)
		for range 160 { // 160 MiB live, past the headroom
			held = append(held, make([]byte, 1<<20))
		}
		settle(t, func(p int64) bool { return p == 100 }, "160 MiB live")
		runtime.KeepAlive(held)
	}()
	settle(t, func(p int64) bool { return p > 300 }, "the 160 MiB freed")
}
