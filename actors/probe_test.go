package actors

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Proto.Actor for Go has no test kit, so this file is one: a probe is an
// actor.Process, registered in the system like the server's sessions are,
// that records every user message sent to it, with its sender, in an
// unbounded queue. It never blocks the actor that sends to it (unless a
// test asks it to, see block), so it behaves like a well-behaved session.
// The expect helpers read that queue with a deadline.

// wait bounds every expectation that should succeed. It is generous because
// the machine is shared, the tests run in parallel and -race slows
// everything; a passing test never waits for it.
const wait = 10 * time.Second

// received is one message a probe got, unwrapped from its envelope.
type received struct {
	msg    any
	sender *actor.PID
}

func (r received) String() string { return describe(r.msg) }

// probe records what it receives. The queue is guarded by mu; signal has
// capacity 1 and is poked after every push, so a reader that found the queue
// empty wakes up.
type probe struct {
	// set at construction
	name   string
	pid    *actor.PID // nil for a probe fed by something other than sends
	system *actor.ActorSystem
	ignore func(any) bool // messages dropped on arrival; nil keeps all
	signal chan struct{}

	// guarded by mu
	mu      sync.Mutex
	queue   []received
	blockOn func(any) bool // a matching message blocks its sender until unblocked
	entered chan struct{}  // closed when a blocking message arrives
	release chan struct{}  // closed to let it through
}

var _ actor.Process = (*probe)(nil)

// newProbe registers a probe in system under a fresh id and removes it when
// the test ends.
func newProbe(t *testing.T, system *actor.ActorSystem, name string) *probe {
	t.Helper()
	p := newQueueProbe(name)
	p.system = system
	pid, ok := system.ProcessRegistry.Add(p, "probe-"+name+"-"+system.ProcessRegistry.NextId())
	if !ok {
		t.Fatalf("probe %s: id already taken", name)
	}
	p.pid = pid
	t.Cleanup(func() { system.ProcessRegistry.Remove(pid) })
	return p
}

// newQueueProbe returns a probe that is not an actor: something else pushes
// to it (an event-stream subscription).
func newQueueProbe(name string) *probe {
	return &probe{name: name, signal: make(chan struct{}, 1)}
}

// ignoring makes p drop messages for which skip is true, e.g. presence
// notices in tests about something else.
func (p *probe) ignoring(skip func(any) bool) *probe {
	p.ignore = skip
	return p
}

// SendUserMessage records a message. It runs on the sender's goroutine.
func (p *probe) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	p.push(received{msg: msg, sender: sender})
}

// SendSystemMessage ignores system messages, as sessions do.
func (p *probe) SendSystemMessage(*actor.PID, any) {}

// Stop does nothing: a probe lives until its test ends.
func (p *probe) Stop(*actor.PID) {}

func (p *probe) push(r received) {
	if p.ignore != nil && p.ignore(r.msg) {
		return
	}
	p.mu.Lock()
	if p.blockOn != nil && p.blockOn(r.msg) {
		p.blockOn = nil
		entered, release := p.entered, p.release
		p.mu.Unlock()
		close(entered)
		<-release
		p.mu.Lock()
	}
	p.queue = append(p.queue, r)
	p.mu.Unlock()
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// block makes the first later message for which match is true hold its
// sender (an actor, on its own goroutine) until the returned release
// function is called; entered is closed once that sender is held. It lets
// a test freeze an actor at a precise point to widen a race window.
func (p *probe) block(match func(any) bool) (entered <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, r := make(chan struct{}), make(chan struct{})
	p.blockOn, p.entered, p.release = match, e, r
	var once sync.Once
	return e, func() { once.Do(func() { close(r) }) }
}

// next pops the oldest message, waiting up to timeout for one.
func (p *probe) next(timeout time.Duration) (received, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			r := p.queue[0]
			p.queue[0] = received{}
			p.queue = p.queue[1:]
			p.mu.Unlock()
			return r, true
		}
		p.mu.Unlock()
		select {
		case <-p.signal:
		case <-deadline.C:
			return received{}, false
		}
	}
}

// extract removes and returns the first message, waiting now or arriving
// within timeout, for which match is true, leaving the others queued in
// order; before is a copy of those that precede it.
func (p *probe) extract(match func(any) bool, timeout time.Duration) (r received, before []received, ok bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, q := range p.queue {
			if match(q.msg) {
				before = append([]received(nil), p.queue[:i]...)
				p.queue = append(p.queue[:i:i], p.queue[i+1:]...)
				p.mu.Unlock()
				return q, before, true
			}
		}
		p.mu.Unlock()
		select {
		case <-p.signal:
		case <-deadline.C:
			return received{}, p.pending(), false
		}
	}
}

// pending returns, without consuming them, the messages waiting now.
func (p *probe) pending() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.queue...)
}

// drain discards everything waiting now.
func (p *probe) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = nil
}

