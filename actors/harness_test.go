package actors

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// What every actor test shares: a fresh Chat per test on a memory store and
// a fake clock, and sessions that are probes.

// t0 is where fake clocks start: a fixed instant, so stamps are predictable.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 123_000_000, time.UTC)

// fakeClock is a clock a test moves by hand. Safe for concurrent use.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.set(t0)
	return c
}

func (c *fakeClock) now() time.Time           { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *fakeClock) set(t time.Time)          { c.ms.Store(t.UnixMilli()) }
func (c *fakeClock) advance(d time.Duration)  { c.ms.Add(d.Milliseconds()) }
func (c *fakeClock) nowMs() int64             { return c.ms.Load() }
func (c *fakeClock) at(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

// harness is one test's chat server without an edge.
type harness struct {
	t     *testing.T
	chat  *Chat
	mem   *store.Memory
	clock *fakeClock
}

// newHarness starts a Chat on a fresh memory store and a fake clock. The
// rate limit is off unless tune sets it; tune may also replace the store
// (cfg.Store) with one wrapping h.mem.
func newHarness(t *testing.T, tune func(*Config, *store.Memory)) *harness {
	t.Helper()
	clock := newFakeClock()
	mem := store.NewMemory(store.Config{Now: clock.now})
	cfg := Config{Store: mem, Clock: clock.now, MsgRate: NoRateLimit}
	if tune != nil {
		tune(&cfg, mem)
	}
	return startHarness(t, cfg, mem, clock)
}

func startHarness(t *testing.T, cfg Config, mem *store.Memory, clock *fakeClock) *harness {
	t.Helper()
	c, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &harness{t: t, chat: c, mem: mem, clock: clock}
}

func (h *harness) system() *actor.ActorSystem { return h.chat.system }
func (h *harness) root() *actor.RootContext   { return h.chat.system.Root }

// probe returns a new probe in this harness's system.
func (h *harness) probe(name string) *probe {
	h.t.Helper()
	return newProbe(h.t, h.system(), name)
}

// session is a connected user as the edge sees it: a probe attached with
// Chat.Connect, and the user actor it talks to.
type session struct {
	h       *harness
	name    string
	p       *probe
	user    *actor.PID
	welcome *chatpb.Welcome
	refs    int
}

// connect attaches a new session probe to name and checks that its first
// message is the Welcome. Presence notices are recorded unless quietly.
func (h *harness) connect(name string) *session {
	h.t.Helper()
	return h.attach(name, h.probe(name))
}

// connectQuiet is connect with a probe that drops presence notices.
func (h *harness) connectQuiet(name string) *session {
	h.t.Helper()
	return h.attach(name, h.probe(name).ignoring(isPresence))
}

func (h *harness) attach(name string, p *probe) *session {
	h.t.Helper()
	user, err := h.chat.Connect(name, p.pid)
	if err != nil {
		h.t.Fatalf("Connect(%s): %v", name, err)
	}
	if want := "registry/" + name; user.Id != want {
		h.t.Fatalf("Connect(%s): user actor %q, want %q", name, user.Id, want)
	}
	w := expectMsg[*chatpb.Welcome](h.t, p, wait)
	if w.User != name {
		h.t.Fatalf("welcome for %q, want %q", w.User, name)
	}
	return &session{h: h, name: name, p: p, user: user, welcome: w}
}

func isPresence(m any) bool { _, ok := m.(*chatpb.Presence); return ok }

// send hands the user actor a request from this session, as the edge does.
func (s *session) send(m any) {
	s.h.root().RequestWithCustomSender(s.user, m, s.p.pid)
}

// ref returns a fresh request ref.
func (s *session) ref() *string {
	s.refs++
	r := fmt.Sprintf("%s-%d", s.name, s.refs)
	return &r
}

// dm sends a private message and returns its ref.
func (s *session) dm(to, text string) *string {
	ref := s.ref()
	s.send(&chatpb.Dm{To: to, Text: text, Ref: ref})
	return ref
}

// say sends a public message and returns its ref.
func (s *session) say(text string) *string {
	ref := s.ref()
	s.send(&chatpb.Say{Text: text, Ref: ref})
	return ref
}

// expectSent expects the receipt for ref as this session's next message.
func (s *session) expectSent(ref *string) *chatpb.Sent {
	s.h.t.Helper()
	sent := expectMsg[*chatpb.Sent](s.h.t, s.p, wait)
	if sent.GetRef() != *ref || sent.Id == "" {
		s.h.t.Fatalf("%s: receipt %s, want one for ref %q", s.name, describe(sent), *ref)
	}
	return sent
}

// expectRefused expects a refusal of ref with code as the next message.
func (s *session) expectRefused(ref *string, code chatpb.ErrorCode) *chatpb.Refused {
	s.h.t.Helper()
	r := expectMsg[*chatpb.Refused](s.h.t, s.p, wait)
	if r.GetRef() != *ref || r.Code != code {
		s.h.t.Fatalf("%s: got %s, want refusal of %q with %v", s.name, describe(r), *ref, code)
	}
	return r
}

// expectDeliver expects a Deliver as the next message and returns it.
func (s *session) expectDeliver() *chatpb.Deliver {
	s.h.t.Helper()
	return expectMsg[*chatpb.Deliver](s.h.t, s.p, wait)
}

// sync is a barrier through the user actor and the room: it asks who is
// online and waits for the answer, which it removes; whatever the user actor
// did with earlier requests is done by then. It returns the messages that
// arrived before the answer, and leaves them queued.
func (s *session) sync() []any {
	s.h.t.Helper()
	ref := s.ref()
	s.send(&chatpb.Who{Ref: ref})
	_, before, ok := s.p.extract(func(m any) bool {
		u, isUsers := m.(*chatpb.Users)
		return isUsers && u.GetRef() == *ref
	}, wait)
	if !ok {
		s.h.t.Fatalf("%s: no answer to the barrier %q; got %v", s.name, *ref, before)
	}
	out := make([]any, len(before))
	for i, r := range before {
		out[i] = r.msg
	}
	return out
}

// disconnect tells the user actor the session's connection ended.
func (s *session) disconnect() {
	s.h.root().Send(s.user, &chatpb.Disconnect{Session: s.p.pid})
}

// confirm confirms every private message this session got up to seq.
func (s *session) confirm(seq uint64) {
	s.h.root().Send(s.user, &chatpb.Confirm{Session: s.p.pid, UpTo: seq})
}

// inboxIDs returns the ids in user's inbox in the store, in order.
func (h *harness) inboxIDs(user string) []string {
	h.t.Helper()
	msgs, err := h.mem.Inbox(user)
	if err != nil {
		h.t.Fatalf("Inbox(%s): %v", user, err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Id
	}
	return ids
}

// waitInbox waits until user's stored inbox holds exactly ids.
func (h *harness) waitInbox(user string, ids ...string) {
	h.t.Helper()
	eventually(h.t, wait, fmt.Sprintf("inbox of %s is %v (it is %v)", user, ids, h.inboxIDs(user)), func() bool {
		return fmt.Sprint(h.inboxIDs(user)) == fmt.Sprint(append([]string{}, ids...))
	})
}

// supervisionEvents subscribes a probe to the system's supervision events.
func (h *harness) supervisionEvents() *probe {
	p := newQueueProbe("supervision")
	sub := h.system().EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			p.push(received{msg: e})
		}
	})
	h.t.Cleanup(func() { h.system().EventStream.Unsubscribe(sub) })
	return p
}

