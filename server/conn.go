package server

import (
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// conn is one client's WebSocket connection. It is also the session process
// that actors send to (session.go): a PID whose messages go straight into
// the outbox, with no mailbox in between.
//
// The read loop (serve, on the HTTP handler's goroutine) owns the inbound
// direction; the write loop (started on demand, at most one at a time) owns
// the outbound one, including control frames, which other goroutines queue
// in the outbox instead of writing.
type conn struct {
	// set at construction
	srv    *Server
	ws     *websocket.Conn
	net    *batchConn
	user   string
	remote string // client IP
	self   *actor.PID

	// set before the read loop starts, then read-only
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

	// owned by the read loop
	confirmed uint64 // highest seq already confirmed to the user actor

	// owned by the write loop
	pinged      uint64    // highest seq carried by a ping written so far
	lastConfirm time.Time // when confirmUpTo last wrote a ping
}

// logger returns the server's logger with this connection's attributes.
// It is built per call, not kept: an idle connection should hold nothing it
// does not need, and connections log rarely.
func (c *conn) logger() *slog.Logger {
	return c.srv.cfg.Logger.With("user", c.user, "session", c.self.GetId(), "remote", c.remote)
}

// serve runs the read loop until the connection ends, then cleans up.
func (c *conn) serve() {
	defer c.finish()
	c.ws.SetReadLimit(c.srv.cfg.MaxMessage)
	c.ws.SetPongHandler(c.pong)
	c.ws.SetPingHandler(c.ping)
	c.ws.SetCloseHandler(c.peerClosed)
	c.refreshReadDeadline()
	c.keepAlive.start(c.srv.cfg.PingInterval, c.sendPing)
	for {
		op, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.srv.metrics.framesIn.Inc()
		if c.out.isClosing() {
			continue // ending: read only to see the peer's close frame
		}
		c.dispatch(op, data)
	}
}

// dispatch translates one client frame into an actor message for the user
// actor, sent with this session as the sender so that replies come back
// here.
func (c *conn) dispatch(op int, data []byte) {
	switch {
	case op != websocket.TextMessage:
		c.end(chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME, nil)
	case !utf8.Valid(data):
		c.end(chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8, nil)
	default:
		msg := wire.Decode(data, wire.Limits{MaxText: c.srv.cfg.MaxText})
		c.srv.root().RequestWithCustomSender(c.userPID, msg, c.self)
	}
}

func (c *conn) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has already sent close 1009.
		c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_TOO_LARGE))
		c.out.abandon()
		c.closeDone()
	case errors.As(err, &ce):
		c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_NORMAL))
	default:
		c.logger().Debug("read ended", "err", err)
	}
}

// pong handles the answer to one of our pings: the peer is alive, and has
// read every frame written before the ping, whose payload is the highest
// private-message seq written by then.
func (c *conn) pong(data string) error {
	c.refreshReadDeadline()
	seq, err := strconv.ParseUint(data, 10, 64)
	if err != nil || seq == 0 {
		return nil
	}
	seq = min(seq, c.written.Load()) // a peer cannot confirm what was not written
	if seq > c.confirmed {
		c.confirmed = seq
		c.srv.root().Send(c.userPID, &chatpb.Confirm{Session: c.self, UpTo: seq})
	}
	return nil
}

// ping answers a client's ping through the write loop.
func (c *conn) ping(data string) error {
	c.enqueue(frame{op: websocket.PongMessage, data: []byte(data)})
	return nil
}

// peerClosed answers the peer's close frame with the same code.
func (c *conn) peerClosed(code int, _ string) error {
	if code == websocket.CloseNoStatusReceived {
		code = websocket.CloseNormalClosure
	}
	c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_NORMAL))
	c.closeWith(websocket.FormatCloseMessage(code, ""), false)
	return nil
}

func (c *conn) refreshReadDeadline() {
	_ = c.ws.SetReadDeadline(c.srv.cfg.Clock().Add(c.srv.cfg.PongWait))
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
		go c.writeLoop()
	case pushedLazy:
		if c.lingering.CompareAndSwap(false, true) {
			time.AfterFunc(lingerDelay, c.endLinger)
		}
	case overflow:
		c.srv.metrics.slowConsumers.Inc()
		c.logger().Warn("closing a slow consumer", "outbox_bytes", c.srv.cfg.OutboxMax)
		c.reason.CompareAndSwap(0, int32(chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER))
		c.closeWith(closePayload(chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER), true)
	}
}

// endLinger writes the lazy frames that waited for company.
func (c *conn) endLinger() {
	c.lingering.Store(false)
	if c.out.wakeLazy() {
		go c.writeLoop()
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
		go c.writeLoop()
	}
}

func closePayload(r chatpb.CloseReason) []byte {
	return websocket.FormatCloseMessage(wire.CloseCode(r), closeText(r))
}

// finish runs once the read loop has ended: the user actor learns the
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
	_ = c.ws.Close()
	c.srv.forget(c)
	c.srv.release(c.remote)
	c.logger().Info("connection closed", "reason", closeLabel(chatpb.CloseReason(c.reason.Load())))
}
