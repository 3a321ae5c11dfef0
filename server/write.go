package server

import (
	"strconv"

	"github.com/gorilla/websocket"
)

// writeLoop writes everything queued, batch after batch, and exits when the
// outbox is empty; the next push starts it again. An idle connection thus
// has no writer goroutine. Only one runs at a time (outbox.writing).
func (c *conn) writeLoop() {
	for {
		batch := c.out.take()
		if batch == nil {
			return
		}
		done := c.write(batch)
		c.out.recycle(batch)
		if done {
			return
		}
	}
}

// write writes one batch with a single flush: each text frame its own
// WebSocket message, then, if the batch held private messages, a ping whose
// pong will confirm them. It reports whether the connection is done for
// writing (a close frame went out, or writing failed).
func (c *conn) write(batch []frame) (done bool) {
	deadline := c.srv.cfg.Clock().Add(c.srv.cfg.WriteWait)
	_ = c.ws.SetWriteDeadline(deadline)
	c.net.begin()
	var seq uint64
	var err error
	for _, f := range batch {
		if f.op == websocket.TextMessage {
			err = c.ws.WriteMessage(websocket.TextMessage, f.data)
			seq = max(seq, f.seq)
		} else {
			err = c.ws.WriteControl(f.op, f.data, deadline)
			done = done || f.op == websocket.CloseMessage
		}
		if err != nil {
			break
		}
	}
	if seq > 0 && err == nil && !done {
		// Recorded before the flush: the pong that confirms seq can only
		// come after the flush, and must find it written.
		c.written.Store(seq)
		err = c.ws.WriteControl(websocket.PingMessage, strconv.AppendUint(nil, seq, 10), deadline)
	}
	if ferr := c.net.flush(deadline, c.srv.cfg.WriteWait/2); err == nil {
		err = ferr
	}
	c.srv.metrics.countBatch(batch)
	return c.afterWrite(done, err)
}

// afterWrite records what the batch achieved. Once the close frame is out,
// the peer has CloseGrace to answer it before the read loop gives up.
func (c *conn) afterWrite(closed bool, err error) bool {
	if err != nil {
		c.logger().Debug("write failed", "err", err)
		_ = c.net.Close() // ends the read loop, which cleans up
		c.closeDone()
		return true
	}
	if closed {
		_ = c.net.SetReadDeadline(c.srv.cfg.Clock().Add(c.srv.cfg.CloseGrace))
		c.closeDone()
	}
	return closed
}

func (c *conn) closeDone() {
	c.closeOnce.Do(func() { close(c.closeWritten) })
}
