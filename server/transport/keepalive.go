package transport

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// keepAlive is a connection's keep-alive timer: every PingInterval the
// connection pings its peer, and gives up on a peer that has answered no
// ping for PongWait (Conn.keepAliveTick). It is a runtime timer, not a
// goroutine, and it stands in for a read deadline, which only works while
// a goroutine waits in Read: under the poller, an idle connection has none.
type keepAlive struct {
	mu      sync.Mutex // guards the fields below
	timer   *time.Timer
	last    time.Time // when the peer last answered a ping (or connected)
	stopped bool
}

// start arms the timer to call tick (on the timer's goroutine) after every.
func (k *keepAlive) start(now time.Time, every time.Duration, tick func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.last = now
		k.timer = time.AfterFunc(every, tick)
	}
}

// left returns how much of wait is left before the peer counts as dead, and
// false once stopped.
func (k *keepAlive) left(now time.Time, wait time.Duration) (time.Duration, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last.Add(wait).Sub(now), !k.stopped
}

// rearm schedules the next tick, unless stopped.
func (k *keepAlive) rearm(after time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.timer.Reset(after)
	}
}

// heard records an answer to a ping.
func (k *keepAlive) heard(t time.Time) {
	k.mu.Lock()
	k.last = t
	k.mu.Unlock()
}

// stop ends the ticks; one already running finishes, and none follows.
func (k *keepAlive) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
}

// keepAliveTick pings, or gives up on a peer silent for PongWait. The next
// tick comes after PingInterval, or sooner if PongWait runs out first, so a
// dead peer is noticed when PongWait is up, not at the next ping.
func (c *Conn) keepAliveTick() {
	cfg := &c.t.cfg
	left, running := c.keepAlive.left(cfg.Clock(), cfg.PongWait)
	switch {
	case !running:
	case left <= 0:
		c.pingTimeout()
	default:
		c.sendPing()
		c.keepAlive.rearm(min(cfg.PingInterval, left))
	}
}

// pingTimeout ends a peer that answered no ping for PongWait: it gets a
// close frame (1000) if it still reads, but no lingering, since it is
// most likely gone.
func (c *Conn) pingTimeout() {
	c.log(slog.LevelDebug, "no pong", "wait", c.t.cfg.PongWait)
	c.Close(websocket.CloseNormalClosure, "")
	c.net.stopReading()
}
