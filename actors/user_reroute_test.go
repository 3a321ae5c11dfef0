package actors

import (
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// When a recipient's user actor is stopped by its supervisor, senders send
// again, through the registry, the private messages they had no answer for.
// These tests pin the timing down with a gated store, to check that every
// message still arrives once, under one id, with one receipt.

// rerouteHarness is a harness with a gated store, fault injection, and a
// restart limit of 1, whose bob has already used his one restart: his next
// panic stops his actor.
func rerouteHarness(t *testing.T) (h *harness, gs *gatedStore, events *probe, alice, bob *session) {
	t.Helper()
	h = newHarness(t, func(c *Config, mem *store.Memory) {
		gs = newGatedStore(mem)
		c.Store, c.DebugFaults, c.RestartLimit = gs, true, 1
	})
	events = h.supervisionEvents()
	bob = h.connectQuiet("bob")
	alice = h.connectQuiet("alice")
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.RestartDirective)
	return h, gs, events, alice, bob
}

// deliveredIDs connects a new session for name and returns, by text, the
// ids of everything delivered to it.
func deliveredIDs(t *testing.T, h *harness, name string) map[string][]string {
	t.Helper()
	s := h.connectQuiet(name)
	ids := map[string][]string{}
	for _, m := range s.sync() {
		d, ok := m.(*chatpb.Deliver)
		if !ok {
			t.Fatalf("%s: got %s", name, describe(m))
		}
		ids[d.Message.Text] = append(ids[d.Message.Text], d.Message.Id)
	}
	return ids
}

// countSent returns how many receipts for ref are among msgs.
func countSent(msgs []any, ref *string) int {
	n := 0
	for _, m := range msgs {
		if s, ok := m.(*chatpb.Sent); ok && s.GetRef() == *ref {
			n++
		}
	}
	return n
}

// A sender that is busy (its mailbox has a backlog) can have both the
// receipt of a private message and the news that the recipient's actor
// stopped waiting for it; the news is a system message, so it is handled
// first. The message was accepted and stored all the same: sending it again
// must not make a second message under a new id, nor a second receipt.
func TestRerouteOfAnAnsweredMessageDoesNotDuplicateIt(t *testing.T) {
	t.Parallel()
	h, gs, events, alice, bob := rerouteHarness(t)
	alice.expectSent(alice.dm("bob", "warm up")) // alice watches bob's actor
	bob.expectDeliver()
	alice.sync()
	gone := h.watch(bob.user) // told after alice

	// alice's actor sends the dm on; bob's actor stores it, but the store
	// has not reported it durable yet when alice's actor stalls on her
	// session (a stand-in for a long backlog). Then bob's actor answers and
	// stops.
	gs.hold()
	r := alice.dm("bob", "answered")
	eventually(t, wait, "bob's actor to store the message", func() bool { return len(gs.enqueuedTexts()) == 2 })
	busy := alice.ref()
	entered, unstall := alice.p.block(func(m any) bool {
		r, ok := m.(*chatpb.Refused)
		return ok && r.GetRef() == *busy
	})
	t.Cleanup(unstall)
	alice.send(&chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: "stall", Ref: busy})
	await(t, entered, wait, "alice's actor to stall")
	gs.releaseWrites()
	d := bob.expectDeliver() // its receipt is on the way to alice
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.StopDirective)
	expectMsg[*actor.Terminated](t, gone, wait) // alice has been told too
	unstall()

	alice.expectRefused(busy, chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST)
	sent := alice.expectSent(r)
	if sent.Id != d.Message.Id {
		t.Fatalf("receipt %s for the message delivered as %s", describe(sent), d.Message.Id)
	}
	ids := deliveredIDs(t, h, "bob")
	extra := alice.sync()
	if got := ids["answered"]; len(got) != 1 || countSent(extra, r) != 0 {
		t.Fatalf("delivered again under ids %v (first %s), %d more receipts", got, d.Message.Id, countSent(extra, r))
	}
}

// A private message that the stopping actor had already written to the
// store, but not yet answered, is in the inbox the next actor loads. When
// the sender sends it again, it must not become a second message with a
// new id: clients drop a redelivery by its id, so they would show it twice.
func TestRerouteOfAStoredMessageDoesNotDuplicateIt(t *testing.T) {
	t.Parallel()
	h, gs, events, alice, bob := rerouteHarness(t)
	alice.expectSent(alice.dm("bob", "warm up")) // alice watches bob's actor
	bob.expectDeliver()
	gone := h.watch(bob.user)

	gs.hold() // the next write is applied, but not yet reported durable
	r := alice.dm("bob", "stored, unanswered")
	eventually(t, wait, "bob's actor to store the message", func() bool { return len(gs.enqueuedTexts()) == 2 })
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.StopDirective)
	expectMsg[*chatpb.EndSession](t, bob.p, wait)
	expectMsg[*actor.Terminated](t, gone, wait)
	gs.releaseWrites() // its completion goes to an actor that no longer exists

	sent := alice.expectSent(r)
	ids := deliveredIDs(t, h, "bob")
	extra := alice.sync()
	if got := ids["stored, unanswered"]; len(got) != 1 || got[0] != sent.Id || countSent(extra, r) != 0 {
		t.Fatalf("delivered under ids %v, receipt id %s, %d more receipts; stored texts %v",
			got, sent.Id, countSent(extra, r), gs.enqueuedTexts())
	}
}

