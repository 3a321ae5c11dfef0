package actors

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// Passivation, driven by hand: a test moves the fake clock past UserIdle
// and ticks the actor's idle clock as its timer would (tickIdle), so that
// the moment an actor decides is the test's. One test lets the real timer
// run (TestPassivateOnItsOwnAfterUserIdle).

// tickIdle moves the clock past UserIdle and ticks pid's idle clock, once
// the actor has handled what was sent to it before (which counts as
// activity).
func (h *harness) tickIdle(pid *actor.PID) {
	h.t.Helper()
	h.alive(pid)
	h.clock.advance(h.chat.deps.cfg.UserIdle)
	h.root().Send(pid, &idleTick{})
}

// passivate makes the offline user's actor at pid passivate and waits until
// it has stopped.
func (h *harness) passivate(pid *actor.PID) {
	h.t.Helper()
	gone := h.watch(pid)
	h.tickIdle(pid)
	expectMsg[*actor.Terminated](h.t, gone, wait)
}

// alive checks that the user actor at pid still runs, and has handled
// everything sent to it before: it asks the actor who is online (the answer
// comes from the room, on the actor's behalf). A stopped actor drops the
// question.
func (h *harness) alive(pid *actor.PID) {
	h.t.Helper()
	if _, err := h.root().RequestFuture(pid, &chatpb.Who{}, wait).Result(); err != nil {
		h.t.Fatalf("%v does not answer: %v", pid, err)
	}
}

// staysAfterTick ticks pid's idle clock past UserIdle and checks that the
// actor does not stop: after a barrier through the actor (it has handled
// the tick), one through the registry (which has answered a Passivate by
// then) and one through the actor again (which has decided on that answer
// by then), the same actor runs. The same actor, not merely one under the
// PID: a fresh one for the name would have the same.
func (h *harness) staysAfterTick(pid *actor.PID) {
	h.t.Helper()
	before, _ := h.system().ProcessRegistry.GetLocal(pid.Id)
	h.tickIdle(pid)
	h.alive(pid)
	route(h.t, h, h.probe("barrier"), "nobody-"+h.system().ProcessRegistry.NextId())
	h.alive(pid)
	if after, _ := h.system().ProcessRegistry.GetLocal(pid.Id); before == nil || after != before {
		h.t.Fatalf("%v stopped after the tick", pid)
	}
}

// stall holds the user actor at pid inside its Receive until the returned
// function is called: it answers an invalid request from a probe that holds
// its goroutine. What is sent to it meanwhile queues in its mailbox.
func (h *harness) stall(pid *actor.PID) (unstall func()) {
	h.t.Helper()
	p := h.probe("stall")
	stalled, unstall := p.block(func(m any) bool { _, ok := m.(*chatpb.Refused); return ok })
	h.t.Cleanup(unstall)
	h.root().RequestWithCustomSender(pid, &chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST}, p.pid)
	await(h.t, stalled, wait, pid.Id+" to stall")
	return unstall
}

// userActors returns the ids of the running user actors.
func (h *harness) userActors() []string { return userActorIDs(h.system()) }

// userActorIDs returns the ids of the running user actors in system.
func userActorIDs(system *actor.ActorSystem) []string {
	var ids []string
	for _, bucket := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range bucket.Keys() {
			if strings.HasPrefix(id, "registry/") {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func TestPassivateStopsAnIdleOfflineUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	h.passivate(bob.user)
	if got := h.userActors(); len(got) != 0 {
		t.Fatalf("user actors after bob passivated: %v", got)
	}
	// The edge undoing a timed-out Connect of a user without an actor has
	// nothing to undo: no actor is spawned for it.
	h.root().Send(h.chat.deps.registry, &chatpb.Disconnect{Session: bob.p.pid, User: "bob"})
	route(t, h, h.probe("barrier"), "nobody") // the registry has handled it
	if got := h.userActors(); slices.Contains(got, "registry/bob") {
		t.Fatalf("a Disconnect spawned an actor: %v", got)
	}
	next := h.connectQuiet("bob") // a fresh actor, under the same name
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("after passivation: %v", extra)
	}
}

func TestPassivateOnItsOwnAfterUserIdle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.Clock, c.UserIdle = time.Now, 20*time.Millisecond
	})
	alice := h.connectQuiet("alice")
	bob := h.connectQuiet("bob")
	gone := h.watch(bob.user)
	bob.disconnect()
	expectMsg[*actor.Terminated](t, gone, wait)
	if extra := alice.sync(); len(extra) != 0 { // connected all along: still there
		t.Fatalf("alice: %v", extra)
	}
	if got := h.userActors(); !slices.Equal(got, []string{"registry/alice"}) {
		t.Fatalf("user actors %v, want only alice's", got)
	}
}

