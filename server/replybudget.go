package server

import (
	"sync/atomic"
	"time"
)

// The reply budget of a connection. A history request of 30 bytes can be
// answered with 840 KB (200 messages of 4 KB), and one connection asking
// in a loop pulled 128 MB/s and a core. The user actor charges history and
// who to the user's rate limit in proportion to what they can return; on
// top of that, the bytes of history and users frames written to one
// connection are metered here, Config.ReplyRate a second with bursts of
// one second's worth.
//
// A request that finds the meter in debt is refused with rate_limited by
// the session, before it reaches the actors: nothing is done for it, the
// client is told why, and it may ask again later (but not in a loop: see
// replyFloodMax). The size of an answer is
// known only once it is rendered, so an answer is always sent whole (and
// charged whole, which may put the meter in debt); what it costs is paid
// by the requests after it. Nothing is lost and the refusal is honest; over
// time a connection gets ReplyRate a second, plus at most the answers to
// the requests it had in flight when the meter ran dry, and those are
// bounded by the user's rate limit.

// A client that keeps asking while the meter is in debt gets a refusal for
// each request, as cheap as any answer; one that asks more than
// replyFloodMax times within replyFloodWindow while refused (a loop, not a
// person or a client that honours rate_limited) is closed with 1008, as
// the user actor closes one sending far past its rate limit.
const (
	replyFloodMax    = 100
	replyFloodWindow = 10 * time.Second
)

// refusalCount counts refusals within a window; owned by the session's
// reader.
type refusalCount struct {
	start time.Duration // the current window's start, since the server's epoch
	n     int           // refusals in it
}

// add counts a refusal at now and reports whether the count is past max
// within window.
func (r *refusalCount) add(now, window time.Duration, max int) bool {
	if now-r.start > window {
		r.start, r.n = now, 0
	}
	r.n++
	return r.n > max
}

// replyMeter meters one connection's answer bytes as a virtual schedule:
// due is when the meter is full again (since the server's epoch), each
// answer moves it on by its cost, and the meter is in debt when due is more
// than a burst (one second) ahead of now. One word per connection; safe
// for concurrent use (the session's reader asks, the room's replies
// charge).
type replyMeter struct {
	due atomic.Int64 // nanoseconds since the server's epoch
}

// replyBurst is how far ahead of now the meter may run before it is in
// debt: one second of ReplyRate.
const replyBurst = time.Second

// open reports whether a request may be asked at now.
func (m *replyMeter) open(now time.Duration) bool {
	return time.Duration(m.due.Load())-now < replyBurst
}

// charge adds an answer of cost (its bytes at the rate) at now.
func (m *replyMeter) charge(now, cost time.Duration) {
	for {
		old := m.due.Load()
		if m.due.CompareAndSwap(old, int64(max(time.Duration(old), now)+cost)) {
			return
		}
	}
}

// replyCost is what n bytes of answer cost at rate bytes a second.
func replyCost(n, rate int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}
