// Package throttle slows down clients that keep failing to authenticate: a
// client may fail a few times in a row, then once every few seconds, and is
// refused without its credential being checked while it is over its budget,
// so that guessing tokens from one address goes nowhere.
package throttle

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults: ten failures at once, then one every six seconds.
const (
	DefaultBurst = 10
	DefaultEvery = 6 * time.Second
	// maxClients bounds how many clients are remembered; past it, those back
	// to a full budget are forgotten.
	maxClients = 10000
)

// Failures counts authentication failures per client.
type Failures struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// New returns a Failures that lets a client fail burst times at once and once
// per every after that. Zero values take the defaults; now defaults to
// time.Now.
func New(burst int, every time.Duration, now func() time.Time) *Failures {
	if burst <= 0 {
		burst = DefaultBurst
	}
	if every <= 0 {
		every = DefaultEvery
	}
	if now == nil {
		now = time.Now
	}
	return &Failures{every: every, burst: burst, now: now, clients: map[string]*rate.Limiter{}}
}

// Client names the client of r: its address without the port.
func Client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Blocked reports whether client has used up its failures, and when it may
// try again.
func (f *Failures) Blocked(client string) (retryAfter time.Duration, blocked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lim, ok := f.clients[client]
	if !ok {
		return 0, false
	}
	now := f.now()
	if lim.TokensAt(now) >= 1 {
		return 0, false
	}
	r := lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return wait, true
}

// Fail records that client failed to authenticate.
func (f *Failures) Fail(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	lim, ok := f.clients[client]
	if !ok {
		if len(f.clients) >= maxClients {
			f.forget(now)
		}
		lim = rate.NewLimiter(rate.Every(f.every), f.burst)
		f.clients[client] = lim
	}
	lim.AllowN(now, 1)
}

// forget drops the clients whose budget is full again.
func (f *Failures) forget(now time.Time) {
	for c, lim := range f.clients {
		if lim.TokensAt(now) >= float64(f.burst) {
			delete(f.clients, c)
		}
	}
}
