// Package heap measures the peak live heap of a stretch of code, for
// benchmarks that report memory beside time.
package heap

import (
	"runtime/metrics"
	"time"
)

// Peak samples the live heap every few milliseconds until the returned
// function is called, which returns the peak in MiB.
func Peak() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	read := func() {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64())
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		read()
		return float64(peak) / (1 << 20)
	}
}
