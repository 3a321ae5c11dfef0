package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

const usage = `chatbench drives a chat server over real WebSocket connections and reports
throughput, loss, latency and CPU (the chat protocol: docs/protocol.md).

  chatbench [flags]                 run one scenario, print a table (or -json)
  chatbench -report [-baseline L] FILE...
                                    print JSON results from FILEs as one table

Scenarios: fanout (public messages to everyone), dm (private messages between
pairs), idle (open and hold connections), drain (K queued DMs delivered on
reconnect; -n is K). More than ~19,000 connections: run several processes with
different -prefix values, and sum their figures.

Flags:
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the tool and returns the exit status.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	o := bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.report {
		return runReport(fs.Args(), o.baseline, stdout, stderr)
	}
	level := slog.LevelInfo
	if o.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := o.config()
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "chatbench:", err)
		return 2
	}
	if _, err := raiseNoFileLimit(); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "chatbench:", err)
			return 2
		}
		defer stop()
	}
	return runOnce(cfg, o.json, log, stdout, stderr)
}

// startCPUProfile profiles the tool itself into path until stop is called,
// to see what limits it when its CPU use nears one core.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil // best effort, like the profile's own writes
}

// runOnce runs one scenario until done or interrupted and prints its result.
func runOnce(cfg Config, asJSON bool, log *slog.Logger, stdout, stderr io.Writer) int {
	r, err := newRunner(cfg, log, time.Now)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "chatbench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, runErr := r.run(ctx)
	if asJSON {
		err = json.NewEncoder(stdout).Encode(res)
	} else {
		err = writeResult(stdout, res)
	}
	if runErr == nil {
		runErr = err
	}
	if runErr != nil {
		_, _ = fmt.Fprintln(stderr, "chatbench:", runErr)
		return 1
	}
	return 0
}

// runReport prints the results stored in files as one table.
func runReport(files []string, baseline string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		_, _ = fmt.Fprintln(stderr, "chatbench: -report needs result files")
		return 2
	}
	results, err := readResults(files)
	if err == nil {
		err = writeSummary(stdout, results, baseline)
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "chatbench:", err)
		return 1
	}
	return 0
}

// options holds the parsed flags.
type options struct {
	cfg        Config
	url        string
	rate       float64
	json       bool
	quiet      bool
	report     bool
	baseline   string
	cpuProfile string
	sourceIPs  string
}

// bindFlags declares the flags on fs.
func bindFlags(fs *flag.FlagSet) *options {
	o := &options{}
	c := &o.cfg
	fs.StringVar(&o.url, "url", "", "server endpoint (default ws://127.0.0.1:8000/chat, or ws://127.0.0.1:8080/ws for -protocol gorilla-hub); several, comma-separated (a cluster's nodes), spread the clients round-robin")
	fs.StringVar(&c.Protocol, "protocol", protoChat, "wire protocol: chat (docs/protocol.md) or gorilla-hub (gorilla/websocket examples/chat)")
	fs.StringVar(&c.Scenario, "scenario", scenarioFanout, "fanout, dm, idle or drain")
	fs.StringVar(&c.Label, "label", "", "name of the server in reports (e.g. chatd, gorilla-hub)")
	fs.StringVar(&c.Prefix, "prefix", "bench", "user names are PREFIX-0 .. PREFIX-(n-1); use a different one per tool process")
	fs.IntVar(&c.N, "n", 100, "clients (fanout, dm, idle) or queued messages (drain)")
	fs.IntVar(&c.Senders, "senders", 0, "clients that send (fanout, dm); 0 means all")
	fs.Float64Var(&o.rate, "rate", 100, "total messages per second (fanout, dm); the first rate of -sweep")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "sending time per window (fanout, dm), holding time (idle)")
	fs.DurationVar(&c.Grace, "grace", 3*time.Second, "longest wait for outstanding deliveries after sending")
	fs.BoolVar(&c.Sweep, "sweep", false, "fanout, dm: raise the rate (doubling, then bisecting) and report the highest that passes")
	fs.IntVar(&c.SweepSteps, "sweep-steps", 10, "most windows a sweep runs")
	fs.DurationVar(&c.SweepP99, "sweep-p99", 100*time.Millisecond, "p99 latency a passing sweep window stays under")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id: report its CPU, and for idle its RSS growth (meaningful on a fresh server only), from /proc")
	fs.IntVar(&c.DialConcurrency, "dialers", 64, "connections being opened at once")
	fs.DurationVar(&c.DialTimeout, "dial-timeout", 10*time.Second, "per connection, until the welcome")
	fs.DurationVar(&c.Quiet, "quiet-period", 300*time.Millisecond, "silence that marks the end of a connection wave's presence notices")
	fs.DurationVar(&c.SettleMax, "settle-max", 30*time.Second, "longest wait for a connection wave to settle")
	fs.IntVar(&c.Pipeline, "pipeline", 500, "drain: DMs sent ahead of their receipts")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	fs.BoolVar(&o.quiet, "q", false, "log warnings only")
	fs.BoolVar(&o.report, "report", false, "print the JSON results in the named files as one table")
	fs.StringVar(&o.sourceIPs, "source-ips", "", "comma-separated local addresses to connect from, e.g. 127.0.0.1,127.0.0.2 (speeds up opening >10,000 connections to one loopback server)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the tool's own CPU profile to this file")
	fs.StringVar(&o.baseline, "baseline", "", "with -report: label of the results others are compared with")
	return o
}

// config turns the flags into a Config.
func (o *options) config() (Config, error) {
	c := o.cfg
	c.Rate = o.rate
	raw := o.url
	if raw == "" {
		raw = "ws://127.0.0.1:8000/chat"
		if c.Protocol == protoHub {
			raw = "ws://127.0.0.1:8080/ws"
		}
	}
	for i, one := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil {
			return c, err
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			return c, errors.New("-url must be ws:// or wss:// URLs")
		}
		if i == 0 {
			c.URL = u
		} else {
			c.More = append(c.More, u)
		}
	}
	for _, s := range strings.Split(o.sourceIPs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil {
			return c, fmt.Errorf("-source-ips: %q is not an IP address", s)
		}
		c.SourceIPs = append(c.SourceIPs, ip)
	}
	if c.N <= 0 || o.rate <= 0 {
		return c, errors.New("-n and -rate must be positive")
	}
	return c, nil
}
