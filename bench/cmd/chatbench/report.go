package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// writeResult prints one result as a two-column table for people.
func writeResult(out io.Writer, res Result) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { _, _ = fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("scenario", "%s (%s) %s", res.Scenario, res.Protocol, res.Label)
	row("server", "%s", res.URL)
	row("clients", "%d connected, %d failed, %d dropped by the server %s",
		res.Clients, res.ConnectFailed, res.Dropped, codes(res.DropCodes))
	if res.DialError != "" {
		row("first dial error", "%s", res.DialError)
	}
	switch {
	case res.Sweep != nil:
		writeSweep(row, res.Sweep)
	case res.Traffic != nil:
		writeTraffic(row, *res.Traffic)
	case res.Idle != nil:
		writeIdle(row, *res.Idle)
	case res.Drain != nil:
		writeDrain(row, *res.Drain)
	}
	return tw.Flush()
}

type rowFunc func(k, format string, a ...any)

func writeTraffic(row rowFunc, t TrafficResult) {
	row("senders", "%d, %d recipients per message", t.Senders, t.Recipients)
	row("offered", "%.1f msg/s (target %.0f; %d sent in %.1f s)", t.OfferedRate, t.TargetRate, t.Sent, t.SendSeconds)
	row("delivered", "%.1f msg/s, %.0f deliveries/s", t.DeliveredRate, t.DeliveriesPerS)
	row("loss", "%d of %d deliveries (%.4f%%)", t.Loss, t.Expected, pct(t.Loss, t.Expected))
	row("latency", "p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms",
		t.Latency.P50, t.Latency.P95, t.Latency.P99, t.Latency.Max)
	if t.Stale+t.OrderErrors+t.WriteErrors > 0 || len(t.Errors) > 0 {
		row("anomalies", "%d stale, %d out of order, %d write errors, error frames %s",
			t.Stale, t.OrderErrors, t.WriteErrors, codes(t.Errors))
	}
	writeCPU(row, t.CPU, "delivery")
}

func writeCPU(row rowFunc, c CPU, item string) {
	row("tool CPU", "%.2f cores", c.ToolCores)
	if c.ServerCores != nil {
		per := "-"
		if c.ServerPerItemUS != nil {
			per = fmt.Sprintf("%.2f µs per %s", *c.ServerPerItemUS, item)
		}
		row("server CPU", "%.2f cores, %s", *c.ServerCores, per)
	}
}

func writeSweep(row rowFunc, s *SweepResult) {
	row("criterion", "%s", s.Criterion)
	for i, st := range s.Steps {
		verdict := "pass"
		if st.Pass != nil && !*st.Pass {
			verdict = "FAIL " + st.Reason
		}
		row(fmt.Sprintf("step %d", i+1), "%.0f msg/s: %.0f deliveries/s, loss %d, p99 %.2f ms, tool %.2f cores: %s",
			st.TargetRate, st.DeliveriesPerS, st.Loss, st.Latency.P99, st.ToolCores, verdict)
	}
	row("best rate", "%.0f msg/s", s.BestRate)
}

func writeIdle(row rowFunc, r IdleResult) {
	row("opened", "%.0f connections/s (%d in %.2f s), held %.1f s", r.ConnsPerS,
		int(r.ConnsPerS*r.RampSeconds+0.5), r.RampSeconds, r.HeldSeconds)
	if r.RSSPerConnKiB != nil {
		row("server RSS", "%d KiB -> %d KiB: %.2f KiB per connection",
			*r.RSSBeforeKiB, *r.RSSAfterKiB, *r.RSSPerConnKiB)
	}
	writeCPU(row, r.CPU, "connection (while opening)")
}

func writeDrain(row rowFunc, d DrainResult) {
	row("queued", "%d of %d DMs (%d receipts) in %.2f s, errors %s",
		d.Queued, d.Messages, d.Receipts, d.QueueSeconds, codes(d.Errors))
	row("reconnect", "%.1f ms until welcome", d.ReconnectMS)
	row("drain", "%d received (%d marked offline) in %.1f ms: %.0f msg/s, complete %v",
		d.Received, d.Offline, d.DrainMS, d.DrainRate, d.Complete)
	if d.OrderErrors+d.Stale > 0 {
		row("anomalies", "%d out of order, %d stale", d.OrderErrors, d.Stale)
	}
	writeCPU(row, d.CPU, "message")
}

func pct(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// codes formats a count-by-code map in a stable order.
func codes(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// readResults reads JSON results, one per line, from the named files.
func readResults(paths []string) ([]Result, error) {
	var out []Result
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var r Result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, r)
		}
		err = sc.Err()
		_ = f.Close() // read only
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
