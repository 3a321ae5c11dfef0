package auth

import (
	"net/netip"
	"sync"
	"time"
)

// limiter allows a key n events in a burst, refilled at n per window: the
// generic cell rate algorithm, which keeps one time per key (when the
// key's allowance is next fully refilled, plus the burst) and so says
// exactly when the next event is allowed. Over any window a key makes at
// most 2n events; sustained, n.
//
// The map is bounded: an attacker with many addresses or names must not
// grow it without end. A key whose allowance is full carries no
// information and is dropped first; if maxKeys keys are all active, some
// are forgotten at random, which lets those keys start afresh. That fails
// open on purpose: failing closed would let the same attacker lock every
// new key out. Guessing stays bounded by the hashing pool either way.
type limiter struct {
	interval  time.Duration // one event's share of the window
	tolerance time.Duration // how far ahead of now a key may run: the burst
	maxKeys   int

	mu  sync.Mutex
	tat map[string]time.Time // the theoretical arrival time of the key's next event
}

// newLimiter returns a limiter of n events per window, remembering at most
// maxKeys keys; n <= 0 returns nil, which allows everything.
func newLimiter(n int, window time.Duration, maxKeys int) *limiter {
	if n <= 0 {
		return nil
	}
	interval := window / time.Duration(n)
	return &limiter{
		interval: interval, tolerance: window - interval, maxKeys: max(maxKeys, 1),
		tat: make(map[string]time.Time),
	}
}

// take counts one event of key at now, or, past the limit, counts nothing
// and returns how long until the next event is allowed.
func (l *limiter) take(key string, now time.Time) (retryAfter time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if ahead := tat.Sub(now); ahead > l.tolerance {
		return ahead - l.tolerance, false
	}
	if !known {
		l.makeRoom(now)
	}
	l.tat[key] = tat.Add(l.interval)
	return 0, true
}

// give takes back an event take counted: it turned out not to count (a
// login that succeeded is not a failed one).
func (l *limiter) give(key string, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, ok := l.tat[key]
	if !ok {
		return
	}
	if tat = tat.Add(-l.interval); tat.After(now) {
		l.tat[key] = tat
	} else {
		delete(l.tat, key)
	}
}

// makeRoom keeps the map below maxKeys before a key is added. When full it
// drops every key whose allowance is full again, then, if that was not
// enough, arbitrary keys down to 7/8 of maxKeys, so that the sweep (linear
// in the map) runs at most once per maxKeys/8 new keys.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.tat) < l.maxKeys {
		return
	}
	for k, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, k)
		}
	}
	for k := range l.tat { // Go's map order is randomized: these are arbitrary
		if len(l.tat) <= l.maxKeys-l.maxKeys/8-1 {
			break
		}
		delete(l.tat, k)
	}
}

// size returns the number of keys remembered.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}

// ipKey is the limiter key of a client address: an IPv4 address itself, an
// IPv6 address's /64, since one host commonly holds a whole /64 and could
// otherwise use a fresh address for every attempt. What does not parse is
// its own key.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
