package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

const usage = `chatdos sends one kind of hostile input to a chat server and prints one line
saying what the server did (see doc.go, or go doc ./cmd/chatdos, for what each
mode sends and reports). scripts/bench-dos.sh runs every mode against fresh
servers and adds the server's memory and CPU.

  chatdos -mode MODE [flags]

Modes: pings, headers, names, fill, history, keepalive, fds. A flag left at 0
takes the mode's default, listed at the end (0 there: the mode has no use for
the flag).

Flags:
`

// options are the command line, after each mode's defaults are applied.
type options struct {
	addr   string
	mode   string
	conns  int
	n      int
	size   int
	rate   float64
	dur    time.Duration
	prefix string
	remote bool
}

// defaults are what a flag left at 0 means for each mode.
var defaults = map[string]options{
	"pings":     {conns: 1, dur: 10 * time.Second},
	"headers":   {conns: 1000, size: 1 << 20, dur: 15 * time.Second},
	"names":     {conns: 200, rate: 10, dur: 10 * time.Second},
	"fill":      {conns: 10, n: 20, size: 4096, dur: time.Minute},
	"history":   {n: 200, dur: 10 * time.Second},
	"keepalive": {conns: 2000, dur: 70 * time.Second},
	"fds":       {conns: 11000, dur: 20 * time.Second},
}

// modes maps each mode to the function that runs it and writes its one-line
// report to out.
var modes = map[string]func(o options, out io.Writer) error{
	"pings":     pings,
	"headers":   headers,
	"names":     names,
	"fill":      fill,
	"history":   history,
	"keepalive": keepalive,
	"fds":       fds,
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the tool and returns the exit status: 0 when the mode ran
// (whatever the server did), 1 when it could not, 2 for a bad command line.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatdos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		_, _ = fmt.Fprintln(stderr, "\nEach mode's defaults:")
		for _, m := range []string{"pings", "headers", "names", "fill", "history", "keepalive", "fds"} {
			d := defaults[m]
			_, _ = fmt.Fprintf(stderr, "  %-10s -conns %d -n %d -size %d -rate %g -dur %v\n", m, d.conns, d.n, d.size, d.rate, d.dur)
		}
	}
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "the server's host:port; a loopback address unless -remote")
	fs.StringVar(&o.mode, "mode", "", "the input to send: pings, headers, names, fill, history, keepalive or fds")
	fs.IntVar(&o.conns, "conns", 0, "connections (or users) to open")
	fs.IntVar(&o.n, "n", 0, "fill: messages per user; history: the limit asked for per request")
	fs.IntVar(&o.size, "size", 0, "headers: bytes of the unfinished header line; fill: bytes of each message text")
	fs.Float64Var(&o.rate, "rate", 0, "names: messages a second each user sends")
	fs.DurationVar(&o.dur, "dur", 0, "how long the mode runs, waits for answers or holds its connections")
	fs.StringVar(&o.prefix, "prefix", "dos", "prefix of the user names (and of the fds report); distinct for concurrent processes")
	fs.BoolVar(&o.remote, "remote", false, "allow a non-loopback -addr (only against a server you own)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.complete(); err != nil {
		_, _ = fmt.Fprintln(stderr, "chatdos:", err)
		return 2
	}
	if err := modes[o.mode](o, stdout); err != nil {
		_, _ = fmt.Fprintf(stderr, "chatdos: %s: %v\n", o.mode, err)
		return 1
	}
	return 0
}

// complete checks the options and fills every flag left at 0 with the
// mode's default.
func (o *options) complete() error {
	d, ok := defaults[o.mode]
	if !ok {
		return fmt.Errorf("-mode %q: want one of pings, headers, names, fill, history, keepalive, fds", o.mode)
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", o.addr, err)
	}
	if ip := net.ParseIP(host); !o.remote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address (add -remote to attack a server you own elsewhere)", o.addr)
	}
	if o.conns < 0 || o.n < 0 || o.size < 0 || o.rate < 0 || o.dur < 0 {
		return errors.New("-conns, -n, -size, -rate and -dur must not be negative")
	}
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&o.conns, d.conns)
	set(&o.n, d.n)
	set(&o.size, d.size)
	if o.rate == 0 {
		o.rate = d.rate
	}
	if o.dur == 0 {
		o.dur = d.dur
	}
	return nil
}

// tally counts outcomes by name; it is safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

// add counts one more k.
func (t *tally) add(k string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
}

// String lists the counts as "k×n, ..." sorted by k, or "none".
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, t.m[k])
	}
	return strings.Join(parts, ", ")
}

// count says "1 thing" or "n things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// seconds formats d in seconds with one decimal, or milliseconds below 1 s.
func seconds(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
