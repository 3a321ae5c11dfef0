package server_test

// The mixed soak: for a bounded time, several fake clients at
// once churn through fresh names, queue private messages for offline
// users (some of whom come and collect them), ping without reading, and
// ask for history and who in a loop; beside them a well-behaved pair
// chats at a modest pace. Afterwards goroutines, heap, actor processes and
// descriptors are back near their baseline, and the pair got every
// message. The pair's p99 latency, quiet and under the soak, is logged
// (go test -run '^TestSoak$' -v ./server/), never asserted: timing on a
// shared machine is not a correctness property.
//
// It reuses the load tests' h4 harness (flood_test.go, churn_test.go):
// clients whose reader logs every frame, h4Ledger for private messages,
// h4Measure and h4Eventually for the baseline.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/server"
)

// soakFor is how long each phase (quiet, then soak) lasts under go test;
// CHAT_SOAK (a duration, such as 60s) lengthens it for manual runs. It is
// longer than an idle worker lives (workers.DefaultIdle), which the
// baseline needs (see TestSoak).
const soakFor = 4 * time.Second

// soakEnv names the variable that overrides soakFor.
const soakEnv = "CHAT_SOAK"

// Tolerances for "back near baseline", polled for up to h4Wait once the
// load has stopped and its clients are closed. Goroutines: the edge's
// worker pool (internal/workers) keeps idle workers for a few seconds, and
// a write loop, a timer callback or a connection lingering after its
// close frame (transport.DefaultCloseGrace, 3 s) may be on its way out at
// the moment of sampling; descriptors the same. Heap: the store is a
// bbolt file (its pages are mapped, not heap), and the process registry's
// fixed cost is paid before the baseline (soakWarmRegistry), so what may
// remain is the room's history (soakHistory short messages) and allocator
// noise: measured, 0.3 to 2 MiB after soaks of 4 to 30 s. A leaked connection
// costs kilobytes (its Conn, gorilla's reader and writer, its session),
// so a leak of one connection in a few hundred of the thousands the soak
// opens exceeds this.
const (
	soakGoroutineSlack = 10
	soakFDSlack        = 5
	soakHeapSlack      = 4 << 20
	soakProcessSlack   = 2 // actor processes: a passivating user actor on its way out
)

// soakHistory is how many public messages the room keeps: a history
// answer is then at most that many short messages.
const soakHistory = 200

// soakPairEvery is the well-behaved pair's pace: each of the two sends a
// message this often, public and private in turn, 8 a second, under the
// default rate limit of 10 a second.
const soakPairEvery = 125 * time.Millisecond

// soakPings is how many pings a pinger writes, without reading, on each
// connection: past the transport's burst of 60 (30 a second for 2 s).
const soakPings = 200

// soakShape is how much load the soak applies: how many clients of each
// kind, and how often each acts.
type soakShape struct {
	churners, queuers, pingers, askers int
	churnEvery                         time.Duration // between a churner's connections
	dmEvery                            time.Duration // between a queuer's private messages: under the rate limit
	pingEvery                          time.Duration // between a pinger's connections
	askEvery                           time.Duration // between an asker's history and who requests: far past the limits
	recipients                         int           // offline recipients per queuer
	visitors                           int           // of those, the ones who come during the soak to collect
	drainEvery                         int           // a visitor comes after this many of its queuer's messages
	historyAsk                         int           // messages asked for per history request
	pairUsers                          [2]string
}

// soakLoadShape is the shape for this build: the race detector slows
// everything several times, so under it there are fewer clients and they
// act less often.
func soakLoadShape() soakShape {
	s := soakShape{
		churners: 4, queuers: 2, pingers: 2, askers: 2,
		churnEvery: 5 * time.Millisecond, dmEvery: 125 * time.Millisecond,
		pingEvery: 50 * time.Millisecond, askEvery: 10 * time.Millisecond,
		recipients: 6, visitors: 3, drainEvery: 12, historyAsk: 200,
		pairUsers: [2]string{"soak-alice", "soak-bob"},
	}
	if server.RaceEnabled {
		s.churners, s.pingers, s.askers = 2, 1, 1
		s.churnEvery, s.pingEvery, s.askEvery = 20*time.Millisecond, 200*time.Millisecond, 40*time.Millisecond
	}
	return s
}

