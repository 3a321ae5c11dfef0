package actors

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/internal/testload"
	"github.com/actorchat/chat/proto/chatpb"
)

// What an offline user costs. Users connect (a session that is a bare
// actor.Process, no network), send one private message to an online user
// who confirms everything, and disconnect; then their actors passivate.
// Reported, as heap bytes (runtime.ReadMemStats after runtime.GC) per user
// over the baseline of a warmed-up server:
//
//   - live-B/user: the round's users offline, their actors still in memory;
//   - passivated-B/user: the same after their actors passivated;
//   - round2-B/user: what a second round of as many new users added once
//     passivated, i.e. what each further offline user keeps costing;
//   - store-B/user: what the memory store alone keeps per known name (the
//     users set), measured on its own; an offline user costs that with
//     -store memory, and nothing on the heap with bolt.
//
// What passivated-B/user holds beyond the store is room that Proto.Actor's
// structures grew to while the round's actors and sessions were alive and
// keep (Go maps never shrink): the process registry's shards, and the PID
// sets of the registry's children and of the watchers of the user everyone
// wrote to. It is paid once, for the most actors alive at a time, not per
// user who ever connected, which is what round2-B/user shows.
//
//	go test -run '^$' -bench OfflineUsers -benchtime 1x -count 3 ./actors/
func BenchmarkOfflineUsers(b *testing.B) {
	const users, workers = 20_000, 4
	perName := storeBytesPerName(users)
	var m offlineMetrics
	for range b.N {
		m = measureOfflineUsers(b, users, workers)
	}
	b.ReportMetric(m.live, "live-B/user")
	b.ReportMetric(m.passivated, "passivated-B/user")
	b.ReportMetric(m.round2, "round2-B/user")
	b.ReportMetric(perName, "store-B/user")
}

type offlineMetrics struct{ live, passivated, round2 float64 }

// offlineBench is one run: a Chat on a memory store, with a fake clock
// that stands still while users come and go, so that no actor passivates
// before the test moves it past UserIdle; the actors' idle timers are real
// and fire every UserIdle.
type offlineBench struct {
	tb    testing.TB
	chat  *Chat
	clock *fakeClock
}

func measureOfflineUsers(tb testing.TB, users, workers int) offlineMetrics {
	clock := newFakeClock()
	c, err := Start(Config{
		Store: store.NewMemory(store.Config{Now: clock.now}), Clock: clock.now,
		MsgRate: NoRateLimit, UserIdle: time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			tb.Error(err)
		}
	}()
	ob := &offlineBench{tb: tb, chat: c, clock: clock}
	ob.connectSink()
	ob.round("warm", 1000, workers)
	ob.passivateAll()
	base := heapBytes()
	ob.round("one", users, workers)
	live := heapBytes()
	ob.passivateAll()
	passivated := heapBytes()
	ob.round("two", users, workers)
	ob.passivateAll()
	second := heapBytes()
	n := float64(users)
	return offlineMetrics{
		live:       float64(live-base) / n,
		passivated: float64(passivated-base) / n,
		round2:     float64(second-passivated) / n,
	}
}

// connectSink connects "sink", whose session confirms every private
// message at once, so that its inbox stays empty.
func (ob *offlineBench) connectSink() {
	s := &confirmingSession{root: ob.chat.system.Root}
	pid, _ := ob.chat.system.ProcessRegistry.Add(s, "bench-sink")
	s.self = pid
	user, err := ob.chat.Connect("sink", pid)
	if err != nil {
		ob.tb.Fatal(err)
	}
	s.user.Store(user)
}