// watcher is an actor that watches one PID and passes the Terminated on to
// a probe: a test's way to know an actor is gone. Watchers are told in the
// order they started watching, so it also tells that every earlier watcher
// has been sent its Terminated.
type watcher struct {
	target   *actor.PID
	out      *probe
	watching chan struct{} // closed once the Watch is in target's mailbox
}

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Watch(w.target)
		close(w.watching)
	case *actor.Terminated:
		w.out.push(received{msg: m, sender: m.Who})
	}
}

// watch starts watching pid and returns once the watch is in place; the
// returned probe gets its Terminated. Waiting matters: a watcher that
// started late would watch the fresh actor that took a stopped one's PID.
func (h *harness) watch(pid *actor.PID) *probe {
	h.t.Helper()
	out := newQueueProbe("watch-" + pid.Id)
	watching := make(chan struct{})
	h.root().Spawn(actor.PropsFromProducer(func() actor.Actor { return &watcher{target: pid, out: out, watching: watching} }))
	await(h.t, watching, wait, "the watch on "+pid.Id)
	return out
}

// busyRegistry holds the registry until release, as a wave of connections
// would keep it busy: it sends the registry a route to name, a name nobody
// has, on behalf of a probe that holds the registry's goroutine when told
// where the route went. entered is closed once the registry is held. Each
// call wants a name of its own: the actor for an unknown name passivates
// at once, and the registry holds what comes for a name meanwhile.
func (h *harness) busyRegistry(name string) (entered <-chan struct{}, release func()) {
	h.t.Helper()
	p := h.probe("busy-" + name)
	entered, release = p.block(func(m any) bool { _, ok := m.(*chatpb.Resolved); return ok })
	h.t.Cleanup(release)
	h.root().Send(h.chat.deps.registry,
		&chatpb.Route{From: "busy", To: name, Text: "busy", ReplyTo: p.pid, Id: "busy-" + name})
	return entered, release
}

