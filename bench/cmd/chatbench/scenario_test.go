package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"
)

// runAgainst runs cfg against s with test-sized timing.
func runAgainst(t *testing.T, s *fakeServer, cfg Config) Result {
	t.Helper()
	cfg.URL = s.url()
	cfg.DialTimeout = 5 * time.Second
	cfg.Quiet = 100 * time.Millisecond
	cfg.SettleMax = 2 * time.Second
	r, err := newRunner(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := r.run(ctx)
	if err != nil {
		t.Fatalf("run: %v (result %+v)", err, res)
	}
	return res
}

func TestFanoutReportsExactlyTheInjectedLoss(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 7, 0, false)
	res := runAgainst(t, s, Config{Scenario: scenarioFanout, N: 6, Senders: 3, Rate: 150,
		Duration: 400 * time.Millisecond, Grace: time.Second})
	tr := res.Traffic
	if res.Clients != 6 || tr == nil {
		t.Fatalf("clients %d, traffic %v", res.Clients, tr)
	}
	if tr.Sent != s.accepted.Load() || tr.Sent < 20 {
		t.Fatalf("tool sent %d, server accepted %d", tr.Sent, s.accepted.Load())
	}
	if tr.Expected != tr.Sent*6 {
		t.Errorf("expected deliveries %d, want %d", tr.Expected, tr.Sent*6)
	}
	if s.dropped.Load() == 0 || tr.Loss != s.dropped.Load() {
		t.Errorf("loss %d, server dropped %d", tr.Loss, s.dropped.Load())
	}
	if tr.Deliveries != s.deliveries.Load()-s.dropped.Load() {
		t.Errorf("deliveries %d, server delivered %d", tr.Deliveries, s.deliveries.Load()-s.dropped.Load())
	}
	if tr.Receipts != tr.Sent || tr.OrderErrors != 0 || !tr.OrderCheck {
		t.Errorf("receipts %d of %d, order errors %d (checked %v)", tr.Receipts, tr.Sent, tr.OrderErrors, tr.OrderCheck)
	}
}

func TestFanoutLatencyIncludesInjectedDelay(t *testing.T) {
	t.Parallel()
	const delay = 60 * time.Millisecond
	s := newFakeServer(t, 0, delay, false)
	res := runAgainst(t, s, Config{Scenario: scenarioFanout, N: 4, Rate: 50,
		Duration: 300 * time.Millisecond})
	tr := res.Traffic
	if tr.Loss != 0 || tr.Deliveries == 0 {
		t.Fatalf("loss %d, deliveries %d", tr.Loss, tr.Deliveries)
	}
	if min(tr.Latency.P50, tr.Latency.P95, tr.Latency.P99, tr.Latency.Max) < ms(delay) {
		t.Errorf("latency %+v below the injected %v", tr.Latency, delay)
	}
	if tr.Latency.Count != uint64(tr.Deliveries) {
		t.Errorf("latency samples %d, deliveries %d", tr.Latency.Count, tr.Deliveries)
	}
	s.awaitNobodyOnline(t) // the tool closed every connection it opened
}

func TestDMPairsCountOneDeliveryEach(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 5, 0, false)
	res := runAgainst(t, s, Config{Scenario: scenarioDM, N: 5, Rate: 100,
		Duration: 300 * time.Millisecond, Grace: time.Second})
	tr := res.Traffic
	if tr.Recipients != 1 || tr.Expected != tr.Sent || tr.Sent != s.accepted.Load() {
		t.Fatalf("recipients %d, expected %d, sent %d, accepted %d", tr.Recipients, tr.Expected, tr.Sent, s.accepted.Load())
	}
	if tr.Loss != s.dropped.Load() || tr.Loss == 0 {
		t.Errorf("loss %d, server dropped %d", tr.Loss, s.dropped.Load())
	}
}

func TestHubModeCountsEveryJoinedLine(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 0, 30*time.Millisecond, true)
	res := runAgainst(t, s, Config{Protocol: protoHub, Scenario: scenarioFanout, N: 4, Rate: 200,
		Duration: 300 * time.Millisecond})
	tr := res.Traffic
	if s.joined.Load() == 0 {
		t.Fatal("the fake hub joined no lines; the test does not cover joining")
	}
	if tr.Loss != 0 || tr.Deliveries != tr.Sent*4 || tr.Sent != s.accepted.Load() {
		t.Errorf("loss %d, deliveries %d, sent %d, accepted %d; result %+v traffic %+v, fake delivered %d", tr.Loss, tr.Deliveries, tr.Sent, s.accepted.Load(), res, *tr, s.deliveries.Load())
	}
}

func TestDrainDeliversEveryQueuedMessage(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 0, 0, false)
	res := runAgainst(t, s, Config{Scenario: scenarioDrain, N: 300, Pipeline: 50})
	d := res.Drain
	if d.Queued != 300 || d.Receipts != 300 {
		t.Fatalf("queued %d, receipts %d", d.Queued, d.Receipts)
	}
	if !d.Complete || d.Received != 300 || d.Offline != 300 || d.OrderErrors != 0 {
		t.Errorf("drain %+v", d)
	}
	if d.DrainMS <= 0 || d.DrainMS < d.ReconnectMS {
		t.Errorf("drain %.2f ms, reconnect %.2f ms", d.DrainMS, d.ReconnectMS)
	}
}

func TestIdleMeasuresServerMemory(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 0, 0, false)
	// The fake server runs in this process, so its RSS is ours.
	res := runAgainst(t, s, Config{Scenario: scenarioIdle, N: 30, Duration: 50 * time.Millisecond,
		ServerPID: os.Getpid()})
	ir := res.Idle
	if res.Clients != 30 || ir.ConnsPerS <= 0 || ir.HeldSeconds < 0.05 {
		t.Fatalf("clients %d, idle %+v", res.Clients, ir)
	}
	if ir.RSSPerConnKiB == nil || *ir.RSSAfterKiB <= 0 || ir.ServerCores == nil {
		t.Errorf("no server memory or CPU figures: %+v", ir)
	}
}

func TestRefusedDialsAreCounted(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 0, 0, false)
	cr := newCrowd(crowdConfig{URL: s.url(), Protocol: protoChat}, ignoreFrames{}, time.Now,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer cr.close()
	// The fake refuses an empty user name with HTTP 400, as docs/protocol.md says.
	ds := cr.dial(context.Background(), []string{"ok", ""})
	if ds.connected != 1 || ds.failed != 1 || ds.firstErr == nil {
		t.Fatalf("dial stats %+v", ds)
	}
}

func TestSourceIPsSpreadTheConnections(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, 0, 0, false)
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}
	cr := newCrowd(crowdConfig{URL: s.url(), Protocol: protoChat, SourceIPs: ips}, ignoreFrames{},
		time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer cr.close()
	if ds := cr.dial(context.Background(), []string{"a", "b", "c", "d"}); ds.connected != 4 {
		t.Fatalf("dial stats %+v", ds)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hosts["127.0.0.1"] != 2 || s.hosts["127.0.0.2"] != 2 {
		t.Errorf("connections by client address: %v", s.hosts)
	}
}
