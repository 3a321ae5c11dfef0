package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

func debugFaults(c *Config, _ *store.Memory) { c.DebugFaults = true }

// expectSupervision expects the next supervision event to be about the
// user actor of s, with directive d.
func expectSupervision(t *testing.T, events *probe, who *actor.PID, d actor.Directive) {
	t.Helper()
	e := expectMsg[*actor.SupervisorEvent](t, events, wait)
	if !e.Child.Equal(who) || e.Directive != d {
		t.Fatalf("supervision event about %v, %v; want %v, %v", e.Child, e.Directive, who, d)
	}
}

func TestSupervisionRestartKeepsTheSessionAttached(t *testing.T) {
	t.Parallel()
	h := newHarness(t, debugFaults)
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	s1 := alice.expectSent(alice.dm("bob", "before"))
	d1 := bob.expectDeliver()

	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.RestartDirective)

	s2 := alice.expectSent(alice.dm("bob", "after"))
	d2 := bob.expectDeliver() // not "before" again: it was written to this very session
	checkDM(t, d2, s2, "alice", "bob", "after")
	if d2.Redelivered || d2.Seq <= d1.Seq {
		t.Fatalf("after the restart: %s (seq before: %d)", describe(d2), d1.Seq)
	}
	if extra := bob.sync(); len(extra) != 0 { // replies still reach the session
		t.Fatalf("extra messages after the restart: %v", extra)
	}
	bob.confirm(d2.Seq) // the delivery marks survived too
	h.waitInbox("bob")
	if s1.Id == s2.Id {
		t.Fatal("two messages share an id")
	}
	if got := h.chat.InboxDepth(); got != 0 {
		t.Fatalf("InboxDepth %d, want 0", got)
	}
}

func TestSupervisionRestartKeepsTheQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, debugFaults)
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	var queued []*chatpb.Sent
	for _, text := range []string{"q1", "q2"} {
		queued = append(queued, alice.expectSent(alice.dm("bob", text)))
	}

	h.root().Send(bob.user, &chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.RestartDirective)

	next := h.connectQuiet("bob")
	if !next.user.Equal(bob.user) {
		t.Fatalf("a restart changed the actor's PID: %v, was %v", next.user, bob.user)
	}
	for i, text := range []string{"q1", "q2"} {
		d := next.expectDeliver()
		checkDM(t, d, queued[i], "alice", "bob", text)
		if !d.Message.Offline || d.Redelivered {
			t.Fatalf("queued message after a restart: %s", describe(d))
		}
	}
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("extra messages: %v", extra)
	}
}

func TestSupervisionRestartKeepsIdempotencyKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, debugFaults)
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	ref := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: ref, Key: "k"})
	sent := alice.expectSent(ref)
	bob.expectDeliver()

	alice.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, alice.user, actor.RestartDirective)
	ref = alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: ref, Key: "k"})
	if again := alice.expectSent(ref); again.Id != sent.Id || again.TsUnixMs != sent.TsUnixMs {
		t.Fatalf("retry after a restart: %s, want the original %s", describe(again), describe(sent))
	}
	if extra := bob.sync(); len(extra) != 0 {
		t.Fatalf("the retry was delivered again: %v", extra)
	}
}

func TestSupervisionGivesUpAfterTheRestartLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.DebugFaults, c.RestartLimit = true, 2
	})
	events := h.supervisionEvents()
	alice := h.connect("alice") // sees presence
	bob := h.connectQuiet("bob")
	if p := expectMsg[*chatpb.Presence](t, alice.p, wait); p.User != "bob" || !p.Online {
		t.Fatalf("alice: %s", describe(p))
	}
	sent := alice.expectSent(alice.dm("bob", "unconfirmed"))
	bob.expectDeliver()

	for range 2 {
		bob.send(&chatpb.DebugPanic{})
		expectSupervision(t, events, bob.user, actor.RestartDirective)
	}
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.StopDirective)
	end := expectMsg[*chatpb.EndSession](t, bob.p, wait)
	if end.Reason != chatpb.CloseReason_CLOSE_REASON_INTERNAL || end.Code != chatpb.ErrorCode_ERROR_CODE_INTERNAL {
		t.Fatalf("bob's session: %s, want INTERNAL", describe(end))
	}
	if p := expectMsg[*chatpb.Presence](t, alice.p, wait); p.User != "bob" || p.Online {
		t.Fatalf("alice: %s, want bob offline", describe(p))
	}

	// A new connection gets a fresh actor, which loads the inbox from the
	// store: the unconfirmed message comes again.
	next := h.connectQuiet("bob")
	d := next.expectDeliver()
	if d.Message.Id != sent.Id || d.Message.TsUnixMs != sent.TsUnixMs || !d.Redelivered {
		t.Fatalf("after the stop: %s, want %s redelivered", describe(d), sent.Id)
	}
	// Fresh: its restart count starts again, so one panic is a restart.
	next.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, next.user, actor.RestartDirective)
	next.confirm(d.Seq)
	h.waitInbox("bob")
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("after the fresh actor's restart: %v", extra)
	}
}

