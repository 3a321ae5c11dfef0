package transport

import (
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The close handshake, and the lingering close.
//
// Whichever side closes first, its close frame goes out through the
// outbox, behind what was queued (or instead of it, CloseNow), and the
// first close frame queued is the one that counts. Once it is written the
// write side is shut (FIN), and the connection lingers: the reader keeps
// reading, and discarding, until the peer's close frame or EOF, or until
// CloseGrace has passed, and only then is the socket closed. Closing with
// the peer's data unread would make the kernel answer with a reset, which
// can destroy our close frame in the peer's receive buffer before the peer
// has read it. Lingering holds no goroutine while the peer is quiet: the
// reader still yields to the poller between messages, except after a
// message it skipped (read.go), when it waits in Read for the next frame,
// for at most CloseGrace.
//
// Lingering is for a peer that has yet to read our close frame, and such
// a peer may well send on meanwhile (a late reader streaming messages, or
// the rest of an oversized one): all of that is read and discarded for up
// to CloseGrace. Pings are the exception: past lingerPings of them after
// our close frame, the socket is closed at once, reset or not. A peer
// closed for pinging too often that pings on is flooding, and reading its
// pings for all of CloseGrace cost a full core for those 3 s: about two
// million pings per connection, measured with `make bench-dos` (pings row).

// lingerPings is how many pings a closing connection reads before it stops
// lingering: far more than any peer sends before it has read a close
// frame, and about a millisecond of the reader's time.
const lingerPings = 1000

// errLingerSpent ends reading when a closing peer has sent lingerPings.
var errLingerSpent = errors.New("transport: the closing peer kept pinging")

// lingerPing counts a ping read while closing; past lingerPings it returns
// errLingerSpent, which ends reading (readFailed).
func (c *Conn) lingerPing() error {
	c.lingered++
	if c.lingered > lingerPings {
		return errLingerSpent
	}
	return nil
}

// Close closes the connection with code and text, after the frames
// already queued. Only the first close counts; text is cut to fit a
// control frame. It never blocks.
func (c *Conn) Close(code int, text string) { c.closeWith(code, text, false, false) }

// CloseNow is Close that drops the frames still queued: for a peer that
// does not read them anyway (a slow consumer).
func (c *Conn) CloseNow(code int, text string) { c.closeWith(code, text, false, true) }

// closeWith queues the close frame and reports whether it is the one that
// counts.
func (c *Conn) closeWith(code int, text string, byPeer, discard bool) bool {
	payload := websocket.FormatCloseMessage(code, fitCloseText(text))
	start, ok, gone := c.out.close(code, payload, byPeer, discard)
	release(gone)
	if start {
		c.t.cfg.Workers.Do(c.writeLoop)
	}
	return ok
}

// maxCloseText is the most text a close frame holds: 125 bytes of payload,
// 2 of them the code.
const maxCloseText = 123

// fitCloseText cuts text to maxCloseText bytes at a rune boundary.
func fitCloseText(text string) string {
	if len(text) <= maxCloseText {
		return text
	}
	cut := maxCloseText
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// peerClosed answers the peer's close frame with the same code. Gorilla
// then ends reading with a CloseError: nothing is left to drain.
func (c *Conn) peerClosed(code int, _ string) error {
	if code == websocket.CloseNoStatusReceived {
		code = websocket.CloseNormalClosure
	}
	c.closeWith(code, "", true, false)
	return nil
}

// closeDone records that the close frame is out, or will never be.
func (c *Conn) closeDone() {
	c.closeOnce.Do(func() { close(c.closeWritten) })
}

// finish runs once reading has ended (the peer's close frame, EOF, an
// error, or the end of lingering): the peer gets a close frame if it has
// none yet, the socket is closed once that is out (or CloseGrace passed),
// and the handler learns how the connection ended.
func (c *Conn) finish() {
	c.keepAlive.stop()
	c.closeWith(websocket.CloseNormalClosure, "", true, false) // the peer went away first
	select {
	case <-c.closeWritten:
	case <-time.After(c.t.cfg.CloseGrace):
	}
	if c.desync {
		c.drainRaw()
	}
	if c.raw != nil {
		c.t.poller.remove(c)
	}
	_ = c.ws.Close()
	code, byPeer := c.out.ending()
	c.h.Closed(code, byPeer)
}

// drainRaw lingers on a stream gorilla could not parse (it has sent 1002):
// it reads and discards raw bytes until EOF or CloseGrace.
func (c *Conn) drainRaw() {
	_ = c.rd.conn.SetReadDeadline(c.t.cfg.Clock().Add(c.t.cfg.CloseGrace))
	_, _ = io.Copy(io.Discard, c.rd.conn)
}
