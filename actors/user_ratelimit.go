package actors

import (
	"time"

	"golang.org/x/time/rate"
)

// verdict is what the rate limit says of one message.
type verdict int

const (
	allowed  verdict = iota
	limited          // refuse it: rate_limited
	flooding         // refuse it and end the connection: 1008
)

// limiter is one user's token bucket plus a flood meter. It is owned by the
// user actor and reset with it.
type limiter struct {
	bucket    *rate.Limiter // nil: no limit
	window    time.Duration // flood meter window
	threshold int           // refusals within window that mean flooding
	start     time.Time     // current window's start
	refused   int           // refusals in the current window
}

func newLimiter(cfg Config) *limiter {
	if cfg.MsgRate < 0 {
		return &limiter{}
	}
	// A client sending at FloodFactor x the rate is refused (FloodFactor-1)
	// x rate messages a second; past that, for a whole window, it is
	// flooding rather than bursting.
	excess := (cfg.FloodFactor - 1) * cfg.MsgRate * cfg.FloodWindow.Seconds()
	return &limiter{
		bucket:    rate.NewLimiter(rate.Limit(cfg.MsgRate), cfg.MsgBurst),
		window:    cfg.FloodWindow,
		threshold: max(1, int(excess)),
	}
}

// take charges n tokens at time now; n is cut to the burst, which is all
// the bucket can ever hold.
func (l *limiter) take(now time.Time, n int) verdict {
	if l.bucket == nil || l.bucket.AllowN(now, min(n, l.bucket.Burst())) {
		return allowed
	}
	if now.Sub(l.start) > l.window {
		l.start, l.refused = now, 0
	}
	l.refused++
	if l.refused > l.threshold {
		return flooding
	}
	return limited
}
