package main

import (
	"context"
	"sync"
	"time"
)

// traffic runs the fanout or dm scenario: connect N clients, let the wave
// settle, then measure one window at the configured rate, or sweep.
func (r *runner) traffic(ctx context.Context) (Result, error) {
	res := r.baseResult()
	cr, err := r.connectCrowd(ctx, &res)
	defer func() {
		if cr != nil {
			cr.close()
		}
	}()
	if err != nil {
		return res, err
	}
	if r.cfg.Sweep {
		cr, err = r.sweep(ctx, cr, &res)
		return res, err
	}
	tr := r.window(ctx, cr, r.cfg.Rate)
	res.Traffic = &tr
	recordDrops(cr, &res)
	return res, ctx.Err()
}

// connectCrowd dials N clients and waits for the connection wave to settle.
// On error the returned crowd (if any) still has to be closed.
func (r *runner) connectCrowd(ctx context.Context, res *Result) (*crowd, error) {
	cr := r.newCrowd(ignoreFrames{})
	if _, err := r.connectAll(ctx, cr, r.userNames(r.cfg.N), res); err != nil {
		return cr, err
	}
	cr.settle(ctx, r.cfg.Quiet, r.cfg.SettleMax)
	return cr, ctx.Err()
}

// stallLimit ends the wait for outstanding deliveries once none has arrived
// for this long: the rest are lost, and waiting longer only dilutes the CPU
// figures. Far above any passing p99, so a slow server is not cut short.
const stallLimit = time.Second

// window sends at rate (total messages per second) for the configured
// duration, waits up to the grace period for every delivery, and reports.
func (r *runner) window(ctx context.Context, cr *crowd, rate float64) TrafficResult {
	plans, recipients := r.plans(cr.conns, rate)
	w := newWindow(r.newRunID(), r.cfg.Protocol, len(plans), len(cr.conns), r.now)
	cr.setHandler(w)
	dropped0, _ := cr.drops()
	meter := cpuMeter{serverPID: r.cfg.ServerPID, now: r.now}
	if err := meter.start(); err != nil {
		r.log.Warn("cpu meter", "err", err)
	}
	start := r.now()
	end := start.Add(r.cfg.Duration)
	r.log.Info("sending", "rate", rate, "senders", len(plans), "recipients", recipients, "for", r.cfg.Duration)
	var wg sync.WaitGroup
	for _, p := range plans {
		p.start, p.end, p.giveUp = start, end, end.Add(r.cfg.Grace)
		wg.Go(func() { w.send(ctx, p) })
	}
	wg.Wait()
	expected := w.sent.Load() * int64(recipients)
	w.awaitDeliveries(ctx, expected, stallLimit, end.Add(r.cfg.Grace))
	use, err := meter.stop()
	if err != nil {
		r.log.Warn("cpu meter", "err", err)
	}
	dropped1, _ := cr.drops()
	tr := w.result(rate, start, end, recipients, use)
	tr.Dropped = dropped1 - dropped0
	return tr
}

// plans assigns senders: the first S connections send, spread evenly over
// time so that together they offer rate messages a second. For dm, client i
// writes to client i^1 (its pair; the last of an odd crowd to itself). It
// also returns how many clients receive each message.
func (r *runner) plans(conns []*conn, rate float64) ([]sendPlan, int) {
	s := r.cfg.Senders
	if s <= 0 || s > len(conns) {
		s = len(conns)
	}
	every := time.Duration(float64(s) / rate * float64(time.Second))
	plans := make([]sendPlan, s)
	for i := range plans {
		plans[i] = sendPlan{c: conns[i], index: i, every: every,
			phase: time.Duration(float64(i) / rate * float64(time.Second))}
		if r.cfg.Scenario == scenarioDM {
			peer := i ^ 1
			if peer >= len(conns) {
				peer = i
			}
			plans[i].to = conns[peer].name
		}
	}
	if r.cfg.Scenario == scenarioDM {
		return plans, 1
	}
	return plans, len(conns)
}

// result summarises the window.
func (w *window) result(rate float64, start, end time.Time, recipients int, use cpuUse) TrafficResult {
	sent, got := w.sent.Load(), w.deliveries.Load()
	tr := TrafficResult{
		Senders: w.senders, TargetRate: rate, Sent: sent,
		SendSeconds: end.Sub(start).Seconds(),
		Recipients:  recipients, Expected: sent * int64(recipients), Deliveries: got,
		Latency: w.lat.Summary(), Stale: w.stale.Load(), OrderErrors: w.orderErrs.Load(),
		OrderCheck: w.checkOrder, Receipts: w.receipts.Load(), WriteErrors: w.writeErrs.Load(),
		Errors: w.errorCodes(),
	}
	tr.Loss = tr.Expected - got
	tr.OfferedRate = float64(sent) / tr.SendSeconds
	// Throughput counts until the last delivery when the tail ran past the
	// sending time (the server fell behind), else over the sending time.
	last := time.Unix(0, w.lastDelivery.Load())
	tr.Seconds = max(last.Sub(start), end.Sub(start)).Seconds()
	tr.DeliveriesPerS = float64(got) / tr.Seconds
	tr.DeliveredRate = tr.DeliveriesPerS / float64(recipients)
	// CPU in cores over the active part of the window, not the idle wait
	// for deliveries that never came.
	use.wall = min(use.wall, time.Duration(tr.Seconds*float64(time.Second)))
	tr.CPU = cpuFigures(use, got)
	if len(tr.Errors) == 0 {
		tr.Errors = nil
	}
	return tr
}
