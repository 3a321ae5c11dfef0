package main

import (
	"context"
	"fmt"
	"math"
	"time"
)

// sweepPrecision ends a sweep once the passing and failing rates are this
// close (failing / passing).
const sweepPrecision = 1.1

// sweep searches the highest rate that passes (see judge): it doubles the
// rate from the configured start until a window fails, then bisects between
// the best pass and the lowest failure, for at most SweepSteps windows. A
// window that lost connections is followed by a fresh crowd. It returns the
// crowd in use at the end, for the caller to close.
func (r *runner) sweep(ctx context.Context, cr *crowd, res *Result) (*crowd, error) {
	sw := &SweepResult{Criterion: fmt.Sprintf("zero loss, no errors, drops or reordering, p99 < %v, offered >= 95%% of target", r.cfg.SweepP99)}
	res.Sweep = sw
	lo, hi := 0.0, 0.0 // best passing rate, lowest failing rate (0: none yet)
	rate := math.Max(1, math.Round(r.cfg.Rate))
	for step := 0; step < r.cfg.SweepSteps && ctx.Err() == nil; step++ {
		var err error
		if cr, err = r.freshen(ctx, cr, res, step); err != nil {
			return cr, err
		}
		tr := r.window(ctx, cr, rate)
		pass, reason := r.judge(tr)
		tr.Pass, tr.Reason = &pass, reason
		sw.Steps = append(sw.Steps, tr)
		res.Dropped += tr.Dropped
		r.log.Info("sweep step", "rate", rate, "pass", pass, "reason", reason,
			"p99_ms", tr.Latency.P99, "loss", tr.Loss)
		if pass {
			lo, sw.BestRate = rate, rate
			res.Traffic = &sw.Steps[len(sw.Steps)-1]
		} else {
			hi = rate
		}
		next, more := nextSweepRate(lo, hi)
		if !more {
			break
		}
		rate = next
	}
	if res.Traffic != nil {
		best := *res.Traffic // Steps may have grown since the pointer was taken
		res.Traffic = &best
	}
	return cr, ctx.Err()
}

// nextSweepRate returns the rate to try after the best pass lo and the lowest
// failure hi (0 when there is none), and false when the search is done.
func nextSweepRate(lo, hi float64) (float64, bool) {
	var next float64
	switch {
	case hi == 0:
		next = lo * 2
	case lo == 0:
		next = math.Floor(hi / 2)
	default:
		if hi/lo <= sweepPrecision {
			return 0, false
		}
		next = math.Round((lo + hi) / 2)
	}
	if next < 1 || next == lo || next == hi {
		return 0, false
	}
	return next, true
}

// freshen prepares the crowd for a sweep step: after a step that lost
// connections it dials a new crowd, otherwise it lets the last step's
// stragglers pass.
func (r *runner) freshen(ctx context.Context, cr *crowd, res *Result, step int) (*crowd, error) {
	if step == 0 {
		return cr, nil
	}
	if n, _ := cr.drops(); n == 0 {
		cr.settle(ctx, r.cfg.Quiet, r.cfg.SettleMax)
		return cr, ctx.Err()
	}
	cr.close()
	return r.connectCrowd(ctx, res)
}

// judge says whether a window passes the sweep criterion, and if not why.
func (r *runner) judge(tr TrafficResult) (bool, string) {
	switch {
	case tr.Sent == 0:
		return false, "nothing sent"
	case tr.Loss != 0:
		return false, fmt.Sprintf("loss %d", tr.Loss)
	case tr.Dropped != 0:
		return false, fmt.Sprintf("%d connections dropped", tr.Dropped)
	case len(tr.Errors) != 0 || tr.WriteErrors != 0:
		return false, "errors"
	case tr.OrderErrors != 0:
		return false, fmt.Sprintf("%d out of order", tr.OrderErrors)
	case tr.Latency.P99 >= float64(r.cfg.SweepP99)/float64(time.Millisecond):
		return false, fmt.Sprintf("p99 %.1f ms", tr.Latency.P99)
	case tr.OfferedRate < 0.95*tr.TargetRate:
		return false, fmt.Sprintf("tool offered only %.0f msg/s", tr.OfferedRate)
	}
	return true, ""
}
