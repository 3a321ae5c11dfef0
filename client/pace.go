package client

import (
	"sort"
	"time"

	"golang.org/x/time/rate"
)

// Pacing. The server limits how many say and dm frames a user sends a
// second with a token bucket, and announces that bucket in its welcome
// ("msg_rate", "msg_burst"); over it, a request is refused as rate_limited.
// So that a pipe of any length goes through, the write loop takes a token
// from a bucket of its own before each say or dm: the same rate, one token
// less of burst. The token held back absorbs the jitter between when a frame
// leaves here and when the server counts it (up to one token's time, 100 ms
// at the default 10 a second). The bucket belongs to the client, not to one
// connection, as the server's belongs to the user: a reconnect that
// announces the same limit keeps it. A welcome without the fields means no
// limit, and no pacing.
//
// A refusal for rate happens all the same now and then (more jitter than
// that, a server with a stricter limit than it announced). The request is
// still pending, so the client sends it again on the same connection, ahead
// of what is queued after it. The refusal says the server's bucket is empty,
// so the client empties its own (it does not go below empty: many refusals
// at once say no more than one). The refusal is not shown: the request has
// not failed, it is late. A server that refuses for rate without having
// announced a limit gets fallbackRate from then on.
// Messages sent again can reach others after messages sent after them; the
// sender's own screen keeps its order (order.go).

// fallbackRate is the pace, in messages a second with no burst, after a
// refusal for rate from a server that announced no limit: slow enough to
// pass any limit a server would set, and never near its flood threshold.
const fallbackRate = 1

// pacer is the client's token bucket and the announcement it was made
// from. The zero value paces nothing. Client.mu guards it; the Limiter is
// safe for concurrent use on its own.
type pacer struct {
	lim   *rate.Limiter // nil: no pacing
	rate  float64       // the announced msg_rate
	burst int           // the announced msg_burst
}

// setPace applies the limit a welcome announced: none when rate is not
// positive. The same limit as before keeps the bucket's tokens.
func (c *Client) setPace(r float64, burst int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r <= 0:
		c.pace = pacer{}
	case c.pace.lim == nil || c.pace.rate != r || c.pace.burst != burst:
		c.pace = pacer{lim: rate.NewLimiter(rate.Limit(r), max(1, burst-1)), rate: r, burst: burst}
	}
}

// limiter returns the current bucket, nil when there is no pacing.
func (c *Client) limiter() *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pace.lim
}

// awaitPace waits until a say or dm may be written on cn: once the welcome
// has told the limit, and then for a token. It reports false when the
// connection ended first.
func (c *Client) awaitPace(cn *connection) bool {
	select {
	case <-cn.welcomed:
	case <-cn.ctx.Done():
		return false
	}
	lim := c.limiter()
	return lim == nil || lim.Wait(cn.ctx) == nil
}

// retry sends the pending request with ref again on cn, after a refusal
// for rate, and reports whether there was one. Run goroutine.
func (c *Client) retry(cn *connection, ref string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := c.pending.find(ref)
	if req == nil || c.conn != cn {
		return false
	}
	if c.pace.lim == nil {
		c.pace.lim = rate.NewLimiter(fallbackRate, 1)
	}
	empty(c.pace.lim)
	i := sort.Search(len(cn.retries), func(i int) bool { return cn.retries[i].seq > req.seq })
	cn.retries = append(cn.retries[:i], append([]*Request{req}, cn.retries[i:]...)...)
	cn.poke()
	return true
}

// empty takes every whole token there is from lim, so that the next send
// waits for a token to grow, as on the server that refused; an empty
// bucket stays as it is.
func empty(lim *rate.Limiter) {
	now := time.Now()
	if n := int(lim.TokensAt(now)); n > 0 {
		lim.ReserveN(now, n)
	}
}
