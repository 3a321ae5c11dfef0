package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeSummary prints many results as one table, one row each, followed by
// the ratios of each result to the matching one labelled baseline (same
// scenario, clients and target rate, or both sweeps).
func writeSummary(out io.Writer, results []Result, baseline string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "server\tscenario\tclients\trate msg/s\tdeliveries/s\tloss\tp50 ms\tp99 ms\tmax ms\ttool cores\tserver cores\tserver µs/item\tnote\t")
	for _, r := range results {
		_, _ = fmt.Fprintln(tw, summaryRow(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if baseline == "" {
		return nil
	}
	for _, r := range results {
		if r.Label == baseline {
			continue
		}
		if b, ok := findBaseline(results, r, baseline); ok {
			writeRatios(out, r, b)
		}
	}
	return nil
}

// summaryRow formats the columns of one result, tab-terminated.
func summaryRow(r Result) string {
	label := r.Label
	if label == "" {
		label = r.Protocol
	}
	head := fmt.Sprintf("%s\t%s\t%d\t", label, r.Scenario, r.Clients)
	switch {
	case r.Traffic != nil:
		t := *r.Traffic
		rate := fmt.Sprintf("%.0f", t.TargetRate)
		if r.Sweep != nil {
			rate = fmt.Sprintf("best %.0f", r.Sweep.BestRate)
		}
		return head + fmt.Sprintf("%s\t%.0f\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\t", rate, t.DeliveriesPerS,
			t.Loss, t.Latency.P50, t.Latency.P99, t.Latency.Max, cpuCols(t.CPU), trafficNote(r))
	case r.Sweep != nil:
		return head + "best -\t\t\t\t\t\t\t\t\tno rate passed\t"
	case r.Idle != nil:
		i := *r.Idle
		note := fmt.Sprintf("%.0f conns/s", i.ConnsPerS)
		if i.RSSPerConnKiB != nil {
			note += fmt.Sprintf(", %.1f KiB/conn", *i.RSSPerConnKiB)
		}
		return head + fmt.Sprintf("\t\t\t\t\t\t%s\t%s\t", cpuCols(i.CPU), note)
	case r.Drain != nil:
		d := *r.Drain
		note := fmt.Sprintf("%d of %d in %.0f ms after reconnect", d.Received, d.Messages, d.DrainMS)
		return head + fmt.Sprintf("\t%.0f\t%d\t\t\t\t%s\t%s\t", d.DrainRate,
			int64(d.Messages)-d.Received, cpuCols(d.CPU), note)
	}
	return head + "\t\t\t\t\t\t\t\t\tno result\t"
}

// cpuCols formats the three CPU columns.
func cpuCols(c CPU) string {
	srv, per := "-", "-"
	if c.ServerCores != nil {
		srv = fmt.Sprintf("%.2f", *c.ServerCores)
	}
	if c.ServerPerItemUS != nil {
		per = fmt.Sprintf("%.2f", *c.ServerPerItemUS)
	}
	return fmt.Sprintf("%.2f\t%s\t%s", c.ToolCores, srv, per)
}

// trafficNote flags what a reader must know about a traffic row.
func trafficNote(r Result) string {
	t := r.Traffic
	note := fmt.Sprintf("%d senders", t.Senders)
	if r.Dropped > 0 {
		note += fmt.Sprintf(", %d dropped", r.Dropped)
	}
	if t.ToolCores > 0.9 {
		note += ", tool-bound"
	}
	return note
}

// findBaseline finds the result labelled baseline that r compares with.
func findBaseline(results []Result, r Result, baseline string) (Result, bool) {
	for _, b := range results {
		if b.Label != baseline || b.Scenario != r.Scenario || b.Clients != r.Clients {
			continue
		}
		if (b.Sweep != nil) != (r.Sweep != nil) {
			continue
		}
		if r.Sweep != nil || sameRate(b, r) {
			return b, true
		}
	}
	return Result{}, false
}

func sameRate(a, b Result) bool {
	return a.Traffic != nil && b.Traffic != nil && a.Traffic.TargetRate == b.Traffic.TargetRate
}

// writeRatios prints r's figures of merit over the baseline's.
func writeRatios(out io.Writer, r, b Result) {
	what := fmt.Sprintf("%s %d clients", r.Scenario, r.Clients)
	if r.Sweep != nil && b.Sweep != nil && b.Sweep.BestRate > 0 {
		_, _ = fmt.Fprintf(out, "%s, highest passing rate: %s %.0f / %s %.0f msg/s = %.2f\n", what,
			r.Label, r.Sweep.BestRate, b.Label, b.Sweep.BestRate, r.Sweep.BestRate/b.Sweep.BestRate)
	}
	if !sameRate(r, b) { // CPU per delivery compares only at the same load
		return
	}
	rp, bp := r.Traffic.ServerPerItemUS, b.Traffic.ServerPerItemUS
	if rp != nil && bp != nil && *bp > 0 {
		_, _ = fmt.Fprintf(out, "%s at %.0f msg/s, server CPU per delivery: %s %.2f µs / %s %.2f µs = %.2f\n",
			what, r.Traffic.TargetRate, r.Label, *rp, b.Label, *bp, *rp / *bp)
	}
}