// soakDuration is soakFor, or CHAT_SOAK when set.
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(soakEnv)
	if v == "" {
		return soakFor
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < soakFor {
		t.Fatalf("%s=%q: want a duration of at least %v, such as 60s", soakEnv, v, soakFor)
	}
	return d
}

// TestSoak runs the well-behaved pair alone for a phase (quiet), then
// again for a phase with the load beside it (soak), and checks that the
// pair got every message in both, that every queued private message
// reached its recipient, and that goroutines, heap, actor processes and
// descriptors came back near the baseline taken between the phases.
//
// Not parallel, and it must stay so: it measures the whole process's
// goroutines, heap and descriptors. Go runs a package's top-level tests
// that do not call t.Parallel one at a time, and holds those that do at
// their t.Parallel call until every sequential one has finished, so
// nothing else in the package runs between its baseline and its last
// measurement (the held tests' goroutines are parked and counted in
// both).
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test; skipped with -short")
	}
	d := soakDuration(t)
	shape := soakLoadShape()
	// A bbolt store, as chatd runs by default: names once seen and queued
	// messages live on disk, so the heap measures the server, not its
	// data. Pings every 50 ms confirm deliveries quickly; user actors
	// passivate a quarter second after their last connection, so that
	// the churned names' actors are gone by the end; the per-IP publish
	// budget stays off (server.Config's zero value), since every fake
	// client shares 127.0.0.1 and it would refuse the pair for the load's
	// sake (it has tests of its own, e2e_budgets_test.go).
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "chat.db"), store.Config{}, nil)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	e := h4Start(t, actors.Config{Store: st, HistoryLimit: soakHistory, UserIdle: 250 * time.Millisecond},
		server.Config{PingInterval: 50 * time.Millisecond})
	pair := soakJoinPair(t, e, shape.pairUsers)
	soakWarmRegistry(e)

	// The baseline is taken after the quiet phase, which lasts longer
	// than an idle worker lives (workers.DefaultIdle): what an earlier
	// test in this process left on its way out (with -count=3, the
	// previous run's idle workers and, through them, its actor system)
	// is gone by then, and the pair's own steady state is in it.
	quiet := soakPairPhase(t, pair, "quiet", d, nil)
	if t.Failed() {
		return
	}
	base := h4Measure(e)
	baseFDs := openFiles()
	load := &soakLoad{e: e, shape: shape, ledger: h4NewLedger(), stop: make(chan struct{})}
	soak := soakPairPhase(t, pair, "soak", d, load)
	if t.Failed() {
		return
	}
	load.drainAll(t)
	h4CheckLedger(t, load.ledger)
	t.Logf("load in %v: %s", d, load.counts())
	if load.cycles.Load() == 0 || load.queued.Load() == 0 || load.pingCloses.Load() == 0 || load.answers.Load() == 0 {
		t.Errorf("some load never ran: %s", load.counts())
	}
	t.Logf("quiet p99 %.1f ms, soak p99 %.1f ms (ratio %.2f); p50 %.1f ms and %.1f ms; pair messages checked: quiet %d (%d deliveries), soak %d (%d deliveries)",
		soakMS(quiet.p99), soakMS(soak.p99), float64(soak.p99)/float64(max(quiet.p99, 1)), soakMS(quiet.p50), soakMS(soak.p50),
		quiet.messages, quiet.deliveries, soak.messages, soak.deliveries)
	load = nil // the test's own records are not the server's memory

	var now h4Baseline
	var nowFDs int
	back := h4Eventually(func() bool {
		now, nowFDs = h4Measure(e), openFiles()
		return now.goroutines <= base.goroutines+soakGoroutineSlack &&
			nowFDs <= baseFDs+soakFDSlack &&
			now.heap <= base.heap+soakHeapSlack &&
			now.sessions == base.sessions &&
			now.processes <= base.processes+soakProcessSlack
	})
	t.Logf("baseline: goroutines %d, heap %d KiB, fds %d, processes %d, sessions %d",
		base.goroutines, base.heap>>10, baseFDs, base.processes, base.sessions)
	t.Logf("after:    goroutines %d, heap %d KiB, fds %d, processes %d, sessions %d",
		now.goroutines, now.heap>>10, nowFDs, now.processes, now.sessions)
	if !back {
		t.Errorf("not back near baseline within %v: goroutines %d (baseline %d + %d), fds %d (%d + %d), heap %d KiB (%d KiB + %d KiB), sessions %d (%d), actor processes %d (%d + %d)",
			h4Wait, now.goroutines, base.goroutines, soakGoroutineSlack, nowFDs, baseFDs, soakFDSlack,
			now.heap>>10, base.heap>>10, soakHeapSlack>>10, now.sessions, base.sessions,
			now.processes, base.processes, soakProcessSlack)
	}
}