// round has n new users connect, send the sink a private message, and
// disconnect, workers at a time; it returns once all of them are offline.
func (ob *offlineBench) round(prefix string, n, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if err := ob.visit(fmt.Sprintf("%s-%d", prefix, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		ob.tb.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for ob.online() != 1 { // the room has had every Leave: all actors have handled Disconnect
		if time.Now().After(deadline) {
			ob.tb.Fatalf("%d still online", ob.online())
		}
		time.Sleep(time.Millisecond)
	}
}

// visit is one user's visit: connect, one private message, disconnect.
func (ob *offlineBench) visit(name string) error {
	system := ob.chat.system
	s := &answerSession{answers: make(chan any, 1)}
	pid, _ := system.ProcessRegistry.Add(s, "bench-"+name)
	defer system.ProcessRegistry.Remove(pid)
	user, err := ob.chat.Connect(name, pid)
	if err != nil {
		return err
	}
	system.Root.RequestWithCustomSender(user, &chatpb.Dm{To: "sink", Text: "hello from " + name}, pid)
	timeout := time.NewTimer(wait) // stopped, so that none is left on the heap
	defer timeout.Stop()
	select {
	case a := <-s.answers:
		if _, ok := a.(*chatpb.Sent); !ok {
			return fmt.Errorf("%s: %s", name, describe(a))
		}
	case <-timeout.C:
		return fmt.Errorf("%s: no receipt within %v", name, wait)
	}
	system.Root.Send(user, &chatpb.Disconnect{Session: pid})
	return nil
}

// online asks the room how many are online.
func (ob *offlineBench) online() int32 {
	f := actor.NewFuture(ob.chat.system, wait)
	ob.chat.system.Root.Send(ob.chat.deps.room,
		&chatpb.RoomQuery{ReplyTo: f.PID(), Query: &chatpb.RoomQuery_Who{Who: &chatpb.Who{}}})
	res, err := f.Result()
	if err != nil {
		ob.tb.Fatal(err)
	}
	return res.(*chatpb.Users).Online
}

// passivateAll moves the clock past UserIdle and waits until every user
// actor but the sink's has passivated (each within one more UserIdle, when
// its timer fires next).
func (ob *offlineBench) passivateAll() {
	ob.clock.advance(ob.chat.deps.cfg.UserIdle)
	deadline := time.Now().Add(time.Minute)
	for len(userActorIDs(ob.chat.system)) != 1 {
		if time.Now().After(deadline) {
			ob.tb.Fatalf("%d user actors still running", len(userActorIDs(ob.chat.system)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heapBytes returns the live heap (testload.Heap), signed, so that the
// differences the benchmarks take may be negative.
func heapBytes() int64 { return int64(testload.Heap()) }

// storeBytesPerName measures what a memory store keeps per known name.
func storeBytesPerName(n int) float64 {
	s := store.NewMemory(store.Config{})
	base := heapBytes()
	for i := range n {
		s.AddUser(fmt.Sprintf("one-%d", i+1), nil) // names as long as the rounds'
	}
	grown := heapBytes()
	runtime.KeepAlive(s)
	return float64(grown-base) / float64(n)
}

// answerSession is a session that passes on the answer to a request.
type answerSession struct{ answers chan any }

func (s *answerSession) SendUserMessage(_ *actor.PID, m any) {
	_, msg, _ := actor.UnwrapEnvelope(m)
	switch msg.(type) {
	case *chatpb.Sent, *chatpb.Refused:
		s.answers <- msg
	}
}
func (s *answerSession) SendSystemMessage(*actor.PID, any) {}
func (s *answerSession) Stop(*actor.PID)                   {}

// confirmingSession is a session that confirms every private message as
// it arrives, as a client's pong would, and keeps nothing.
type confirmingSession struct {
	root *actor.RootContext
	self *actor.PID                // set before it is connected
	user atomic.Pointer[actor.PID] // set once connected
}

func (s *confirmingSession) SendUserMessage(_ *actor.PID, m any) {
	_, msg, _ := actor.UnwrapEnvelope(m)
	if d, ok := msg.(*chatpb.Deliver); ok && d.Seq > 0 {
		s.root.Send(s.user.Load(), &chatpb.Confirm{Session: s.self, UpTo: d.Seq})
	}
}
func (s *confirmingSession) SendSystemMessage(*actor.PID, any) {}
func (s *confirmingSession) Stop(*actor.PID)                   {}