// gatedStore wraps a memory store so that a test can control timing the way
// a slow disk would: hold makes the completions of all writes wait, in
// order (the Store contract: callbacks come in write order), until
// releaseWrites; the writes themselves are applied at once.
type gatedStore struct {
	*store.Memory

	// guarded by mu
	mu       sync.Mutex
	holding  bool
	pending  []func()
	enqueued []*chatpb.Message // every Enqueue, in call order
}

func newGatedStore(mem *store.Memory) *gatedStore {
	return &gatedStore{Memory: mem}
}

// hold makes completions wait from now on.
func (s *gatedStore) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding = true
}

// releaseWrites completes the held writes, oldest first, and stops holding.
func (s *gatedStore) releaseWrites() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.pending {
		f() // posts to a mailbox; never blocks
	}
	s.pending, s.holding = nil, false
}

func (s *gatedStore) complete(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		s.pending = append(s.pending, f)
		return
	}
	f()
}

// later wraps a write's done callback so that it goes through complete.
func (s *gatedStore) later(done func(error)) func(error) {
	return func(err error) {
		s.complete(func() {
			if done != nil {
				done(err)
			}
		})
	}
}

// Enqueue implements store.Store.
func (s *gatedStore) Enqueue(m *chatpb.Message, done func(error)) {
	s.mu.Lock()
	s.enqueued = append(s.enqueued, m)
	s.mu.Unlock()
	s.Memory.Enqueue(m, s.later(done))
}

// Ack implements store.Store.
func (s *gatedStore) Ack(user string, ids []string, done func(error)) {
	s.Memory.Ack(user, ids, s.later(done))
}

// AppendPublic implements store.Store.
func (s *gatedStore) AppendPublic(m *chatpb.Message, done func(error)) {
	s.Memory.AppendPublic(m, s.later(done))
}

// PutKey implements store.Store.
func (s *gatedStore) PutKey(user string, r *chatpb.KeyRecord, done func(error)) {
	s.Memory.PutKey(user, r, s.later(done))
}

// AddUser implements store.Store.
func (s *gatedStore) AddUser(name string, done func(error)) {
	s.Memory.AddUser(name, s.later(done))
}

// enqueuedTexts returns the text of every Enqueue so far.
func (s *gatedStore) enqueuedTexts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.enqueued))
	for i, m := range s.enqueued {
		out[i] = m.Text
	}
	return out
}

// sortedCopy returns names sorted, for comparisons.
func sortedCopy(names []string) []string {
	out := append([]string{}, names...)
	sort.Strings(out)
	return out
}
