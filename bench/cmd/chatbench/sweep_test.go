package main

import (
	"strings"
	"testing"
	"time"
)

func TestNextSweepRateDoublesThenBisects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lo, hi, want float64
		more         bool
	}{
		{100, 0, 200, true},   // all passed: double
		{0, 100, 50, true},    // first failed: halve
		{400, 800, 600, true}, // bisect
		{1000, 1090, 0, false},
		{0, 1, 0, false},
	} {
		got, more := nextSweepRate(c.lo, c.hi)
		if got != c.want || more != c.more {
			t.Errorf("next(%v, %v) = %v %v, want %v %v", c.lo, c.hi, got, more, c.want, c.more)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	r := &runner{cfg: Config{SweepP99: 100 * time.Millisecond}}
	good := TrafficResult{Sent: 100, TargetRate: 100, OfferedRate: 99, Latency: latencySummary{P99: 99}}
	if ok, why := r.judge(good); !ok {
		t.Fatalf("good window failed: %s", why)
	}
	bad := map[string]func(*TrafficResult){
		"loss":    func(t *TrafficResult) { t.Loss = 1 },
		"dropped": func(t *TrafficResult) { t.Dropped = 1 },
		"errors":  func(t *TrafficResult) { t.Errors = map[string]int{"queue_full": 1} },
		"order":   func(t *TrafficResult) { t.OrderErrors = 1 },
		"p99":     func(t *TrafficResult) { t.Latency.P99 = 100 },
		"offered": func(t *TrafficResult) { t.OfferedRate = 90 },
	}
	for name, spoil := range bad {
		w := good
		spoil(&w)
		if ok, _ := r.judge(w); ok {
			t.Errorf("%s: window passed", name)
		}
	}
}

func TestSummaryPrintsRatioToBaseline(t *testing.T) {
	t.Parallel()
	per := func(v float64) *float64 { return &v }
	mk := func(label string, us float64) Result {
		return Result{Label: label, Scenario: "fanout", Clients: 1000,
			Traffic: &TrafficResult{TargetRate: 40, CPU: CPU{ServerPerItemUS: per(us)}}}
	}
	var b strings.Builder
	if err := writeSummary(&b, []Result{mk("chatd", 5), mk("gorilla-hub", 10)}, "gorilla-hub"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "chatd 5.00 µs / gorilla-hub 10.00 µs = 0.50") {
		t.Errorf("no ratio in:\n%s", b.String())
	}
}
