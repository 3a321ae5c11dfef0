package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Scenarios the tool runs.
const (
	scenarioFanout = "fanout"
	scenarioDM     = "dm"
	scenarioIdle   = "idle"
	scenarioDrain  = "drain"
)

// Config is one invocation of the tool. Zero values mean the documented
// defaults (see withDefaults); main fills it from flags.
type Config struct {
	URL *url.URL // server endpoint; required
	// More are further endpoints of the same service (a cluster's nodes):
	// client PREFIX-i dials endpoint i modulo 1+len(More), URL first.
	More     []*url.URL
	Protocol string // protoChat (default) or protoHub
	Scenario string // fanout (default), dm, idle or drain
	Label    string // names the server in reports; optional
	Prefix   string // user names are Prefix-0 .. Prefix-(N-1); default "bench"

	N       int     // clients (fanout, dm, idle) or queued messages (drain); default 100
	Senders int     // clients that send (fanout, dm); zero means all N
	Rate    float64 // total messages per second (fanout, dm), sweep start; default 100

	Duration time.Duration // sending time per window, holding time for idle; default 5s
	Grace    time.Duration // wait for stragglers after sending; default 3s

	Sweep      bool          // fanout/dm: search the highest passing rate
	SweepSteps int           // windows a sweep may run; default 10
	SweepP99   time.Duration // a passing window's p99 bound; default 100ms

	ServerPID int // server process for CPU and memory figures; zero: not measured

	DialConcurrency int           // dials in flight; default 64
	DialTimeout     time.Duration // per dial including the welcome; default 10s
	Quiet           time.Duration // silence that ends a settle; default 300ms
	SettleMax       time.Duration // longest settle after a connection wave; default 30s
	Pipeline        int           // drain: DMs awaiting their receipt at once; default 500
	SourceIPs       []net.IP      // local addresses the clients connect from; empty: any
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.N, 100)
	def(&c.SweepSteps, 10)
	def(&c.DialConcurrency, 64)
	def(&c.Pipeline, 500)
	defDur(&c.Duration, 5*time.Second)
	defDur(&c.Grace, 3*time.Second)
	defDur(&c.SweepP99, 100*time.Millisecond)
	defDur(&c.DialTimeout, 10*time.Second)
	defDur(&c.Quiet, 300*time.Millisecond)
	defDur(&c.SettleMax, 30*time.Second)
	if c.Rate <= 0 {
		c.Rate = 100
	}
	if c.Protocol == "" {
		c.Protocol = protoChat
	}
	if c.Scenario == "" {
		c.Scenario = scenarioFanout
	}
	if c.Prefix == "" {
		c.Prefix = "bench"
	}
	return c
}

// validate rejects combinations the tool cannot run.
func (c Config) validate() error {
	switch {
	case c.URL == nil:
		return fmt.Errorf("no server URL")
	case c.Protocol != protoChat && c.Protocol != protoHub:
		return fmt.Errorf("unknown protocol %q (chat or gorilla-hub)", c.Protocol)
	case c.Protocol == protoHub && (c.Scenario == scenarioDM || c.Scenario == scenarioDrain):
		return fmt.Errorf("scenario %s needs private messages; gorilla's hub has none", c.Scenario)
	case c.Sweep && c.Scenario != scenarioFanout && c.Scenario != scenarioDM:
		return fmt.Errorf("-sweep applies to fanout and dm only")
	case c.Senders > c.N:
		return fmt.Errorf("-senders %d exceeds -n %d", c.Senders, c.N)
	}
	switch c.Scenario {
	case scenarioFanout, scenarioDM, scenarioIdle, scenarioDrain:
		return nil
	}
	return fmt.Errorf("unknown scenario %q", c.Scenario)
}

// runner runs one Config. Everything in it is owned by the goroutine that
// calls run; the crowds it builds own their reader goroutines.
type runner struct {
	// Set at construction.
	cfg Config
	log *slog.Logger
	now func() time.Time

	// Owned by the run goroutine.
	nextRun uint32 // run id of the next measurement window
}

// newRunner returns a runner for cfg (defaults applied) using clock now.
func newRunner(cfg Config, log *slog.Logger, now func() time.Time) (*runner, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Run ids differ between invocations, so messages an earlier invocation
	// left queued on the server are recognised as stale.
	return &runner{cfg: cfg, log: log, now: now, nextRun: uint32(now().UnixNano() >> 20)}, nil
}

// run executes the configured scenario.
func (r *runner) run(ctx context.Context) (Result, error) {
	switch r.cfg.Scenario {
	case scenarioIdle:
		return r.idle(ctx)
	case scenarioDrain:
		return r.drain(ctx)
	default:
		return r.traffic(ctx)
	}
}

// newRunID returns a fresh measurement-window id.
func (r *runner) newRunID() uint32 {
	r.nextRun++
	return r.nextRun
}

// newCrowd returns an empty crowd dialling the configured server.
func (r *runner) newCrowd(h frameHandler) *crowd {
	return newCrowd(crowdConfig{
		URL:         r.cfg.URL,
		More:        r.cfg.More,
		Protocol:    r.cfg.Protocol,
		Concurrency: r.cfg.DialConcurrency,
		Timeout:     r.cfg.DialTimeout,
		SourceIPs:   r.cfg.SourceIPs,
	}, h, r.now, r.log)
}

// userNames returns the names of n clients.
func (r *runner) userNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = r.cfg.Prefix + "-" + strconv.Itoa(i)
	}
	return names
}

// baseResult fills the fields every scenario reports.
func (r *runner) baseResult() Result {
	return Result{
		Scenario: r.cfg.Scenario,
		Protocol: r.cfg.Protocol,
		Label:    r.cfg.Label,
		URL:      r.cfg.URL.String(),
		Date:     r.now().UTC().Format(time.RFC3339),
	}
}

// connectAll dials the crowd's clients and records the outcome in res. It
// fails when no client connected at all.
func (r *runner) connectAll(ctx context.Context, cr *crowd, names []string, res *Result) (dialStats, error) {
	r.log.Info("connecting", "clients", len(names), "url", r.cfg.URL.String())
	ds := cr.dial(ctx, names)
	res.Clients = ds.connected
	res.ConnectFailed = ds.failed
	if ds.firstErr != nil {
		res.DialError = ds.firstErr.Error()
		r.log.Warn("some clients failed to connect", "failed", ds.failed, "first", ds.firstErr)
	}
	if ds.connected == 0 {
		return ds, fmt.Errorf("no client connected: %v", ds.firstErr)
	}
	r.log.Info("connected", "clients", ds.connected, "elapsed", ds.elapsed.Round(time.Millisecond))
	return ds, ctx.Err()
}

// recordDrops copies the crowd's server-side disconnects into res.
func recordDrops(cr *crowd, res *Result) {
	n, codes := cr.drops()
	res.Dropped = n
	if n == 0 {
		return
	}
	res.DropCodes = map[string]int{}
	for code, k := range codes {
		res.DropCodes[strconv.Itoa(code)] = k
	}
}
