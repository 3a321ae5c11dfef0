package transport

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The read side. Under the poller (Linux), a connection has no goroutine
// while nothing arrives: the poller starts readReady when the socket turns
// readable, and readFrames returns once everything that arrived is
// handled, yielding at a message boundary (yield.go). Without a poller,
// readLoop blocks in readFrames for the connection's whole life. Either
// way one goroutine at a time reads, and readMu hands the reader's fields
// from each to the next (the poller's events order them, but not in the
// eyes of the race detector or the memory model).
//
// Whatever becomes of a message, gorilla stays in step with the stream
// (what is not read, NextReader skips), so that it can still see the
// peer's close frame: that is what lets a closing connection linger
// (close.go). The size limit is enforced here for the same reason:
// gorilla's own limit ends its reader for good.

// readLoop reads until the connection ends, then finishes it.
func (c *Conn) readLoop() {
	c.readMu.Lock()
	for c.readFrames() {
	}
	c.readMu.Unlock()
	c.finish()
}

// readReady reads what has arrived at a connection the poller found
// readable, turn after turn while the poller reports more during one
// (readable), or finishes if the connection ended.
func (c *Conn) readReady() {
	for {
		c.readMu.Lock()
		c.rd.beginTurn()
		alive := c.readFrames()
		c.readMu.Unlock()
		if !alive {
			c.finish()
			return
		}
		if c.turns.CompareAndSwap(turnRunning, turnIdle) {
			return
		}
		c.turns.Store(turnRunning) // turnAgain: data came during the turn
	}
}

// Reader turns under the poller (Conn.turns). The poller's events are
// edge-triggered, so one may come while a turn runs: it must neither start
// a second reader nor be lost.
const (
	turnIdle    int32 = iota // no reader: an event starts one
	turnRunning              // a reader runs
	turnAgain                // a reader runs, and an event came since it began
)

// readable is the poller's report that data arrived: it starts a reader
// turn, or has the running one take another.
func (c *Conn) readable() {
	for {
		switch c.turns.Load() {
		case turnIdle:
			if c.turns.CompareAndSwap(turnIdle, turnRunning) {
				c.t.cfg.Workers.Do(c.readReady)
				return
			}
		case turnRunning:
			if c.turns.CompareAndSwap(turnRunning, turnAgain) {
				return
			}
		default:
			return
		}
	}
}

// readFrames reads messages and hands them on until the reader yields
// (true: all that arrived is handled; the poller reports anything that
// arrives since) or the connection ends (false).
func (c *Conn) readFrames() bool {
	for {
		op, r, yielded, err := c.rd.next(c.ws)
		if yielded {
			return true
		}
		if err == nil {
			err = c.readMessage(op, r)
		}
		if err != nil {
			c.readFailed(err)
			return false
		}
	}
}

// readMessage reads one message and hands it to the handler, or closes
// the connection for it: 1003 for binary, 1009 past MaxMessage, 1007 for
// invalid UTF-8. A closing connection leaves what it gets unread, for the
// next NextReader to skip.
func (c *Conn) readMessage(op int, r io.Reader) error {
	switch {
	case c.out.isClosing():
		c.rd.leftUnread()
		return nil
	case op != websocket.TextMessage:
		c.closeWith(websocket.CloseUnsupportedData, "binary frames are not accepted", false, false)
		c.rd.leftUnread()
		return nil
	}
	buf := c.t.reads.get()
	defer c.t.reads.put(buf)
	limit := c.t.cfg.MaxMessage
	data, err := readAtMost(r, (*buf)[:0], limit+1)
	*buf = data
	switch {
	case err != nil:
		return err
	case int64(len(data)) > limit:
		c.closeWith(websocket.CloseMessageTooBig, "message too large", false, false)
		c.rd.leftUnread()
		return nil
	case !utf8.Valid(data):
		c.closeWith(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8", false, false)
		return nil
	}
	c.h.Message(data)
	return nil
}

// readAtMost appends r's bytes to buf until r ends or buf holds max bytes.
func readAtMost(r io.Reader, buf []byte, max int64) ([]byte, error) {
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):int(min(int64(cap(buf)), max))]
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// readFailed handles the error that ended reading. A close frame from the
// peer was answered by peerClosed, and a broken connection needs nothing;
// anything else is gorilla finding the stream malformed, which it has
// answered with close 1002 itself: the stream cannot be parsed any more,
// so it is drained raw (finish).
func (c *Conn) readFailed(err error) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, errLingerSpent):
		c.log(slog.LevelDebug, "closing at once: the peer kept pinging after our close frame", "pings", c.lingered)
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.As(err, &ne), errors.Is(err, net.ErrClosed):
		c.log(slog.LevelDebug, "read ended", "err", err)
	default:
		c.log(slog.LevelInfo, "malformed stream", "err", err)
		c.closeWith(websocket.CloseProtocolError, "", false, false)
		c.desync = true
	}
}

// pong handles the answer to one of our pings: the peer is alive, and has
// read every frame written before the ping, whose payload is the highest
// Seq written by then. Confirmations still count while closing.
func (c *Conn) pong(data string) error {
	c.keepAlive.heard(c.t.cfg.Clock())
	seq, err := strconv.ParseUint(data, 10, 64)
	seq = min(seq, c.written.Load()) // a peer cannot confirm what was not written
	if err == nil && seq > c.confirmed {
		c.confirmed = seq
		c.h.Confirmed(seq)
	}
	c.rd.afterControl()
	return nil
}