// inFlight is what a case of TestPassivateWaitsForWhatIsInFlight works with.
type inFlight struct {
	t          *testing.T
	h          *harness
	gs         *gatedStore
	alice, bob *session
}

// An actor stays while anything would be lost with it: a session, its name
// or a private message for it being stored, or a message of its own still
// waiting for its answer. Once that is over, it passivates.
func TestPassivateWaitsForWhatIsInFlight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// start sets something in flight for a user who is then offline,
		// and returns the user and what ends it.
		start func(e inFlight) (*session, func())
	}{
		{"a session", func(e inFlight) (*session, func()) {
			return e.bob, e.bob.disconnect
		}},
		{"its name being stored", func(e inFlight) (*session, func()) {
			e.gs.hold()
			carol := e.h.connectQuiet("carol")
			carol.disconnect()
			return carol, e.gs.releaseWrites
		}},
		{"a private message being stored for it", func(e inFlight) (*session, func()) {
			e.bob.disconnect()
			e.gs.hold()
			ref := e.alice.dm("bob", "being stored")
			eventually(e.t, wait, "bob's actor to store it", func() bool { return len(e.gs.enqueuedTexts()) == 1 })
			return e.bob, func() { e.gs.releaseWrites(); e.alice.expectSent(ref) }
		}},
		{"its own private message, unanswered", func(e inFlight) (*session, func()) {
			e.gs.hold()
			ref := e.bob.ref()
			e.bob.send(&chatpb.Dm{To: "alice", Text: "then gone", Ref: ref, Key: "k"})
			eventually(e.t, wait, "alice's actor to store it", func() bool { return len(e.gs.enqueuedTexts()) == 1 })
			e.bob.disconnect()
			return e.bob, func() { e.gs.releaseWrites(); e.bob.expectSent(ref) }
		}},
		{"its own public message, unanswered", func(e inFlight) (*session, func()) {
			e.gs.hold()
			ref := e.bob.say("then gone")
			e.bob.disconnect()
			e.h.alive(e.bob.user) // the room has the message
			return e.bob, func() { e.gs.releaseWrites(); e.bob.expectSent(ref) }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var gs *gatedStore
			h := newHarness(t, func(cfg *Config, mem *store.Memory) {
				gs = newGatedStore(mem)
				cfg.Store = gs
			})
			e := inFlight{t: t, h: h, gs: gs, alice: h.connectQuiet("alice"), bob: h.connectQuiet("bob")}
			who, end := c.start(e)
			h.staysAfterTick(who.user)
			end()
			h.passivate(who.user)
		})
	}
}

// A user actor that fails for good during a passivation round stops as
// after any failure, and what the registry held in the round waits for
// the next actor like what arrives during a supervisor's stop.
func TestPassivateRoundEndedBySupervisorStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.DebugFaults, c.RestartLimit = true, 1 })
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	bob.disconnect()
	h.root().Send(bob.user, &chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.RestartDirective)

	entered, release := h.busyRegistry("zed")
	await(t, entered, wait, "the registry to be busy")
	h.tickIdle(bob.user)
	h.alive(bob.user) // its Passivate waits in the registry's mailbox
	unstall := h.stall(bob.user)
	h.root().Send(bob.user, &chatpb.DebugPanic{}) // before the registry's Holding
	release()
	p, answer := reconnect(h, "bob")
	route(t, h, h.probe("barrier"), "nobody") // the registry holds the Connect
	unstall()
	expectSupervision(t, events, bob.user, actor.StopDirective)

	res, err := answer.Result()
	if err != nil {
		t.Fatalf("a Connect held when the round ended in a stop: %v", err)
	}
	if c, ok := res.(*chatpb.Connected); !ok || c.User.Id != "registry/bob" {
		t.Fatalf("the reconnect: %s", describe(res))
	}
	expectMsg[*chatpb.Welcome](t, p, wait)
}

// A private message to a user whose actor has passivated starts a fresh
// actor, which queues it; so does the next one, after that actor has
// passivated too. The user gets them on reconnecting, oldest first, with
// their original ids and stamps.
func TestPassivatedUserGetsQueuedMessagesOnReconnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	h.passivate(bob.user)
	alice := h.connectQuiet("alice")

	var receipts []*chatpb.Sent
	for i := range 3 {
		h.clock.advance(time.Second)
		sent := alice.expectSent(alice.dm("bob", fmt.Sprint("queued ", i)))
		if !sent.Queued || sent.TsUnixMs != h.clock.nowMs() {
			t.Fatalf("receipt %s: want queued, stamped %d", describe(sent), h.clock.nowMs())
		}
		receipts = append(receipts, sent)
		h.passivate(bob.user)
	}

	h.clock.advance(time.Minute)
	again := h.connectQuiet("bob")
	for i, sent := range receipts {
		d := again.expectDeliver()
		checkDM(t, d, sent, "alice", "bob", fmt.Sprint("queued ", i))
		if !d.Message.Offline || d.Redelivered {
			t.Fatalf("queued delivery %s: want offline, not redelivered", describe(d))
		}
	}
	if extra := again.sync(); len(extra) != 0 {
		t.Fatalf("more than the queue: %v", extra)
	}
}

