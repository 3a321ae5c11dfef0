package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
)

// conn is one client's WebSocket connection. It is also the session process
// that actors send to (session.go): a PID whose messages go straight into
// the outbox, with no mailbox in between.
//
// The reader (read.go: started by the poller when data arrives, or a
// goroutine of its own) owns the inbound direction; the write loop
// (started on demand, at most one at a time) owns the outbound one,
// including control frames, which other goroutines queue in the outbox
// instead of writing.
type conn struct {
	// set at construction
	id     uint64 // unique in this server; the poller's key
	srv    *Server
	ws     *websocket.Conn
	net    *batchConn
	user   string
	remote string // client IP
	self   *actor.PID

	// set before reading starts, then read-only
	userPID *actor.PID

	// shared, each safe on its own
	out          outbox
	written      atomic.Uint64 // highest DM seq flushed to the peer
	reason       atomic.Int32  // the chatpb.CloseReason this connection ends with
	closeWritten chan struct{} // closed once the close frame is out (or writing failed)
	closeOnce    sync.Once
	keepAlive    keepAlive

	confirmArmed atomic.Bool // a confirmation ping is scheduled
	lingering    atomic.Bool // lazy frames wait for endLinger

	// owned by the reader, which holds readMu
	readMu          sync.Mutex
	confirmed       uint64 // highest seq already confirmed to the user actor
	betweenMessages bool   // NextReader runs: frames read now are control frames

	// owned by the write loop
	pinged      uint64    // highest seq carried by a ping written so far
	lastConfirm time.Time // when confirmUpTo last wrote a ping
}

// log logs msg at level with this connection's attributes. They are added
// per call, not kept (an idle connection should hold nothing it does not
// need), and only if the level is on: at thousands of connections a second,
// building them for a disabled level showed in profiles.
func (c *conn) log(level slog.Level, msg string, args ...any) {
	l := c.srv.cfg.Logger
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.With("user", c.user, "session", c.self.GetId(), "remote", c.remote).Log(context.Background(), level, msg, args...)
}

// sendPing queues the keep-alive ping. Its payload is the highest
// private-message seq written, so its pong also confirms delivery.
func (c *conn) sendPing() {
	seq := c.written.Load()
	c.enqueue(frame{op: websocket.PingMessage, data: strconv.AppendUint(nil, seq, 10), seq: seq})
}

// enqueue queues a frame for the write loop, starting one if none runs.
// It never blocks: a client too slow to keep its outbox under the limit is
// closed with 4001.
func (c *conn) enqueue(f frame) {
	switch c.out.push(f) {
	case pushedIdle:
		c.srv.workers.Do(c.writeLoop)
	case pushedLazy:
		if c.lingering.CompareAndSwap(false, true) {
			time.AfterFunc(lingerDelay, c.endLinger)
		}
	case overflow:
		c.srv.metrics.slowConsumers.Inc()
		c.log(slog.LevelWarn, "closing a slow consumer", "outbox_bytes", c.srv.cfg.OutboxMax)
		c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER))
		c.closeWith(closePayload(chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER), true)
	}
}

// endLinger writes the lazy frames that waited for company.
func (c *conn) endLinger() {
	c.lingering.Store(false)
	if c.out.wakeLazy() {
		c.srv.workers.Do(c.writeLoop)
	}
}

// end closes the connection for reason, after errFrame if one is given.
func (c *conn) end(reason chatpb.CloseReason, errFrame []byte) {
	if !c.reason.CompareAndSwap(0, int32(reason)) {
		return // already ending
	}
	if errFrame != nil {
		c.enqueue(frame{op: websocket.TextMessage, data: errFrame})
	}
	c.closeWith(closePayload(reason), false)
}

func (c *conn) closeWith(payload []byte, discard bool) {
	if start, _ := c.out.close(payload, discard); start {
		c.srv.workers.Do(c.writeLoop)
	}
}

func closePayload(r chatpb.CloseReason) []byte {
	return websocket.FormatCloseMessage(closeCode(r))
}

// finish runs once reading has ended: the user actor learns the
// session is gone, the peer gets a close frame if it has none yet, and the
// TCP connection is closed once that frame is out (or CloseGrace passed).
func (c *conn) finish() {
	c.keepAlive.stop()
	c.srv.root().Send(c.userPID, &chatpb.Disconnect{Session: c.self})
	c.srv.system().ProcessRegistry.Remove(c.self)
	c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_NORMAL))
	c.closeWith(closePayload(chatpb.CloseReason(c.reason.Load())), false)
	select {
	case <-c.closeWritten:
	case <-time.After(c.srv.cfg.CloseGrace):
	}
	if c.net.raw != nil {
		c.srv.poller.remove(c)
	}
	_ = c.ws.Close()
	c.srv.forget(c)
	c.srv.release(c.remote)
	reason := chatpb.CloseReason(c.reason.Load())
	c.log(closeLogLevel(reason), "connection closed", "reason", closeLabel(reason))
}
