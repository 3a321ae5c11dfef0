package server

import (
	"sync"
	"time"
)

// The publish budget per client IP. Each user has a rate limit (the user
// actor's), but names are cheap: one machine with two hundred names had
// two hundred limits, 2,000 public messages a second, and every other
// user's latency went from milliseconds to seconds. So say and dm from all
// the sessions of one client IP (clientip.go) also share a budget,
// Config.IPMsgRate a second with bursts of ipBurstSeconds of it, checked
// by the session before anything reaches an actor: past it the request is
// refused with rate_limited, as the user's own limit refuses it, and
// nothing of it is sent or stored.

// ipBurstSeconds is how many seconds of IPMsgRate one IP may send at once,
// as the user's default burst is three seconds of its rate.
const ipBurstSeconds = 3

// minSweep is the fewest IPs the budget holds before it forgets idle ones.
const minSweep = 1024

// ipBudget meters say and dm per client IP, each IP as a virtual schedule
// (the generic cell rate algorithm): a message moves the IP's due time,
// when its bucket is full again, on by one interval, and is refused if that
// would put it more than the burst ahead of now. An IP whose due time has
// passed is as good as new and is forgotten: the map is swept when it has
// doubled since the last sweep, so it holds about the IPs that sent within
// the last burst, at most twice over. Safe for concurrent use.
type ipBudget struct {
	// set at construction
	every time.Duration // the interval the rate allows between messages; 0: no budget
	epoch time.Time     // what due times count from

	mu      sync.Mutex               // guards the fields below
	due     map[string]time.Duration // per IP, since epoch
	sweepAt int                      // sweep when due holds this many
}

// newIPBudget returns the budget for rate messages a second per IP (0 or
// less: none), timed from epoch.
func newIPBudget(rate float64, epoch time.Time) *ipBudget {
	b := &ipBudget{epoch: epoch, due: make(map[string]time.Duration), sweepAt: minSweep}
	if rate > 0 {
		b.every = time.Duration(float64(time.Second) / rate)
	}
	return b
}

// allow charges one message from ip at now and reports whether it is
// within the budget; a refused message is not charged.
func (b *ipBudget) allow(ip string, now time.Time) bool {
	if b.every == 0 {
		return true
	}
	t := now.Sub(b.epoch)
	b.mu.Lock()
	defer b.mu.Unlock()
	due := max(b.due[ip], t) + b.every
	if due-t > ipBurstSeconds*time.Second {
		return false
	}
	if len(b.due) >= b.sweepAt {
		b.sweep(t)
	}
	b.due[ip] = due
	return true
}

// sweep forgets the IPs whose bucket is full again at t. b.mu held.
func (b *ipBudget) sweep(t time.Duration) {
	for ip, due := range b.due {
		if due <= t {
			delete(b.due, ip)
		}
	}
	b.sweepAt = max(minSweep, 2*len(b.due))
}

// held returns how many IPs the budget holds, for tests.
func (b *ipBudget) held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.due)
}
