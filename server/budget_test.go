package server

import (
	"fmt"
	"testing"
	"time"
)

func TestIPBudgetIsSharedPerIPWithABurst(t *testing.T) {
	t.Parallel()
	start := time.Unix(1000, 0)
	b := newIPBudget(10, start) // 10 a second, bursts of 30
	for i := range 30 {
		if !b.allow("a", start) {
			t.Fatalf("message %d of the burst refused", i+1)
		}
	}
	if b.allow("a", start) {
		t.Fatal("a message past the burst allowed")
	}
	if !b.allow("b", start) {
		t.Fatal("another IP's message refused: budgets are per IP")
	}
	if !b.allow("a", start.Add(100*time.Millisecond)) || b.allow("a", start.Add(100*time.Millisecond)) {
		t.Fatal("after 100 ms, want exactly one more message")
	}
	if !newIPBudget(0, start).allow("a", start) {
		t.Fatal("rate 0 is no budget, but a message was refused")
	}
}

// The map of buckets is bounded by the IPs that sent within the last
// burst: IPs whose bucket is full again are forgotten.
func TestIPBudgetForgetsIdleIPs(t *testing.T) {
	t.Parallel()
	start := time.Unix(1000, 0)
	b := newIPBudget(50, start)
	now := start
	for round := range 20 {
		for i := range 1000 {
			b.allow(fmt.Sprintf("10.%d.%d.%d", round, i/256, i%256), now)
		}
		now = now.Add(ipBurstSeconds * time.Second) // everyone idle since
	}
	if n := b.held(); n > 2*1000+minSweep {
		t.Errorf("holds %d IPs after 20 rounds of 1,000 new ones, want at most %d", n, 2*1000+minSweep)
	}
}

func TestReplyMeterRefusesOnlyInDebt(t *testing.T) {
	t.Parallel()
	const rate = 1000 // bytes a second
	var m replyMeter
	if !m.open(0) {
		t.Fatal("a new meter is closed")
	}
	m.charge(0, replyCost(900, rate))
	if !m.open(0) {
		t.Fatal("closed after 900 of a 1,000-byte burst")
	}
	m.charge(0, replyCost(5000, rate)) // one large answer: sent whole, in debt
	if m.open(0) || m.open(4800*time.Millisecond) {
		t.Fatal("open while in debt")
	}
	if !m.open(5 * time.Second) {
		t.Fatal("still closed once the debt is paid")
	}
}

func TestConnLimitsCountInAllAndPerIP(t *testing.T) {
	t.Parallel()
	l := connLimits{max: 3, perIP: 2, full: errServerFull}
	for range 2 {
		if no := l.take("a", true, true); no != nil {
			t.Fatalf("take: %v", no)
		}
	}
	if no := l.take("a", true, true); no != errTooManyFromIP {
		t.Fatalf("third from a: %v, want too_many_from_ip", no)
	}
	if no := l.take("a", true, false); no != nil { // a proxy's connection: no per-IP slot
		t.Fatalf("a proxy's connection: %v", no)
	}
	if no := l.take("b", true, true); no != errServerFull {
		t.Fatalf("fourth in all: %v, want server_full", no)
	}
	l.release("a", true, true)
	if no := l.take("b", true, true); no != nil {
		t.Fatalf("after a release: %v", no)
	}
	if len(l.byIP) != 2 {
		t.Errorf("byIP %v, want a and b", l.byIP)
	}
}

func TestRefusalCountIsPerWindow(t *testing.T) {
	t.Parallel()
	var r refusalCount
	for i := range 3 {
		if r.add(time.Duration(i)*time.Second, 10*time.Second, 3) {
			t.Fatalf("refusal %d of 3 within the window counted as past the max", i+1)
		}
	}
	if !r.add(9*time.Second, 10*time.Second, 3) {
		t.Fatal("a fourth refusal within the window not past the max")
	}
	if r.add(11*time.Second, 10*time.Second, 3) {
		t.Fatal("a refusal in a new window counted the old one's")
	}
}
