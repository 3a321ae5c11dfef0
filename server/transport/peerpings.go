package transport

import (
	"log/slog"
	"time"

	"github.com/gorilla/websocket"
)

// The peer's pings. Each is answered with a pong through the write loop,
// and the outbox keeps at most one pong waiting (outbox.go), so a peer
// that pings without reading cannot grow the queue. What it can still do
// is make the reader work for every ping, so a peer that pings far more
// often than any keep-alive needs is closed with 1008 (policy): past
// Config.MaxPingRate a second, sustained, with bursts of up to
// pingBurstSeconds of that rate. Browsers never ping; clients that do,
// ping every few seconds.

// pingBurstSeconds is how many seconds of MaxPingRate a peer may send at
// once before the rate counts against it.
const pingBurstSeconds = 2

// pingMeter meters a peer's pings as a virtual schedule (the generic cell
// rate algorithm): each ping moves due, the time the meter would be empty
// again, on by one interval, and the peer is over the rate once due runs
// more than the burst ahead of now. Eight bytes per connection; owned by
// the reader.
type pingMeter struct {
	due time.Duration // since the transport's epoch
}

// allow charges one ping at now (since the epoch) and reports whether the
// peer is still within the rate; interval 0 is no limit.
func (m *pingMeter) allow(now, interval time.Duration) bool {
	if interval == 0 {
		return true
	}
	m.due = max(m.due, now) + interval
	return m.due-now <= pingBurstSeconds*time.Second
}

// pingInterval is the interval between pings that MaxPingRate allows, or 0
// for no limit.
func pingInterval(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}

// ping answers a peer's ping through the write loop, or closes a peer
// over the ping rate with 1008.
func (c *Conn) ping(data string) error {
	if c.out.isClosing() {
		if err := c.lingerPing(); err != nil {
			return err
		}
	}
	now := c.t.cfg.Clock().Sub(c.t.epoch)
	if c.pings.allow(now, c.t.pingEvery) {
		c.push(frame{op: websocket.PongMessage, Frame: Frame{Data: []byte(data)}})
	} else if c.closeWith(websocket.ClosePolicyViolation, "too many pings", false, false) {
		c.log(slog.LevelInfo, "closing a peer that pings too often", "max_rate", c.t.cfg.MaxPingRate)
	}
	c.rd.afterControl()
	return nil
}
