package transport

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is one WebSocket connection. Its reader (read.go: a turn started by
// the poller when data arrives, or a goroutine of its own) owns the
// inbound direction; its write loop (write.go: started on demand, at most
// one at a time) owns the outbound one, control frames included, which
// everyone else queues in the outbox instead of writing. Send and Close
// may be called from any goroutine and never block.
type Conn struct {
	// set at construction (Upgrade)
	id  uint64 // unique in its Transport; the poller's key
	t   *Transport
	ws  *websocket.Conn
	net batchConn       // what gorilla writes to
	raw syscall.RawConn // for the poller; nil without one
	rd  yieldReader     // what gorilla reads from; owned by the reader

	// set by Start, then read-only
	h    Handler
	name string

	// shared, each safe on its own
	out          outbox
	written      atomic.Uint64 // highest Seq flushed to the peer
	closeWritten chan struct{} // closed once the close frame is out (or writing failed)
	closeOnce    sync.Once
	keepAlive    keepAlive
	confirmArmed atomic.Bool  // a confirmation ping is scheduled
	lazyArmed    atomic.Bool  // lazy frames wait for endLazy
	turns        atomic.Int32 // turnIdle, turnRunning or turnAgain (read.go)

	// owned by the reader, which holds readMu
	readMu    sync.Mutex
	confirmed uint64    // highest Seq reported to Handler.Confirmed
	desync    bool      // gorilla gave up on the stream: drain it raw before closing
	pings     pingMeter // the peer's ping rate (peerpings.go)
	lingered  int       // pings read while closing (close.go, lingerPings)

	// owned by the write loop
	pinged      uint64    // highest Seq carried by a ping written so far
	lastConfirm time.Time // when confirmUpTo last wrote a ping
}

// ID returns the connection's number, unique in its Transport: what logs
// call it (conn=17).
func (c *Conn) ID() uint64 { return c.id }

// Start begins reading, once the caller is ready for h's calls; name says
// whose connection it is in the transport's logs (user=NAME). Reading
// goes to the poller, or to a goroutine of its own without one; a
// connection already closing reads on a goroutine too, so that its
// lingering close never depends on a poller that may be stopping.
func (c *Conn) Start(name string, h Handler) {
	c.name, c.h = name, h
	c.ws.SetPongHandler(c.pong)
	c.ws.SetPingHandler(c.ping)
	c.ws.SetCloseHandler(c.peerClosed)
	c.keepAlive.start(c.t.cfg.Clock(), c.t.cfg.PingInterval, c.keepAliveTick)
	if c.raw != nil && !c.out.isClosing() {
		c.rd.enabled = true
		err := c.t.poller.add(c)
		if err == nil {
			return
		}
		c.log(slog.LevelWarn, "polling failed; reading on a goroutine", "err", err)
		c.rd.enabled, c.raw = false, nil
	}
	go c.readLoop()
}

// Send queues a text frame for the write loop, starting one if none runs.
// It never blocks. On ErrOverflow or ErrClosed the frame is not queued
// (and Release has been called).
func (c *Conn) Send(f Frame) error {
	switch c.push(frame{Frame: f, op: websocket.TextMessage}) {
	case dropped:
		release([]frame{{Frame: f}})
		return ErrClosed
	case overflow:
		release([]frame{{Frame: f}})
		return ErrOverflow
	}
	return nil
}

// push queues any frame and sees that it gets written.
func (c *Conn) push(f frame) pushResult {
	r := c.out.push(f)
	switch r {
	case pushedIdle:
		c.t.cfg.Workers.Do(c.writeLoop)
	case pushedLazy:
		if c.lazyArmed.CompareAndSwap(false, true) {
			time.AfterFunc(lazyDelay, c.endLazy)
		}
	}
	return r
}

// endLazy writes the lazy frames that waited for company.
func (c *Conn) endLazy() {
	c.lazyArmed.Store(false)
	if c.out.wakeLazy() {
		c.t.cfg.Workers.Do(c.writeLoop)
	}
}

// log logs msg at level with this connection's attributes. They are added
// per call, not kept (an idle connection should hold nothing it does not
// need), and only if the level is on: at thousands of connections a second,
// building them for a disabled level showed in profiles.
func (c *Conn) log(level slog.Level, msg string, args ...any) {
	l := c.t.cfg.Logger
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.With("conn", c.id, "user", c.name).Log(context.Background(), level, msg, args...)
}