// What was written to a connection and not confirmed is written again
// after a passivation, as after a restart: a message that arrived while the
// user was online is marked redelivered, one that was queued offline is
// not (the marks that would say it was written died with the actor).
func TestReconnectAfterPassivationGetsTheUnconfirmedInbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	queued := alice.expectSent(alice.dm("bob", "queued"))
	bob = h.connectQuiet("bob")
	bob.expectDeliver() // written, unconfirmed
	live := alice.expectSent(alice.dm("bob", "live"))
	bob.expectDeliver() // written, unconfirmed
	bob.disconnect()
	h.passivate(bob.user)

	next := h.connectQuiet("bob")
	first, second := next.expectDeliver(), next.expectDeliver()
	checkDM(t, first, queued, "alice", "bob", "queued")
	checkDM(t, second, live, "alice", "bob", "live")
	if first.Redelivered || !first.Message.Offline || !second.Redelivered || second.Message.Offline {
		t.Fatalf("after passivation: %s, %s; want the queued one plain, the live one redelivered",
			describe(first), describe(second))
	}
	next.confirm(second.Seq)
	h.waitInbox("bob")
	if got := h.chat.InboxDepth(); got != 0 {
		t.Fatalf("InboxDepth %d, want 0", got)
	}
}

// InboxDepth counts the inboxes of the actors in memory: a passivating
// actor takes its share with it, and the fresh one counts it again.
func TestPassivationKeepsInboxDepthRight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	alice.expectSent(alice.dm("bob", "queued"))
	if got := h.chat.InboxDepth(); got != 1 {
		t.Fatalf("InboxDepth %d, want 1", got)
	}
	h.passivate(bob.user)
	if got := h.chat.InboxDepth(); got != 0 {
		t.Fatalf("InboxDepth %d after bob passivated, want 0", got)
	}
	h.connectQuiet("bob").expectDeliver()
	if got := h.chat.InboxDepth(); got != 1 {
		t.Fatalf("InboxDepth %d with bob back, want 1", got)
	}
}

// raceWindow sets up the handshake race: bob is offline and idle, alice is
// online, and the registry is held busy. It returns what lets it go.
func raceWindow(t *testing.T) (h *harness, alice, bob *session, release func()) {
	t.Helper()
	h = newHarness(t, nil)
	bob = h.connectQuiet("bob")
	bob.disconnect()
	alice = h.connectQuiet("alice")
	entered, release := h.busyRegistry("zed")
	await(t, entered, wait, "the registry to be busy")
	return h, alice, bob, release
}

// reconnect sends the registry the Connect that Chat.Connect sends, for a
// new session of name, and returns the session's probe and the answer.
func reconnect(h *harness, name string) (*probe, *actor.Future) {
	p := h.probe(name + "-next").ignoring(isPresence)
	return p, h.root().RequestFuture(h.chat.deps.registry, &chatpb.Connect{User: name, Session: p.pid}, wait)
}

// checkRaceOutcome checks that bob's reconnect succeeded and that alice's
// private message reached bob's new session once, and her session had one
// receipt for it.
func checkRaceOutcome(t *testing.T, h *harness, alice *session, ref *string, p *probe, answer *actor.Future) {
	t.Helper()
	res, err := answer.Result()
	if err != nil {
		t.Fatalf("the reconnect: %v", err)
	}
	c, ok := res.(*chatpb.Connected)
	if !ok || c.User.Id != "registry/bob" {
		t.Fatalf("the reconnect: %s", describe(res))
	}
	next := &session{h: h, name: "bob", p: p, user: c.User}
	expectMsg[*chatpb.Welcome](t, p, wait)
	sent := alice.expectSent(ref)
	checkDM(t, next.expectDeliver(), sent, "alice", "bob", "in the window")
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("bob: more than one delivery: %v", extra)
	}
	if extra := alice.sync(); len(extra) != 0 {
		t.Fatalf("alice: more than one receipt: %v", extra)
	}
	h.waitInbox("bob", sent.Id)
}

// A Connect and a route that reach the registry after it started holding
// for bob wait there; bob's actor stops, and a fresh one gets both.
func TestPassivateRaceConnectAfterTheRegistryHolds(t *testing.T) {
	t.Parallel()
	h, alice, bob, release := raceWindow(t)
	gone := h.watch(bob.user)
	h.tickIdle(bob.user)
	h.alive(bob.user) // its Passivate waits in the registry's mailbox
	p, answer := reconnect(h, "bob")
	ref := alice.dm("bob", "in the window")
	alice.sync() // alice's actor has sent it to the registry
	release()
	expectMsg[*actor.Terminated](t, gone, wait)
	checkRaceOutcome(t, h, alice, ref, p, answer)
}

