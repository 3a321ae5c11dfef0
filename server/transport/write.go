package transport

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// writeLoop writes everything queued, batch after batch, and exits when the
// outbox is empty; the next push starts it again. An idle connection thus
// has no writer goroutine. Only one runs at a time (outbox.writing).
func (c *Conn) writeLoop() {
	for {
		batch := c.out.take()
		if batch == nil {
			return
		}
		done := c.write(batch)
		release(batch)
		c.out.recycle(batch)
		if done {
			return
		}
	}
}

// write writes one batch with a single flush (one syscall), each text
// frame its own WebSocket message, and arranges for the frames with a Seq
// to be confirmed (confirmUpTo). It reports whether the connection is done
// for writing (a close frame went out, or writing failed).
func (c *Conn) write(batch []frame) (done bool) {
	cfg := &c.t.cfg
	deadline := cfg.Clock().Add(cfg.WriteWait)
	_ = c.ws.SetWriteDeadline(deadline)
	c.net.begin()
	seq, closed, err := c.writeFrames(batch, deadline)
	if seq > 0 && err == nil && !closed {
		err = c.confirmUpTo(seq, deadline)
	}
	if ferr := c.net.flush(deadline, cfg.WriteWait/2); err == nil {
		err = ferr
	}
	cfg.OnWrite(tally(batch))
	return c.afterWrite(closed, err)
}

// tally counts a batch for Config.OnWrite: once per batch rather than once
// per frame, because the caller's counters are shared by every connection.
func tally(batch []frame) Tally {
	t := Tally{Frames: len(batch)}
	for i := range batch {
		if batch[i].op == websocket.TextMessage && batch[i].Tag <= MaxTag {
			t.Tags[batch[i].Tag]++
		}
	}
	return t
}

// writeFrames hands the batch to gorilla (into the open batch buffer). It
// returns the highest Seq among the text frames and whether a close frame
// was among them.
func (c *Conn) writeFrames(batch []frame, deadline time.Time) (seq uint64, closed bool, err error) {
	for i := range batch {
		f := &batch[i]
		switch f.op {
		case websocket.TextMessage:
			err = c.ws.WriteMessage(websocket.TextMessage, f.Data)
			seq = max(seq, f.Seq)
		case websocket.PingMessage:
			err = c.ws.WriteControl(f.op, f.Data, deadline)
			if f.Seq > c.pinged { // a scheduled confirmation (or keep-alive) ping
				c.pinged, c.lastConfirm = f.Seq, c.t.cfg.Clock()
			}
		default:
			err = c.ws.WriteControl(f.op, f.Data, deadline)
			closed = closed || f.op == websocket.CloseMessage
		}
		if err != nil {
			break
		}
	}
	return seq, closed, err
}

// confirmUpTo records that frames up to seq are written and makes sure a
// ping carrying seq follows. The ping goes out at once unless a
// confirmation ping went out less than confirmDelay ago, in which case one
// is scheduled for when the delay is up (or at once anyway when
// confirmBurst frames wait, as when a long queue drains). A lone frame is
// confirmed within a round trip; a steady stream costs one pong per
// confirmDelay instead of one per frame.
func (c *Conn) confirmUpTo(seq uint64, deadline time.Time) error {
	// Recorded before the flush: the pong that confirms seq can only come
	// after the flush, and must find it written.
	c.written.Store(seq)
	now := c.t.cfg.Clock()
	if wait := c.lastConfirm.Add(confirmDelay).Sub(now); wait > 0 && seq-c.pinged < confirmBurst {
		if c.confirmArmed.CompareAndSwap(false, true) {
			time.AfterFunc(wait, c.sendConfirmPing)
		}
		return nil
	}
	c.pinged, c.lastConfirm = seq, now
	return c.ws.WriteControl(websocket.PingMessage, strconv.AppendUint(nil, seq, 10), deadline)
}

// sendPing queues a ping whose payload is the highest Seq written, so that
// its pong also confirms delivery (the keep-alive's, and the scheduled
// confirmation's).
func (c *Conn) sendPing() {
	seq := c.written.Load()
	c.push(frame{op: websocket.PingMessage, Frame: Frame{Data: strconv.AppendUint(nil, seq, 10), Seq: seq}})
}

func (c *Conn) sendConfirmPing() {
	c.confirmArmed.Store(false)
	c.sendPing()
}

// afterWrite records what the batch achieved. Once the close frame is out
// the write side is shut (FIN), and the peer has CloseGrace to answer
// before the reader gives up lingering (close.go).
func (c *Conn) afterWrite(closed bool, err error) bool {
	if err != nil {
		c.log(slog.LevelDebug, "write failed", "err", err)
		c.net.stopReading() // the reader finishes
		c.closeDone()
		return true
	}
	if closed {
		c.net.closeWrite()
		time.AfterFunc(c.t.cfg.CloseGrace, c.net.stopReading)
		c.closeDone()
	}
	return closed
}
