package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// drain runs the drain scenario: a receiver connects once (so the server
// knows it) and leaves; a sender queues K private messages for it, pipelined;
// then the receiver reconnects and the tool times the arrival of all K.
func (r *runner) drain(ctx context.Context) (Result, error) {
	res := r.baseResult()
	dr := &DrainResult{Messages: r.cfg.N}
	res.Drain = dr
	rx, tx := r.cfg.Prefix+"-drain-rx", r.cfg.Prefix+"-drain-tx"
	if err := r.visit(ctx, rx, &res); err != nil {
		return res, err
	}
	ds := newDrainSender(r.cfg.Pipeline)
	txc := r.newCrowd(ds)
	defer txc.close()
	if _, err := r.connectAll(ctx, txc, []string{tx}, &res); err != nil {
		return res, err
	}
	// Bound every write of the sender: a server that stops reading must not
	// hang the tool.
	_ = txc.conns[0].ws.SetWriteDeadline(r.now().Add(r.cfg.DialTimeout + r.cfg.Duration + r.cfg.Grace))
	if err := r.awaitOffline(ctx, txc.conns[0], ds, rx); err != nil {
		return res, err
	}
	w := newWindow(r.newRunID(), protoChat, 1, 1, r.now)
	if err := r.queueDMs(ctx, txc.conns[0], ds, w, rx, dr); err != nil {
		return res, err
	}
	err := r.reconnect(ctx, rx, w, dr, &res)
	res.Clients = 2
	return res, err
}

// visit connects user name once and disconnects, so the server knows it.
func (r *runner) visit(ctx context.Context, name string, res *Result) error {
	cr := r.newCrowd(ignoreFrames{})
	defer cr.close()
	_, err := r.connectAll(ctx, cr, []string{name}, res)
	return err
}

// drainSender is the handler of the sending connection: it counts receipts
// and refusals and frees a pipeline slot for each.
type drainSender struct {
	// Set at construction.
	slots chan struct{} // one token per DM awaiting its answer
	users chan []string // answers to who; the latest wins

	// Updated by the reader goroutine.
	answered atomic.Int64
	answers  // receipts and refusals
}

func newDrainSender(pipeline int) *drainSender {
	return &drainSender{
		slots: make(chan struct{}, pipeline),
		users: make(chan []string, 1),
	}
}

// onFrame implements frameHandler.
func (d *drainSender) onFrame(_ *conn, frame []byte, _ int64) {
	kind, f := classify(frame)
	if kind == kindUsers {
		select {
		case d.users <- f.Users:
		default:
		}
		return
	}
	if !d.count(kind, f) {
		return
	}
	d.answered.Add(1)
	select {
	case <-d.slots:
	default:
	}
}

// awaitOffline asks the server who is online until rx is not: a DM sent
// before the server has seen rx leave would be delivered, not queued.
func (r *runner) awaitOffline(ctx context.Context, c *conn, d *drainSender, rx string) error {
	deadline := r.now().Add(r.cfg.DialTimeout)
	after := rx[:len(rx)-1] // sorts just before rx, so rx would come first
	for r.now().Before(deadline) {
		if err := c.ws.WriteMessage(websocket.TextMessage, appendWho(nil, after)); err != nil {
			return fmt.Errorf("who: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case users := <-d.users:
			if len(users) == 0 || users[0] != rx {
				return nil
			}
		case <-time.After(time.Second):
		}
		time.Sleep(20 * time.Millisecond) // give the server time to process the close
	}
	return fmt.Errorf("%s still online after %v", rx, r.cfg.DialTimeout)
}

// queueDMs sends K DMs to rx with at most Pipeline awaiting their answer,
// then waits for all answers.
func (r *runner) queueDMs(ctx context.Context, c *conn, d *drainSender, w *window, rx string, dr *DrainResult) error {
	start := r.now()
	k := r.cfg.N
	for seq := range k {
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		msg := delivery{run: w.run, seq: uint32(seq), sent: r.now().UnixNano()}
		c.wbuf = appendDM(c.wbuf[:0], rx, msg)
		if err := c.ws.WriteMessage(websocket.TextMessage, c.wbuf); err != nil {
			return fmt.Errorf("dm %d: %w", seq, err)
		}
	}
	deadline := r.now().Add(r.cfg.Grace + r.cfg.Duration)
	for d.answered.Load() < int64(k) && r.now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond) // polled: answers come from the reader goroutine
	}
	dr.QueueSeconds = r.now().Sub(start).Seconds()
	dr.Receipts, dr.Queued = d.receipts.Load(), d.queued.Load()
	if codes := d.errorCodes(); len(codes) > 0 {
		dr.Errors = codes
	}
	r.log.Info("queued", "messages", k, "receipts", dr.Receipts, "queued", dr.Queued, "seconds", dr.QueueSeconds)
	if dr.Receipts+int64(len(dr.Errors)) == 0 {
		return fmt.Errorf("no answer to %d DMs", k)
	}
	return nil
}

// reconnect connects rx again and times the arrival of everything queued.
func (r *runner) reconnect(ctx context.Context, rx string, w *window, dr *DrainResult, res *Result) error {
	meter := cpuMeter{serverPID: r.cfg.ServerPID, now: r.now}
	if err := meter.start(); err != nil {
		r.log.Warn("cpu meter", "err", err)
	}
	cr := r.newCrowd(w)
	defer cr.close()
	start := r.now()
	if _, err := r.connectAll(ctx, cr, []string{rx}, res); err != nil {
		return err
	}
	dr.ReconnectMS = ms(cr.conns[0].welcomed.Sub(start))
	w.awaitDeliveries(ctx, dr.Receipts, r.cfg.Grace, r.now().Add(r.cfg.Grace+r.cfg.Duration))
	use, err := meter.stop()
	if err != nil {
		r.log.Warn("cpu meter", "err", err)
	}
	dr.Received, dr.Offline = w.deliveries.Load(), w.offline.Load()
	dr.OrderErrors, dr.Stale = w.orderErrs.Load(), w.stale.Load()
	dr.Complete = dr.Received == int64(dr.Messages)
	if last := w.lastDelivery.Load(); last != 0 {
		took := time.Unix(0, last).Sub(start)
		dr.DrainMS = ms(took)
		if took > 0 {
			dr.DrainRate = float64(dr.Received) / took.Seconds()
		}
	}
	dr.CPU = cpuFigures(use, dr.Received)
	recordDrops(cr, res)
	return ctx.Err()
}