// InboxDepth counts each user's inbox once: a user actor that the
// supervisor stopped must take its share with it, since the fresh actor
// that replaces it counts the same inbox again.
func TestSupervisionStopKeepsInboxDepthRight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.DebugFaults, c.RestartLimit = true, 1
	})
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	alice.expectSent(alice.dm("bob", "unconfirmed"))
	bob.expectDeliver()
	if got := h.chat.InboxDepth(); got != 1 {
		t.Fatalf("InboxDepth %d, want 1", got)
	}
	for _, d := range []actor.Directive{actor.RestartDirective, actor.StopDirective} {
		bob.send(&chatpb.DebugPanic{})
		expectSupervision(t, events, bob.user, d)
	}
	expectMsg[*chatpb.EndSession](t, bob.p, wait)
	next := h.connectQuiet("bob")
	d := next.expectDeliver()
	if got := h.chat.InboxDepth(); got != 1 {
		t.Fatalf("InboxDepth %d with one message in one inbox", got)
	}
	next.confirm(d.Seq)
	h.waitInbox("bob")
	next.sync()
	if got := h.chat.InboxDepth(); got != 0 {
		t.Fatalf("InboxDepth %d with every inbox empty", got)
	}
}

func TestDebugPanicIsUnknownWithoutDebugFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	events := h.supervisionEvents()
	alice := h.connectQuiet("alice")
	alice.send(&chatpb.DebugPanic{})
	r := expectMsg[*chatpb.Refused](t, alice.p, wait)
	if r.Code != chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND {
		t.Fatalf("got %s, want UNKNOWN_COMMAND", describe(r))
	}
	alice.sync()
	expectNoMsg(t, events, 0)
}

func TestSessionTakeover(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connect("alice")
	bob := h.connectQuiet("bob")
	expectMsg[*chatpb.Presence](t, alice.p, wait)
	sent := alice.expectSent(alice.dm("bob", "in flight"))
	first := bob.expectDeliver() // written, never confirmed

	next := h.connectQuiet("bob")
	if !slices.Equal(next.welcome.Users, []string{"alice", "bob"}) || next.welcome.Online != 2 {
		t.Fatalf("takeover welcome: %s", describe(next.welcome))
	}
	end := expectMsg[*chatpb.EndSession](t, bob.p, wait)
	if end.Reason != chatpb.CloseReason_CLOSE_REASON_REPLACED || end.Code != chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED {
		t.Fatalf("old session: %s, want REPLACED / SESSION_REPLACED", describe(end))
	}
	d := next.expectDeliver()
	if d.Message.Id != sent.Id || d.Message.TsUnixMs != first.Message.TsUnixMs || !d.Redelivered {
		t.Fatalf("new session: %s, want %s redelivered", describe(d), sent.Id)
	}

	// The old connection ends: its Disconnect and its late confirm change
	// nothing.
	bob.disconnect()
	h.root().Send(bob.user, &chatpb.Confirm{Session: bob.p.pid, UpTo: first.Seq})
	if extra := alice.sync(); len(extra) != 0 {
		t.Fatalf("alice saw the takeover: %v", extra)
	}
	if u := who(t, h, h.probe("q"), ""); !slices.Equal(u.Users, []string{"alice", "bob"}) {
		t.Fatalf("who after the old session's disconnect: %v", u.Users)
	}
	sent2 := alice.expectSent(alice.dm("bob", "later"))
	checkDM(t, next.expectDeliver(), sent2, "alice", "bob", "later")
	expectNoMsg(t, bob.p, 0)
	h.waitInbox("bob", sent.Id, sent2.Id)
}

