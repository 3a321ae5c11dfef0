package server

import (
	"log/slog"
	"strconv"
	"time"

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
		c.releasePooled(batch)
		c.out.recycle(batch)
		if done {
			return
		}
	}
}

// releasePooled hands back the pooled buffers of frames just written.
func (c *conn) releasePooled(batch []frame) {
	for _, f := range batch {
		if f.pooled != nil {
			c.srv.welcomes.release(f.pooled)
		}
	}
}

// write writes one batch with a single flush, each text frame its own
// WebSocket message, and arranges for the private messages in it to be
// confirmed (confirmUpTo). It reports whether the connection is done for
// writing (a close frame went out, or writing failed).
func (c *conn) write(batch []frame) (done bool) {
	deadline := c.srv.cfg.Clock().Add(c.srv.cfg.WriteWait)
	_ = c.ws.SetWriteDeadline(deadline)
	c.net.begin()
	seq, done, err := c.writeFrames(batch, deadline)
	if seq > 0 && err == nil && !done {
		err = c.confirmUpTo(seq, deadline)
	}
	if ferr := c.net.flush(deadline, c.srv.cfg.WriteWait/2); err == nil {
		err = ferr
	}
	c.srv.metrics.countBatch(batch)
	return c.afterWrite(done, err)
}

// writeFrames hands the batch to gorilla (into the open batch buffer). It
// returns the highest private-message seq among the text frames and whether
// a close frame was among them.
func (c *conn) writeFrames(batch []frame, deadline time.Time) (seq uint64, closed bool, err error) {
	for _, f := range batch {
		switch f.op {
		case websocket.TextMessage:
			err = c.ws.WriteMessage(websocket.TextMessage, f.data)
			seq = max(seq, f.seq)
		case websocket.PingMessage:
			err = c.ws.WriteControl(f.op, f.data, deadline)
			if f.seq > c.pinged { // a scheduled confirmation (or keep-alive) ping
				c.pinged, c.lastConfirm = f.seq, c.srv.cfg.Clock()
			}
		default:
			err = c.ws.WriteControl(f.op, f.data, deadline)
			closed = closed || f.op == websocket.CloseMessage
		}
		if err != nil {
			break
		}
	}
	return seq, closed, err
}

// confirmUpTo records that private messages up to seq are written and makes
// sure a ping carrying seq follows. The ping goes out at once unless a
// confirmation ping went out less than confirmDelay ago, in which case one
// is scheduled for when the delay is up (or at once anyway when
// confirmBurst messages wait, as when a long inbox drains). A lone message
// is confirmed within a round trip; a steady stream costs one pong per
// confirmDelay instead of one per message.
func (c *conn) confirmUpTo(seq uint64, deadline time.Time) error {
	// Recorded before the flush: the pong that confirms seq can only come
	// after the flush, and must find it written.
	c.written.Store(seq)
	now := c.srv.cfg.Clock()
	if wait := c.lastConfirm.Add(confirmDelay).Sub(now); wait > 0 && seq-c.pinged < confirmBurst {
		if c.confirmArmed.CompareAndSwap(false, true) {
			time.AfterFunc(wait, c.sendConfirmPing)
		}
		return nil
	}
	c.pinged, c.lastConfirm = seq, now
	return c.ws.WriteControl(websocket.PingMessage, strconv.AppendUint(nil, seq, 10), deadline)
}

func (c *conn) sendConfirmPing() {
	c.confirmArmed.Store(false)
	c.sendPing()
}

// afterWrite records what the batch achieved. Once the close frame is out,
// the peer has CloseGrace to answer it before the reader gives up.
func (c *conn) afterWrite(closed bool, err error) bool {
	if err != nil {
		c.log(slog.LevelDebug, "write failed", "err", err)
		c.net.stopReading() // the reader cleans up
		c.closeDone()
		return true
	}
	if closed {
		time.AfterFunc(c.srv.cfg.CloseGrace, c.net.stopReading)
		c.closeDone()
	}
	return closed
}

func (c *conn) closeDone() {
	c.closeOnce.Do(func() { close(c.closeWritten) })
}
