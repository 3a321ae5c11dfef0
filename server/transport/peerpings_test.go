package transport

// A peer's pings: answered with at most one pong waiting, so a peer that
// pings without reading holds no growing queue; metered, so a peer that
// pings far past a keep-alive's needs is closed with 1008.

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/internal/testload"
)

func TestPingMeterAllowsBurstsAndTheRate(t *testing.T) {
	t.Parallel()
	const rate = 10
	every := pingInterval(rate)
	var m pingMeter
	for i := range pingBurstSeconds * rate {
		if !m.allow(0, every) {
			t.Fatalf("ping %d of a burst of %d refused", i+1, pingBurstSeconds*rate)
		}
	}
	if m.allow(0, every) {
		t.Fatal("a ping past the burst allowed")
	}
	m = pingMeter{}
	for i := range 1000 { // 100 s at exactly the rate
		if !m.allow(time.Duration(i)*every, every) {
			t.Fatalf("ping %d at the sustained rate refused", i)
		}
	}
	if !(&pingMeter{due: time.Hour}).allow(0, 0) {
		t.Fatal("interval 0 is no limit, but a ping was refused")
	}
}

func TestPeerPingingTooFastIsClosedWith1008(t *testing.T) {
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.MaxPingRate = 10
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		var burst []byte
		for range 100 { // five times the two seconds' burst, at once
			burst = append(burst, clientFrame(opPing, true, []byte("p"))...)
		}
		c.writeRaw(t, burst)
		c.expectClose(t, websocket.ClosePolicyViolation)
		h.expectClosed(t, ending{websocket.ClosePolicyViolation, false})
	})
}

func TestPeerPingingWithinTheRateStays(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{MaxPingRate: 1000})
	c, h := s.dial(t, clientOptions{answerPings: true})
	var burst []byte
	for range 100 {
		burst = append(burst, clientFrame(opPing, true, []byte("p"))...)
	}
	c.writeRaw(t, append(burst, clientFrame(opText, true, []byte("after"))...))
	h.expectMessage(t, "after")
	expectValue(t, "pong", c.pongs, "p")
}

// TestPingingPeerThatReadsNothingHoldsBoundedMemory is the attack that
// took a server from 15 MB to 1.3 GB in ten seconds: connections that send
// pings as fast as they can and read nothing, so that every pong waits.
// With the rate limit off, so that only the outbox's coalescing bounds the
// pongs, three such connections pinging for two seconds leave the heap
// within a few MB of where it was. Not parallel: the heap is the process's.
func TestPingingPeerThatReadsNothingHoldsBoundedMemory(t *testing.T) {
	s := startTransport(t, Config{MaxPingRate: -1})
	const conns, bound = 3, 4 << 20
	payload := make([]byte, 125) // the most a control frame carries
	var burst []byte
	for range 1000 {
		burst = append(burst, clientFrame(opPing, true, payload)...)
	}
	clients := make([]*testClient, conns)
	for i := range clients {
		clients[i], _ = s.dial(t, clientOptions{noReader: true})
	}
	before := testload.Heap()
	done := make(chan int, conns)
	stop := time.Now().Add(2 * time.Second)
	for _, c := range clients {
		go func() { done <- pingUntil(c, burst, stop) }()
	}
	sent := 0
	for range conns {
		sent += <-done
	}
	after := testload.Heap()
	t.Logf("%d pings sent without reading a pong; heap %d KiB before, %d KiB after", sent, before>>10, after>>10)
	if after > before+bound {
		t.Errorf("heap grew by %d KiB, want under %d KiB", (after-before)>>10, bound>>10)
	}
}

// pingUntil writes burst again and again until stop (or the connection
// fails), and returns how many pings it wrote.
func pingUntil(c *testClient, burst []byte, stop time.Time) int {
	nc := c.ws.NetConn()
	n := 0
	for time.Now().Before(stop) {
		_ = nc.SetWriteDeadline(stop)
		w, err := nc.Write(burst)
		n += w / (len(burst) / 1000)
		if err != nil {
			break
		}
	}
	return n
}

// TestClosingPeerThatKeepsPingingIsNotLingeredOn: a ping flooder closed
// with 1008 that keeps pinging is read for lingerPings pings more, not
// for all of CloseGrace (a full core for its length, at flood rates). The
// grace here is far longer than the test may take, so only the budget can
// end the connection in time.
func TestClosingPeerThatKeepsPingingIsNotLingeredOn(t *testing.T) {
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.MaxPingRate, cfg.CloseGrace = 10, time.Hour
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{noReader: true})
		var flood []byte
		for range 100 + 2*lingerPings { // the burst that gets 1008, then twice the budget
			flood = append(flood, clientFrame(opPing, true, []byte("p"))...)
		}
		c.writeRaw(t, flood)
		h.expectClosed(t, ending{websocket.ClosePolicyViolation, false})
	})
}