// stopWithSessionHeld drives bob's user actor to its restart limit (1) and
// holds it inside its stopping handler; see holdStop.
func stopWithSessionHeld(t *testing.T, h *harness, events *probe, bob *session) func() {
	t.Helper()
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.RestartDirective)
	return holdStop(t, events, bob)
}

// holdStop makes bob's user actor, which has no restart left, fail, and
// holds it inside its stopping handler, at the point where it tells its
// session to end; the returned function lets it finish stopping. Anything
// that reaches the actor from then on arrives while it is being stopped.
func holdStop(t *testing.T, events *probe, bob *session) func() {
	t.Helper()
	entered, release := bob.p.block(func(m any) bool { _, ok := m.(*chatpb.EndSession); return ok })
	t.Cleanup(release)
	bob.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, bob.user, actor.StopDirective)
	await(t, entered, wait, "bob's actor to stop")
	return release
}

// A private message that reaches a user actor while its supervisor stops it
// is dropped with the actor's mailbox. Its sender must still get an answer:
// otherwise the request is never answered, and its idempotency key stays in
// flight, so that every retry with the same key waits for an answer that
// never comes.
func TestSupervisionStopLeavesNoRequestUnanswered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.DebugFaults, c.RestartLimit = true, 1
	})
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	alice.expectSent(alice.dm("bob", "warm up")) // alice now holds bob's PID
	bob.expectDeliver()

	release := stopWithSessionHeld(t, h, events, bob)
	caught := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "caught", Ref: caught, Key: "k"})
	alice.sync() // alice's actor has sent it to bob's
	release()
	expectMsg[*chatpb.EndSession](t, bob.p, wait)

	r, ok := alice.p.next(wait)
	if !ok {
		t.Fatal("a dm sent as its recipient's actor stopped was never answered")
	}
	switch m := r.msg.(type) {
	case *chatpb.Sent:
		if m.GetRef() != *caught {
			t.Fatalf("receipt %s, want one for %q", describe(m), *caught)
		}
	case *chatpb.Refused:
		if m.GetRef() != *caught {
			t.Fatalf("refusal %s, want one for %q", describe(m), *caught)
		}
	default:
		t.Fatalf("got %s, want an answer to %q", describe(m), *caught)
	}
	retry := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "caught", Ref: retry, Key: "k"})
	if r, ok := alice.p.next(wait); !ok {
		t.Fatal("a retry with the same key was never answered")
	} else if s, isSent := r.msg.(*chatpb.Sent); !isSent || s.GetRef() != *retry {
		t.Fatalf("retry: %s, want a receipt", describe(r.msg))
	}
}

// A reconnect that reaches the registry while the user's actor is being
// stopped (the client was just told to reconnect) must not be forwarded to
// the stopping actor, where it would be lost with the mailbox and Connect
// would fail after AskTimeout.
func TestSupervisionReconnectDuringStopSucceeds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.DebugFaults, c.RestartLimit, c.AskTimeout = true, 1, time.Second
	})
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	release := stopWithSessionHeld(t, h, events, bob)

	// What Chat.Connect does, with the request sent before the barrier.
	next := h.probe("bob-next")
	answer := h.root().RequestFuture(h.chat.deps.registry,
		&chatpb.Connect{User: "bob", Session: next.pid}, h.chat.deps.cfg.AskTimeout)
	// A refused route is a barrier through the registry: it has handled the
	// Connect by the time it answers this.
	route(t, h, h.probe("barrier"), "nobody")
	release()
	res, err := answer.Result()
	if err != nil {
		t.Fatalf("reconnect while the old actor stopped: %v", err)
	}
	if c, ok := res.(*chatpb.Connected); !ok || c.User.Id != "registry/bob" {
		t.Fatalf("reconnect: %s", describe(res))
	}
	expectMsg[*chatpb.Welcome](t, next, wait)
}