// A Connect that the registry forwards before it starts holding reaches
// bob's actor before the registry's answer: the actor stays, and gets the
// route the registry held meanwhile.
func TestPassivateRaceConnectBeforeTheRegistryHolds(t *testing.T) {
	t.Parallel()
	h, alice, bob, release := raceWindow(t)
	gone := h.watch(bob.user)
	p, answer := reconnect(h, "bob")
	h.tickIdle(bob.user)
	h.alive(bob.user) // its Passivate waits behind the Connect
	ref := alice.dm("bob", "in the window")
	alice.sync()
	release()
	checkRaceOutcome(t, h, alice, ref, p, answer)
	expectNoMsg(t, gone, 0) // the same actor throughout
}

// A private message that alice's actor sends straight to bob's, whose PID
// it has cached, and that reaches it after it decided to stop, is lost with
// its mailbox; alice's actor, which watches bob's, routes it again through
// the registry, and it is stored and answered once.
func TestPassivateDMToACachedPIDIsRoutedAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	alice.expectSent(alice.dm("bob", "warm up")) // alice caches bob's actor
	bob.confirm(bob.expectDeliver().Seq)
	h.waitInbox("bob")
	bob.disconnect()
	gone := h.watch(bob.user)

	// bob's actor asks to stop while the registry is busy...
	entered, release := h.busyRegistry("zed")
	await(t, entered, wait, "the registry to be busy")
	h.tickIdle(bob.user)
	h.alive(bob.user)
	// ...then stalls (answering a request from a probe that holds it), so
	// that the registry's Holding and then alice's message queue behind.
	unstall := h.stall(bob.user)
	release()
	route(t, h, h.probe("barrier"), "nobody") // the registry has sent Holding
	ref := alice.dm("bob", "straight to the PID")
	alice.sync() // alice's actor has sent it to bob's
	unstall()
	expectMsg[*actor.Terminated](t, gone, wait)

	sent := alice.expectSent(ref)
	if !sent.Queued {
		t.Fatalf("receipt %s: want queued", describe(sent))
	}
	ids := deliveredIDs(t, h, "bob")
	if got := ids["straight to the PID"]; len(got) != 1 || got[0] != sent.Id {
		t.Fatalf("delivered under ids %v, receipt %s", got, sent.Id)
	}
	if extra := alice.sync(); countSent(extra, ref) != 0 {
		t.Fatalf("a second receipt: %v", extra)
	}
}

// Private messages to names that never connected must not leave actors
// behind, or anyone could exhaust the server by inventing names.
func TestRoutesToUnknownNamesLeaveNoActors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectQuiet("alice")
	const n = 1000
	refs := make(map[string]bool, n)
	for i := range n {
		refs[*alice.dm(fmt.Sprintf("ghost-%d-%x", i, i*7919), "anyone?")] = true
	}
	for range n {
		r := expectMsg[*chatpb.Refused](t, alice.p, wait)
		if r.Code != chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER || !refs[r.GetRef()] {
			t.Fatalf("got %s, want unknown_user for one of the routes", describe(r))
		}
		delete(refs, r.GetRef())
	}
	eventually(t, wait, "only alice's actor to be left", func() bool {
		return slices.Equal(h.userActors(), []string{"registry/alice"})
	})
	if users, _ := h.mem.Users(); !slices.Equal(users, []string{"alice"}) {
		t.Fatalf("known users %d, want only alice", len(users))
	}
}

// Once a wave of users has passivated, the registry copies its maps into
// smaller ones (compact); the users still running are still found there,
// with the same actor.
func TestRegistryKeepsTheRunningUsersWhenItShrinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectQuiet("alice")
	aliceActor, _ := h.system().ProcessRegistry.GetLocal(alice.user.Id)
	var wave []*session
	for i := range compactAt + 100 {
		s := h.connectQuiet(fmt.Sprint("wave-", i))
		s.disconnect()
		wave = append(wave, s)
	}
	for _, s := range wave {
		h.passivate(s.user)
	}
	if got := h.userActors(); !slices.Equal(got, []string{"registry/alice"}) {
		t.Fatalf("user actors %v, want alice's", got)
	}
	again := h.connectQuiet("alice")
	if now, _ := h.system().ProcessRegistry.GetLocal(again.user.Id); now != aliceActor {
		t.Fatal("alice's reconnect went to another actor")
	}
	bob := h.connectQuiet("wave-7")
	sent := bob.expectSent(bob.dm("alice", "still here?"))
	checkDM(t, again.expectDeliver(), sent, "wave-7", "alice", "still here?")
}