// expectMsg returns p's next message, which must be a T and arrive within
// timeout; otherwise the test fails, saying what came instead.
func expectMsg[T any](t *testing.T, p *probe, timeout time.Duration) T {
	t.Helper()
	m, _ := expectMsgFrom[T](t, p, timeout)
	return m
}

// expectMsgFrom is expectMsg that also returns the message's sender.
func expectMsgFrom[T any](t *testing.T, p *probe, timeout time.Duration) (T, *actor.PID) {
	t.Helper()
	var zero T
	r, ok := p.next(timeout)
	if !ok {
		t.Fatalf("probe %s: no %T within %v", p.name, zero, timeout)
	}
	m, ok := r.msg.(T)
	if !ok {
		t.Fatalf("probe %s: want %T, got %s (then waiting: %v)", p.name, zero, describe(r.msg), p.pending())
	}
	return m, r.sender
}

// expectNoMsg fails if p receives anything within d. With d == 0 it only
// checks that nothing is waiting now: the form to use after a causal
// barrier, when anything that was going to arrive already has.
func expectNoMsg(t *testing.T, p *probe, d time.Duration) {
	t.Helper()
	if r, ok := p.next(d); ok {
		t.Fatalf("probe %s: want nothing, got %s", p.name, describe(r.msg))
	}
}

// fishFor discards messages until one is a T for which match is true, and
// returns it. It fails if none arrives within timeout, listing what it
// discarded.
func fishFor[T any](t *testing.T, p *probe, timeout time.Duration, match func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var skipped []string
	for {
		r, ok := p.next(time.Until(deadline))
		if !ok {
			var zero T
			t.Fatalf("probe %s: no matching %T within %v; skipped %v", p.name, zero, timeout, skipped)
		}
		if m, ok := r.msg.(T); ok && (match == nil || match(m)) {
			return m
		}
		skipped = append(skipped, describe(r.msg))
	}
}

// receiveN returns the next n messages, each of which must be a T.
func receiveN[T any](t *testing.T, p *probe, n int, timeout time.Duration) []T {
	t.Helper()
	out := make([]T, n)
	for i := range out {
		out[i] = expectMsg[T](t, p, timeout)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes; for state
// that is not announced by a message (the store's contents).
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// await returns the next value from ch (or the zero value once ch is
// closed), failing the test if none comes within timeout.
func await[T any](t *testing.T, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("not within %v: %s", timeout, what)
		panic("unreachable")
	}
}

// describe renders a message for a failure report.
func describe(m any) string {
	if m == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("%T{%v}", m, m)
	return strings.Join(strings.Fields(s), " ")
}

// Tests of the probe itself, so that a broken probe cannot make the actor
// tests pass vacuously.

type probeMsg struct{ n int }

func TestProbeRecordsMessagesWithSender(t *testing.T) {
	t.Parallel()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	p := newProbe(t, system, "p")
	from := newProbe(t, system, "from")

	system.Root.RequestWithCustomSender(p.pid, &probeMsg{n: 1}, from.pid)
	system.Root.Send(p.pid, &probeMsg{n: 2})

	m, sender := expectMsgFrom[*probeMsg](t, p, wait)
	if m.n != 1 || !sender.Equal(from.pid) {
		t.Fatalf("first: got n=%d from %v, want n=1 from %v", m.n, sender, from.pid)
	}
	if m, sender := expectMsgFrom[*probeMsg](t, p, wait); m.n != 2 || sender != nil {
		t.Fatalf("second: got n=%d from %v, want n=2 from nobody", m.n, sender)
	}
	expectNoMsg(t, p, 0)
}

func TestProbeFishForSkipsAndReportsTimeout(t *testing.T) {
	t.Parallel()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	p := newProbe(t, system, "p")
	for i := range 5 {
		system.Root.Send(p.pid, &probeMsg{n: i})
	}
	if got := fishFor(t, p, wait, func(m *probeMsg) bool { return m.n == 3 }); got.n != 3 {
		t.Fatalf("fishFor returned n=%d", got.n)
	}
	if m := expectMsg[*probeMsg](t, p, wait); m.n != 4 {
		t.Fatalf("after fishing: n=%d, want 4", m.n)
	}
	if _, ok := p.next(10 * time.Millisecond); ok {
		t.Fatal("an empty probe returned a message")
	}
}

func TestProbeBlockHoldsTheSender(t *testing.T) {
	t.Parallel()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	p := newProbe(t, system, "p")
	entered, release := p.block(func(m any) bool { return m.(*probeMsg).n == 1 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		system.Root.Send(p.pid, &probeMsg{n: 1})
	}()
	await(t, entered, wait, "the sender to be held")
	select {
	case <-done:
		t.Fatal("the sender was not held")
	default:
	}
	expectNoMsg(t, p, 0)
	release()
	await(t, done, wait, "the sender to be let go")
	if m := expectMsg[*probeMsg](t, p, wait); m.n != 1 {
		t.Fatalf("n=%d", m.n)
	}
}
