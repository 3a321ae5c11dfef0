package server

import (
	"errors"
	"io"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// The read side. Under the server's poller (Linux), a connection has no
// goroutine while nothing arrives: the poller starts readReady when the
// socket turns readable, and readFrames returns once everything that
// arrived is handled, yielding at a frame boundary (batchConn.Read).
// Without a poller, readLoop blocks in readFrames for the connection's
// whole life. Either way one goroutine at a time reads, and readMu hands
// the reader's fields from each to the next (the poller's events order
// them, but not in the eyes of the race detector or the memory model).

// startReading sets up the read side once the connection is attached:
// handlers, keep-alive, then the poller or a reading goroutine.
func (c *conn) startReading() {
	c.ws.SetReadLimit(c.srv.cfg.MaxMessage)
	c.ws.SetPongHandler(c.pong)
	c.ws.SetPingHandler(c.ping)
	c.ws.SetCloseHandler(c.peerClosed)
	c.keepAlive.start(c.srv.cfg.Clock(), c.srv.cfg.PingInterval, c.keepAliveTick)
	if c.net.raw != nil { // the hijacker kept it because the server has a poller
		err := c.srv.poller.add(c)
		if err == nil {
			return
		}
		c.log(slog.LevelWarn, "polling failed; reading on a goroutine", "err", err)
		c.net.raw = nil
	}
	go c.readLoop()
}

// readLoop reads until the connection ends, then cleans up.
func (c *conn) readLoop() {
	c.readMu.Lock()
	for c.readFrames() {
	}
	c.readMu.Unlock()
	c.finish()
}

// readReady reads what has arrived at a connection the poller found
// readable, then re-arms it, or cleans up if the connection ended.
func (c *conn) readReady() {
	c.readMu.Lock()
	c.net.beginTurn()
	alive := c.readFrames()
	c.readMu.Unlock()
	if !alive {
		c.finish()
		return
	}
	if err := c.srv.poller.arm(c); err != nil {
		c.log(slog.LevelWarn, "re-arming the poller failed", "err", err)
		c.finish()
	}
}

// readFrames reads frames and dispatches them until the reader yields
// (true: all that was buffered is handled; re-arming the poller reports
// anything that arrived since) or the connection ends (false).
func (c *conn) readFrames() bool {
	for {
		c.betweenMessages = true
		c.armYield()
		op, r, err := c.ws.NextReader()
		c.betweenMessages = false
		c.net.disarmYield()
		if c.net.yielded {
			c.net.yielded = false
			return true
		}
		var data []byte
		if err == nil {
			data, err = io.ReadAll(r)
		}
		if err != nil {
			c.readFailed(err)
			return false
		}
		c.srv.metrics.framesIn.Inc()
		if !c.out.isClosing() { // ending: read only to see the peer's close frame
			c.dispatch(op, data)
		}
	}
}

// armYield marks where gorilla has read up to as a place the reader may
// yield (batchConn.Read), when that is between messages and after a whole
// frame: gorilla has just called a control-frame handler, or NextReader is
// about to start. Mid-message, between fragments, it must not be: an extra
// message there breaks the stream.
func (c *conn) armYield() {
	if c.betweenMessages {
		c.net.armYield()
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
		msg := request(wire.Decode(data, wire.Limits{MaxText: c.srv.cfg.MaxText}))
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
		c.log(slog.LevelDebug, "read ended", "err", err)
	}
}

// pong handles the answer to one of our pings: the peer is alive, and has
// read every frame written before the ping, whose payload is the highest
// private-message seq written by then.
func (c *conn) pong(data string) error {
	defer c.armYield()
	c.keepAlive.heard(c.srv.cfg.Clock())
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
	defer c.armYield()
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

// pingTimeout ends a peer that answered no ping for PongWait.
func (c *conn) pingTimeout() {
	c.log(slog.LevelDebug, "no pong", "wait", c.srv.cfg.PongWait)
	c.net.stopReading()
}
