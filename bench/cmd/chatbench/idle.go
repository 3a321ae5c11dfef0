package main

import (
	"context"
	"time"
)

// idle runs the idle scenario: open N connections as fast as the dialers
// allow (each counted once its welcome arrived), hold them for the duration,
// and report the opening rate and the server's memory growth per connection.
func (r *runner) idle(ctx context.Context) (Result, error) {
	res := r.baseResult()
	ir := &IdleResult{Target: r.cfg.N}
	res.Idle = ir
	rss0, rssOK := r.serverRSS()
	meter := cpuMeter{serverPID: r.cfg.ServerPID, now: r.now}
	if err := meter.start(); err != nil {
		r.log.Warn("cpu meter", "err", err)
	}
	cr := r.newCrowd(ignoreFrames{})
	defer cr.close()
	ds, err := r.connectAll(ctx, cr, r.userNames(r.cfg.N), &res)
	use, merr := meter.stop()
	if merr != nil {
		r.log.Warn("cpu meter", "err", merr)
	}
	ir.CPU = cpuFigures(use, int64(ds.connected))
	ir.RampSeconds = ds.elapsed.Seconds()
	if ds.elapsed > 0 {
		ir.ConnsPerS = float64(ds.connected) / ds.elapsed.Seconds()
	}
	if err != nil {
		return res, err
	}
	cr.settle(ctx, r.cfg.Quiet, r.cfg.SettleMax)
	held := r.hold(ctx)
	ir.HeldSeconds = held.Seconds()
	if rss1, ok := r.serverRSS(); ok && rssOK {
		per := float64(rss1-rss0) / float64(ds.connected)
		ir.RSSBeforeKiB, ir.RSSAfterKiB, ir.RSSPerConnKiB = &rss0, &rss1, &per
	}
	recordDrops(cr, &res)
	return res, ctx.Err()
}

// hold keeps the connections open (their readers answer pings) for the
// configured duration or until ctx is done, and returns how long it held.
func (r *runner) hold(ctx context.Context) time.Duration {
	start := r.now()
	t := time.NewTimer(r.cfg.Duration)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return r.now().Sub(start)
}

// serverRSS reads the server's resident set size, if a server PID was given.
func (r *runner) serverRSS() (int64, bool) {
	if r.cfg.ServerPID == 0 {
		return 0, false
	}
	kib, err := readRSS(r.cfg.ServerPID)
	if err != nil {
		r.log.Warn("server rss", "err", err)
		return 0, false
	}
	return kib, true
}