// soakMS is d in milliseconds, for logs.
func soakMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ---------------------------------------------------------------------------
// The well-behaved pair
// ---------------------------------------------------------------------------

// soakPeer is one of the well-behaved pair. It sends a public and a
// private message to the other in turn, one every soakPairEvery, each
// text carrying its send time, and records the receipts it gets and the
// pair's messages it reads, with their latency. Its frames are taken from
// the client's log as they come, so the log stays short however long the
// soak. Owned by one goroutine at a time.
type soakPeer struct {
	c     *h4Client
	other string

	n          int               // requests sent
	waiting    map[string]string // ref -> kind ("public" or "dm"), until its receipt
	sentPublic []string          // ids of this phase's public messages, from receipts
	sentDM     []string          // ids of this phase's private messages to other
	got        map[string]int    // id -> deliveries read, for the pair's public messages and other's private ones
	latencies  []time.Duration   // send to read, one per delivery of the pair's messages
	problems   []string
}

// soakPhaseResult is what one phase measured of the pair.
type soakPhaseResult struct {
	p50, p99   time.Duration
	messages   int // messages with receipts, both peers
	deliveries int // of those, read by the pair: the latency samples
}

// soakJoinPair connects the two well-behaved users.
func soakJoinPair(t *testing.T, e *h4Env, users [2]string) [2]*soakPeer {
	t.Helper()
	var pair [2]*soakPeer
	for i, u := range users {
		pair[i] = &soakPeer{c: h4Join(t, e, u), other: users[1-i]}
	}
	return pair
}

// reset starts a phase.
func (p *soakPeer) reset() {
	p.waiting, p.got = make(map[string]string), make(map[string]int)
	p.sentPublic, p.sentDM, p.latencies, p.problems = nil, nil, nil, nil
}

// take records the frames read since the last call, and returns a
// channel closed at the next frame and whether the connection ended.
func (p *soakPeer) take() (changed <-chan struct{}, ended bool) {
	_, ended, changed = p.c.snapshot()
	for _, f := range p.c.forget() {
		p.record(f)
	}
	return changed, ended
}

// record notes one frame: a receipt or refusal of the peer's own
// request, or a delivery of one of the pair's messages (the load's public
// messages and presence notices are not its business).
func (p *soakPeer) record(f h4Frame) {
	if f.Ref != nil {
		kind, ok := p.waiting[*f.Ref]
		if !ok {
			return
		}
		delete(p.waiting, *f.Ref)
		switch {
		case f.Type == "sent" && kind == "public":
			p.sentPublic = append(p.sentPublic, f.ID)
		case f.Type == "sent":
			p.sentDM = append(p.sentDM, f.ID)
		default:
			p.problems = append(p.problems, fmt.Sprintf("%s: %s refused: %s %s", p.c.user, *f.Ref, f.Code, f.Message))
		}
		return
	}
	if f.Type != "message" || !strings.HasPrefix(f.Text, "wb ") {
		return
	}
	if f.Kind == "public" && f.From != p.c.user && f.From != p.other ||
		f.Kind == "dm" && (f.From != p.other || f.To != p.c.user) {
		return
	}
	p.got[f.ID]++
	fields := strings.Fields(f.Text)
	sent, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		p.problems = append(p.problems, fmt.Sprintf("%s: unreadable text %q", p.c.user, f.Text))
		return
	}
	p.latencies = append(p.latencies, f.at.Sub(time.Unix(0, sent)))
}

// send sends the next message: public on even turns, private to the other
// on odd ones.
func (p *soakPeer) send(phase string) error {
	ref := fmt.Sprintf("%s-%d", phase, p.n)
	text := fmt.Sprintf("wb %d %s from %s", time.Now().UnixNano(), ref, p.c.user)
	req, kind := h4Say(text, ref), "public"
	if p.n%2 == 1 {
		req, kind = h4DM(p.other, text, ref), "dm"
	}
	p.n++
	p.waiting[ref] = kind
	if err := p.c.send(req); err != nil {
		return fmt.Errorf("%s: sending %s: %w", p.c.user, ref, err)
	}
	return nil
}

