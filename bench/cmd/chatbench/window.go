package main

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// maxOrderCells bounds the per-receiver, per-sender sequence table used to
// detect duplicated or reordered deliveries (4 bytes a cell); past it the
// order check is skipped.
const maxOrderCells = 1 << 22

// window measures one burst of traffic: senders stamp each message with the
// window's run id, and the window, as the crowd's frame handler, counts what
// comes back. Deliveries of other runs (late arrivals from an earlier window,
// messages queued by an earlier invocation) are counted as stale only.
type window struct {
	// Set at construction.
	run        uint32
	protocol   string
	senders    int
	checkOrder bool
	now        func() time.Time

	// Updated by reader and sender goroutines.
	sent         atomic.Int64 // messages written without error
	writeErrs    atomic.Int64 // writes that failed (the sender then stops)
	deliveries   atomic.Int64 // our messages of this run received, per recipient
	stale        atomic.Int64 // our messages of another run
	orderErrs    atomic.Int64 // a sender's seq not above the last one seen by that receiver
	offline      atomic.Int64 // deliveries marked "offline":true
	lastDelivery atomic.Int64 // Unix nanos of the latest delivery
	lat          histogram    // send-to-receive latency of this run's deliveries
	answers                   // receipts and error frames
}

// newWindow returns a window for run whose messages come from senders
// clients and reach receivers clients.
func newWindow(run uint32, protocol string, senders, receivers int, now func() time.Time) *window {
	return &window{
		run: run, protocol: protocol, senders: senders, now: now,
		checkOrder: senders*receivers <= maxOrderCells,
	}
}

// onFrame implements frameHandler.
func (w *window) onFrame(c *conn, frame []byte, at int64) {
	if w.protocol == protoHub {
		// The hub joins queued lines into one frame; each line is a delivery.
		for len(frame) > 0 {
			line, rest, _ := bytes.Cut(frame, []byte{'\n'})
			if d, ok := parseDelivery(line); ok {
				w.delivered(c, d, line, at)
			}
			frame = rest
		}
		return
	}
	if d, ok := parseDelivery(frame); ok {
		w.delivered(c, d, frame, at)
		return
	}
	w.count(classify(frame))
}

// delivered counts one of our messages received on c at time at.
func (w *window) delivered(c *conn, d delivery, frame []byte, at int64) {
	if d.run != w.run {
		w.stale.Add(1)
		return
	}
	w.deliveries.Add(1)
	w.lastDelivery.Store(at)
	w.lat.Record(time.Duration(at - d.sent))
	if bytes.Contains(frame, tagOffline) {
		w.offline.Add(1)
	}
	if w.checkOrder && d.sender < w.senders {
		w.checkSeq(c, d)
	}
}

// checkSeq flags a delivery whose seq is not above the last one c saw from
// the same sender: a duplicate or a reordering. Runs on c's reader goroutine.
func (w *window) checkSeq(c *conn, d delivery) {
	if c.seqRun != w.run || c.lastSeq == nil {
		c.seqRun, c.lastSeq = w.run, make([]uint32, w.senders)
	}
	if d.seq < c.lastSeq[d.sender] {
		w.orderErrs.Add(1)
		return
	}
	c.lastSeq[d.sender] = d.seq + 1
}

// sendPlan says what one sender sends.
type sendPlan struct {
	c      *conn
	index  int    // sender index, embedded in every message
	to     string // DM recipient; empty for public messages
	every  time.Duration
	phase  time.Duration // offset of the first message from start
	start  time.Time
	end    time.Time // no message is due at or after end
	giveUp time.Time // write deadline: a stuck write fails then
}

// send writes the plan's messages on schedule. A sender that falls behind
// (a slow write, a late wake-up) catches up at once, so the offered rate holds
// as long as the connection accepts the bytes; the stamp is the real write
// time, so catching up adds no latency of its own.
func (w *window) send(ctx context.Context, p sendPlan) {
	_ = p.c.ws.SetWriteDeadline(p.giveUp)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for seq := uint32(0); ; seq++ {
		due := p.start.Add(p.phase + time.Duration(seq)*p.every)
		if !due.Before(p.end) {
			return
		}
		if wait := due.Sub(w.now()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if !w.sendOne(p, seq) {
			return
		}
	}
}

// sendOne writes message seq of plan p.
func (w *window) sendOne(p sendPlan, seq uint32) bool {
	now := w.now()
	d := delivery{run: w.run, sender: p.index, seq: seq, sent: now.UnixNano()}
	switch {
	case w.protocol == protoHub:
		p.c.wbuf = appendHubLine(p.c.wbuf[:0], p.c.name, d, now)
	case p.to != "":
		p.c.wbuf = appendDM(p.c.wbuf[:0], p.to, d)
	default:
		p.c.wbuf = appendSay(p.c.wbuf[:0], d)
	}
	if err := p.c.ws.WriteMessage(websocket.TextMessage, p.c.wbuf); err != nil {
		w.writeErrs.Add(1)
		return false
	}
	w.sent.Add(1)
	return true
}

// awaitDeliveries waits until want deliveries have arrived, none has arrived
// for stall (the rest are lost, not late), the deadline has passed, or ctx is
// done.
func (w *window) awaitDeliveries(ctx context.Context, want int64, stall time.Duration, deadline time.Time) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	got, progress := w.deliveries.Load(), w.now()
	for got < want && w.now().Before(deadline) && w.now().Sub(progress) < stall {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := w.deliveries.Load(); n != got {
			got, progress = n, w.now()
		}
	}
}