// The store's completion of a write made by a stopped actor is posted to
// the actor's PID, which by then may name the fresh actor for the same
// user. That actor counted the message when it read its inbox's size at
// start, and meets it again in its sender's retry: it must take it in
// once, count it once, and answer it once.
func TestRerouteStaleCompletionReachesTheFreshActor(t *testing.T) {
	t.Parallel()
	h, gs, events, alice, bob := rerouteHarness(t)
	alice.expectSent(alice.dm("bob", "warm up"))
	bob.expectDeliver()
	gone := h.watch(bob.user)

	gs.hold()
	r := alice.dm("bob", "stored, unanswered")
	eventually(t, wait, "bob's actor to store the message", func() bool { return len(gs.enqueuedTexts()) == 2 })
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.StopDirective)
	expectMsg[*actor.Terminated](t, gone, wait)
	// alice sends it again; the fresh actor stores it again (a retry of a
	// stored message), and that completion waits behind the old one.
	eventually(t, wait, "the fresh actor to store the retry", func() bool { return len(gs.enqueuedTexts()) == 3 })
	gs.releaseWrites() // the old actor's completion arrives first
	sent := alice.expectSent(r)
	if got := h.chat.InboxDepth(); got != 2 { // "warm up" and this one
		t.Fatalf("InboxDepth %d, want 2", got)
	}

	next := h.connectQuiet("bob")
	ds := receiveN[*chatpb.Deliver](t, next.p, 2, wait) // "warm up", unconfirmed, then this one
	if ds[1].Message.Id != sent.Id {
		t.Fatalf("got %s, want %s", describe(ds[1]), sent.Id)
	}
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("after the stale completion: %v", extra)
	}
	if got := h.chat.InboxDepth(); got != 2 {
		t.Fatalf("InboxDepth %d once bob is back, want 2", got)
	}
	if extra := alice.sync(); countSent(extra, r) != 0 {
		t.Fatalf("a second receipt: %v", extra)
	}
}

// A route that the registry holds for a stopping actor reaches the fresh
// actor from the registry, and again from its sender, who was told that
// the actor it knew stopped. Both copies are one message: stored once,
// answered once. In-process messages are shared pointers, so the sender
// must not change the route it sent (to mark the second copy a retry)
// while the fresh actor may be reading the first copy: -race tells.
func TestRerouteOfARouteTheRegistryHeld(t *testing.T) {
	t.Parallel()
	h, gs, events, alice, bob := rerouteHarness(t)

	// The registry is busy while alice sends #0 and #1, so she does not
	// know bob's actor yet: both go through the registry. Then alice's
	// actor stalls before it handles #1, and the registry hands #0 to bob.
	zedIn, zedGo := h.busyRegistry("zed")
	await(t, zedIn, wait, "the registry to be busy")
	busy := alice.ref()
	aliceIn, aliceGo := alice.p.block(func(m any) bool {
		r, ok := m.(*chatpb.Refused)
		return ok && r.GetRef() == *busy
	})
	t.Cleanup(aliceGo)
	r0 := alice.dm("bob", "#0")
	alice.send(&chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: "stall", Ref: busy})
	r1 := alice.dm("bob", "#1")
	await(t, aliceIn, wait, "alice's actor to stall")
	zedGo()
	if d := bob.expectDeliver(); d.Message.Text != "#0" {
		t.Fatalf("bob: %s", describe(d))
	}

	// bob's actor fails for good and is held while it stops; meanwhile
	// alice sends #1, which the registry holds, and learns of bob's old
	// actor, which she watches.
	gone := h.watch(bob.user)
	release := holdStop(t, events, bob)
	aliceGo()
	alice.expectRefused(busy, chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST)
	alice.expectSent(r0)
	alice.sync()

	// alice stalls again, so that the registry's copy of #1 reaches the
	// fresh actor first; its write waits for the store meanwhile. Then
	// alice hears that bob's old actor stopped, and sends #1 again.
	busy = alice.ref()
	aliceIn, aliceGo = alice.p.block(func(m any) bool {
		r, ok := m.(*chatpb.Refused)
		return ok && r.GetRef() == *busy
	})
	t.Cleanup(aliceGo)
	alice.send(&chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: "stall", Ref: busy})
	await(t, aliceIn, wait, "alice's actor to stall again")
	gs.hold()
	release()
	expectMsg[*actor.Terminated](t, gone, wait)
	eventually(t, wait, "the fresh actor to take #1", func() bool {
		return slices.Contains(gs.enqueuedTexts(), "#1")
	})
	aliceGo()
	gs.releaseWrites()
	alice.expectRefused(busy, chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST)

	sent := alice.expectSent(r1)
	ids := deliveredIDs(t, h, "bob")
	extra := alice.sync()
	if got := ids["#1"]; len(got) != 1 || got[0] != sent.Id || countSent(extra, r1) != 0 {
		t.Fatalf("#1 delivered under ids %v, receipt %s, %d more receipts", got, sent.Id, countSent(extra, r1))
	}
}