// run sends at the pair's pace until stop is closed, recording what comes
// in meanwhile.
func (p *soakPeer) run(phase string, stop <-chan struct{}) error {
	tick := time.NewTicker(soakPairEvery)
	defer tick.Stop()
	for {
		changed, ended := p.take()
		if ended {
			return fmt.Errorf("%s: connection ended: %v", p.c.user, p.c.readErr())
		}
		select {
		case <-stop:
			return nil
		case <-changed:
		case <-tick.C:
			if err := p.send(phase); err != nil {
				return err
			}
		}
	}
}

// pump records what comes in until done holds, for at most h4Wait.
func (p *soakPeer) pump(what string, done func() bool) error {
	timer := time.NewTimer(h4Wait)
	defer timer.Stop()
	for {
		changed, ended := p.take()
		switch {
		case done():
			return nil
		case ended:
			return fmt.Errorf("%s: connection ended waiting for %s: %v", p.c.user, what, p.c.readErr())
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("%s: timed out waiting for %s", p.c.user, what)
		}
	}
}

// expects is every id the peer must read this phase: the pair's public
// messages and the other's private ones.
func (p *soakPeer) expects(other *soakPeer) []string {
	return slices.Concat(p.sentPublic, other.sentPublic, other.sentDM)
}

// soakPairPhase runs the pair for d, beside load when it is not nil, then
// waits for every receipt and every delivery, and checks them: every
// message the pair sent was accepted, and each of the pair read each
// message meant for it exactly once. It returns the pair's latency percentiles.
func soakPairPhase(t *testing.T, pair [2]*soakPeer, phase string, d time.Duration, load *soakLoad) soakPhaseResult {
	t.Helper()
	stop := make(chan struct{})
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, p := range pair {
		p.reset()
		wg.Go(func() { errs <- p.run(phase, stop) })
	}
	if load != nil {
		load.start()
	}
	timer := time.NewTimer(d)
	var loadStop <-chan struct{}
	if load != nil {
		loadStop = load.stop
	}
	select {
	case <-timer.C:
	case <-loadStop: // a load worker failed: stop early and report it
	}
	timer.Stop()
	close(stop)
	if load != nil {
		if err := load.finish(); err != nil {
			t.Errorf("%s phase: load: %v", phase, err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("%s phase: %v", phase, err)
		}
	}
	if t.Failed() {
		return soakPhaseResult{}
	}

	for _, p := range pair {
		if err := p.pump("receipts", func() bool { return len(p.waiting) == 0 }); err != nil {
			t.Fatalf("%s phase: %v", phase, err)
		}
	}
	var all []time.Duration
	messages := 0
	for i, p := range pair {
		other := pair[1-i]
		want := p.expects(other)
		missing := func() int {
			n := 0
			for _, id := range want {
				if p.got[id] == 0 {
					n++
				}
			}
			return n
		}
		if err := p.pump("the pair's messages", func() bool { return missing() == 0 }); err != nil {
			t.Errorf("%s phase: %v: %d of %d messages missing", phase, err, missing(), len(want))
		}
		for id, n := range p.got {
			if n != 1 {
				t.Errorf("%s phase: %s read %s %d times", phase, p.c.user, id, n)
			}
		}
		if len(p.got) != len(want) {
			t.Errorf("%s phase: %s read %d of the pair's messages, want %d", phase, p.c.user, len(p.got), len(want))
		}
		for _, pr := range p.problems {
			t.Errorf("%s phase: %s", phase, pr)
		}
		all = append(all, p.latencies...)
		messages += len(p.sentPublic) + len(p.sentDM)
	}
	if messages == 0 {
		t.Errorf("%s phase: the pair sent nothing", phase)
	}
	slices.Sort(all)
	return soakPhaseResult{p50: soakPercentile(all, 50), p99: soakPercentile(all, 99), messages: messages, deliveries: len(all)}
}

// soakPercentile is the p-th percentile (nearest rank) of sorted ds, 0
// for none.
func soakPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)*p+99)/100-1]
}
