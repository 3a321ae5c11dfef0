package actors

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// The user actor through its Chat: sessions are probes attached with
// Chat.Connect, requests go to the user actor with the probe as sender, as
// the edge sends them.

// checkDM checks that d delivers the private message of receipt sent, from
// from to to with text.
func checkDM(t *testing.T, d *chatpb.Deliver, sent *chatpb.Sent, from, to, text string) {
	t.Helper()
	m := d.Message
	if m.Id != sent.Id || m.TsUnixMs != sent.TsUnixMs || m.From != from || m.To != to || m.Text != text ||
		m.Kind != chatpb.Kind_KIND_DM || d.Seq == 0 {
		t.Fatalf("delivery %s, want %s->%s %q id %s ts %d with a seq", describe(d), from, to, text, sent.Id, sent.TsUnixMs)
	}
}

func TestUserQueuesWhileOfflineAndDrainsFIFOOnConnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")

	var receipts []*chatpb.Sent
	for i := range 3 {
		h.clock.advance(time.Second)
		ref := alice.dm("bob", fmt.Sprintf("queued %d", i))
		sent := alice.expectSent(ref)
		if !sent.Queued || sent.TsUnixMs != h.clock.nowMs() {
			t.Fatalf("receipt %s: want queued, stamped %d", describe(sent), h.clock.nowMs())
		}
		receipts = append(receipts, sent)
	}
	expectNoMsg(t, bob.p, 0) // the old session gets nothing: Deliver would precede the receipt
	h.waitInbox("bob", receipts[0].Id, receipts[1].Id, receipts[2].Id)

	h.clock.advance(time.Minute)
	again := h.connectQuiet("bob") // checks the Welcome comes first
	newer := alice.dm("bob", "after reconnect")
	for i, sent := range receipts {
		d := again.expectDeliver()
		checkDM(t, d, sent, "alice", "bob", fmt.Sprintf("queued %d", i))
		if !d.Message.Offline || d.Redelivered {
			t.Fatalf("queued delivery %s: want offline, not redelivered", describe(d))
		}
	}
	newSent := alice.expectSent(newer)
	d := again.expectDeliver()
	checkDM(t, d, newSent, "alice", "bob", "after reconnect")
	if d.Message.Offline || newSent.Queued {
		t.Fatalf("a message to an online user marked offline/queued: %s, %s", describe(d), describe(newSent))
	}
	expectNoMsg(t, again.p, 0)
}

func TestUserConfirmRemovesFromInbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	var seqs []uint64
	var ids []string
	for i := range 3 {
		sent := alice.expectSent(alice.dm("bob", fmt.Sprint("m", i)))
		d := bob.expectDeliver()
		checkDM(t, d, sent, "alice", "bob", fmt.Sprint("m", i))
		seqs, ids = append(seqs, d.Seq), append(ids, sent.Id)
	}
	if !slices.IsSorted(seqs) || seqs[0] == seqs[2] {
		t.Fatalf("seqs %v do not grow", seqs)
	}
	h.waitInbox("bob", ids...) // written, not yet confirmed
	if got := h.chat.InboxDepth(); got != 3 {
		t.Fatalf("InboxDepth %d, want 3", got)
	}

	// A confirm from another session confirms nothing.
	stranger := h.probe("stranger")
	h.root().Send(bob.user, &chatpb.Confirm{Session: stranger.pid, UpTo: seqs[2]})
	bob.sync()
	if got := h.inboxIDs("bob"); !slices.Equal(got, ids) {
		t.Fatalf("a stranger's confirm changed the inbox: %v", got)
	}

	bob.confirm(seqs[1])
	h.waitInbox("bob", ids[2])
	if got := h.chat.InboxDepth(); got != 1 {
		t.Fatalf("InboxDepth %d, want 1", got)
	}

	// Only the unconfirmed one comes again on the next connection.
	bob.disconnect()
	next := h.connectQuiet("bob")
	d := next.expectDeliver()
	if d.Message.Id != ids[2] || !d.Redelivered {
		t.Fatalf("after reconnect: %s, want %s redelivered", describe(d), ids[2])
	}
	next.confirm(d.Seq)
	h.waitInbox("bob")
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("more deliveries: %v", extra)
	}
}

func TestUserRedeliversUnconfirmedToTheNextSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	var first []*chatpb.Deliver
	for i := range 2 {
		alice.expectSent(alice.dm("bob", fmt.Sprint("live ", i)))
		first = append(first, bob.expectDeliver())
	}
	bob.disconnect()
	queued := alice.expectSent(alice.dm("bob", "while away"))
	if !queued.Queued {
		t.Fatalf("receipt %s: want queued", describe(queued))
	}

	next := h.connectQuiet("bob")
	for _, was := range first {
		d := next.expectDeliver()
		if d.Message.Id != was.Message.Id || d.Message.TsUnixMs != was.Message.TsUnixMs || !d.Redelivered || d.Message.Offline {
			t.Fatalf("redelivery %s, want %s again with redelivered", describe(d), describe(was))
		}
	}
	d := next.expectDeliver()
	if d.Message.Id != queued.Id || d.Redelivered || !d.Message.Offline {
		t.Fatalf("queued delivery %s: want offline and not redelivered", describe(d))
	}
	next.confirm(d.Seq)
	h.waitInbox("bob")
	next.disconnect()
	last := h.connectQuiet("bob")
	if extra := last.sync(); len(extra) != 0 {
		t.Fatalf("confirmed messages delivered again: %v", extra)
	}
}

func TestUserDMToOneself(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectQuiet("alice")
	ref := alice.dm("alice", "note to self")
	d := alice.expectDeliver() // delivered before the receipt is sent
	sent := alice.expectSent(ref)
	checkDM(t, d, sent, "alice", "alice", "note to self")
	if sent.Queued || d.Message.Offline {
		t.Fatalf("a dm to oneself, online, was queued: %s", describe(sent))
	}
}

func TestUserDMToUnknownUserIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectQuiet("alice")
	ref := alice.dm("ghost", "hello?")
	alice.expectRefused(ref, chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER)
	if ids := h.inboxIDs("ghost"); len(ids) != 0 {
		t.Fatalf("stored for an unknown user: %v", ids)
	}
}

func TestUserQueueFull(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.QueueMax = 3 })
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	var ids []string
	for i := range 3 {
		ids = append(ids, alice.expectSent(alice.dm("bob", fmt.Sprint("q", i))).Id)
	}
	alice.expectRefused(alice.dm("bob", "one too many"), chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL)
	h.waitInbox("bob", ids...)

	// Once bob has confirmed them, there is room again.
	next := h.connectQuiet("bob")
	var seq uint64
	for range ids {
		seq = next.expectDeliver().Seq
	}
	next.confirm(seq)
	h.waitInbox("bob")
	sent := alice.expectSent(alice.dm("bob", "room again"))
	if d := next.expectDeliver(); d.Message.Id != sent.Id {
		t.Fatalf("got %s", describe(d))
	}
}

// rateLimited tunes a harness to a burst of 2 at 1 message a second, and
// to call a client flooding once it has been refused more than 2 times in
// 2 seconds.
func rateLimited(c *Config, _ *store.Memory) {
	c.MsgRate, c.MsgBurst, c.FloodFactor, c.FloodWindow = 1, 2, 2, 2*time.Second
}

// expectSayOutcome expects, in either order, alice's own copy of a public
// message and its receipt.
func expectSayOutcome(t *testing.T, s *session, ref *string) {
	t.Helper()
	var gotDeliver, gotSent bool
	for range 2 {
		r, ok := s.p.next(wait)
		if !ok {
			t.Fatalf("%s: say %q not answered", s.name, *ref)
		}
		switch m := r.msg.(type) {
		case *chatpb.Deliver:
			gotDeliver = true
		case *chatpb.Sent:
			gotSent = m.GetRef() == *ref
		default:
			t.Fatalf("%s: got %s after say %q", s.name, describe(m), *ref)
		}
	}
	if !gotDeliver || !gotSent {
		t.Fatalf("%s: say %q: deliver %v, receipt %v", s.name, *ref, gotDeliver, gotSent)
	}
}

func TestUserRateLimitRefusesThenEndsAFlooder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, rateLimited)
	alice := h.connectQuiet("alice")
	expectSayOutcome(t, alice, alice.say("one"))
	expectSayOutcome(t, alice, alice.say("two"))
	alice.expectRefused(alice.say("three"), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	alice.expectRefused(alice.dm("alice", "four"), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	if extra := alice.sync(); len(extra) != 0 {
		t.Fatalf("a refused message went out: %v", extra)
	}

	h.clock.advance(time.Second) // one token back
	expectSayOutcome(t, alice, alice.say("five"))

	flood := alice.say("six") // the third refusal within the 2 s window
	alice.expectRefused(flood, chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	end := expectMsg[*chatpb.EndSession](t, alice.p, wait)
	if end.Reason != chatpb.CloseReason_CLOSE_REASON_POLICY {
		t.Fatalf("flooder: %s, want POLICY", describe(end))
	}
	if extra := alice.sync(); len(extra) != 0 {
		t.Fatalf("after the flood: %v", extra)
	}
	if got := history(t, h, h.probe("q"), 50, ""); !slices.Equal(texts(got), []string{"one", "two", "five"}) {
		t.Fatalf("public messages %v, want only the admitted ones", texts(got))
	}
}

func TestUserRateLimitComesBeforeInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, rateLimited)
	alice := h.connectQuiet("alice")
	invalid := func(counts bool, code chatpb.ErrorCode) *string {
		ref := alice.ref()
		alice.send(&chatpb.Invalid{Code: code, Message: "bad", Ref: ref, Counts: counts})
		return ref
	}
	// An invalid say still costs a token...
	alice.expectRefused(invalid(true, chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT), chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT)
	expectSayOutcome(t, alice, alice.say("ok"))
	// ...so the burst is spent, and rate_limited is reported before invalid_text.
	alice.expectRefused(invalid(true, chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	// A request that is not a say or dm is not rate limited.
	alice.expectRefused(invalid(false, chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST), chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST)
}

func TestUserIdempotencyKeyAnswersTheOriginalReceipt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")

	first := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: first, Key: "k1"})
	sent := alice.expectSent(first)
	d := bob.expectDeliver()
	h.clock.advance(time.Minute)
	retry := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: retry, Key: "k1"})
	again := alice.expectSent(retry)
	if again.Id != sent.Id || again.TsUnixMs != sent.TsUnixMs || again.Queued != sent.Queued {
		t.Fatalf("retry receipt %s, want the original %s", describe(again), describe(sent))
	}
	if extra := bob.sync(); len(extra) != 0 {
		t.Fatalf("the retry was delivered again: %v", extra)
	}
	if ids := h.inboxIDs("bob"); !slices.Equal(ids, []string{d.Message.Id}) {
		t.Fatalf("bob's inbox %v, want one message", ids)
	}

	// A public message too.
	pub := alice.ref()
	alice.send(&chatpb.Say{Text: "hello all", Ref: pub, Key: "k2"})
	expectSayOutcome(t, alice, pub)
	dup := alice.ref()
	alice.send(&chatpb.Say{Text: "hello all", Ref: dup, Key: "k2"})
	alice.expectSent(dup)
	if got := history(t, h, h.probe("q"), 50, ""); !slices.Equal(texts(got), []string{"hello all"}) {
		t.Fatalf("public messages %v, want one", texts(got))
	}

	// Past the key's lifetime the same key is a new message.
	h.clock.advance(11 * time.Minute)
	late := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: late, Key: "k1"})
	if s := alice.expectSent(late); s.Id == sent.Id {
		t.Fatal("an expired key still answered the old receipt")
	}
}

func TestUserIdempotencyKeyRepeatedWhileInFlight(t *testing.T) {
	t.Parallel()
	var gs *gatedStore
	h := newHarness(t, func(c *Config, mem *store.Memory) {
		gs = newGatedStore(mem)
		c.Store = gs
	})
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")

	gs.hold() // the first write is not durable yet when the retry comes
	first, retry := alice.ref(), alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: first, Key: "k"})
	alice.send(&chatpb.Dm{To: "bob", Text: "once", Ref: retry, Key: "k"})
	extra := alice.sync() // both requests have been through alice's actor
	gs.releaseWrites()
	if len(extra) != 0 {
		t.Fatalf("answered before the write was durable: %v", extra)
	}

	a := alice.expectSent(first)
	b := alice.expectSent(retry)
	if a.Id != b.Id || a.TsUnixMs != b.TsUnixMs {
		t.Fatalf("receipts differ: %s and %s", describe(a), describe(b))
	}
	bob.expectDeliver()
	if extra := bob.sync(); len(extra) != 0 {
		t.Fatalf("delivered twice: %v", extra)
	}
	if texts := gs.enqueuedTexts(); len(texts) != 1 {
		t.Fatalf("stored %d times", len(texts))
	}
}

func TestUserRefusedKeyIsJudgedAfresh(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectQuiet("alice")
	ref := alice.ref()
	alice.send(&chatpb.Dm{To: "ghost", Text: "hi", Ref: ref, Key: "k"})
	alice.expectRefused(ref, chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER)
	ghost := h.connectQuiet("ghost")
	ref = alice.ref()
	alice.send(&chatpb.Dm{To: "ghost", Text: "hi", Ref: ref, Key: "k"})
	sent := alice.expectSent(ref)
	checkDM(t, ghost.expectDeliver(), sent, "alice", "ghost", "hi")
}

// Private messages from one sender to one recipient must arrive in the
// order sent (docs/protocol.md, "Ordering and delivery"). A sender's first
// messages to a peer go through the registry; once the registry says where
// it sent one, later ones may go straight to the peer. The registry can be
// slow to forward a second message (here it is held busy, as a wave of
// connections would keep it); a third must not overtake it by going direct.
func TestUserDMOrderHoldsWhileTheRegistryIsBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	alice := h.connectQuiet("alice")
	busy := h.busyRegistry

	zedIn, zedGo := busy("zed")
	await(t, zedIn, wait, "the registry to be busy")
	r1 := alice.dm("bob", "1")
	alice.sync()
	yanIn, yanGo := busy("yan")
	r2 := alice.dm("bob", "2")
	alice.sync() // the registry's mailbox: zed (running), #1, yan, #2

	zedGo()
	await(t, yanIn, wait, "the registry to be busy again")
	alice.sync() // alice knows where #1 went: bob's actor
	r3 := alice.dm("bob", "3")
	alice.sync()
	yanGo()

	receipts := receiveN[*chatpb.Sent](t, alice.p, 3, wait) // in any order
	var refs []string
	for _, r := range receipts {
		refs = append(refs, r.GetRef())
	}
	for _, want := range []*string{r1, r2, r3} {
		if !slices.Contains(refs, *want) {
			t.Fatalf("receipts %v, want one for %s", refs, *want)
		}
	}
	var got []string
	for range 3 {
		got = append(got, bob.expectDeliver().Message.Text)
	}
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("bob got alice's messages in the order %v, want 1 2 3", got)
	}
}

// A long inbox is written to a new session a window at a time; each
// confirmation lets more follow, in order, and a message that arrives
// meanwhile waits its turn behind the queued ones.
func TestUserDeliveryWindowDrainsAtTheConfirmPace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.DeliveryWindow = 3 })
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	var want []string
	for i := range 5 {
		want = append(want, alice.expectSent(alice.dm("bob", fmt.Sprint("q", i))).Id)
	}

	next := h.connectQuiet("bob")
	var got []*chatpb.Deliver
	take := func(n int) {
		t.Helper()
		got = append(got, receiveN[*chatpb.Deliver](t, next.p, n, wait)...)
		if extra := next.sync(); len(extra) != 0 {
			t.Fatalf("more than the window allows: %v", extra)
		}
	}
	take(3)
	want = append(want, alice.expectSent(alice.dm("bob", "live")).Id)
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("a new message jumped the window: %v", extra)
	}
	next.confirm(got[1].Seq)
	take(2)
	next.confirm(got[4].Seq)
	take(1)
	for i, d := range got {
		if d.Message.Id != want[i] {
			t.Fatalf("delivery %d is %s, want id %s", i, describe(d), want[i])
		}
	}
	next.confirm(got[5].Seq)
	h.waitInbox("bob")
}

// The window also counts bytes, so an inbox of long messages does not go
// out all at once either: what is written unconfirmed stops at the byte
// window, and the rest follows the confirmation.
func TestUserDeliveryWindowCountsBytes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	const n = 80
	long := strings.Repeat("x", 4000)
	for range n {
		alice.expectSent(alice.dm("bob", long))
	}
	window := 0 // pump writes while the bytes written are under windowBytes
	for written := 0; written < windowBytes; written += frameCost(&chatpb.Message{From: "alice", To: "bob", Text: long}) {
		window++
	}
	next := h.connectQuiet("bob")
	first := receiveN[*chatpb.Deliver](t, next.p, window, wait)
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("%d long messages written past the first %d, unconfirmed", len(extra), window)
	}
	next.confirm(first[window-1].Seq)
	rest := receiveN[*chatpb.Deliver](t, next.p, n-window, wait)
	next.confirm(rest[len(rest)-1].Seq)
	h.waitInbox("bob")
}

// The edge undoes a Connect that timed out by sending Disconnect, with the
// user's name, to the registry, which hands it to the user's actor.
func TestUserDisconnectThroughTheRegistry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connect("alice")
	bob := h.connectQuiet("bob")
	expectMsg[*chatpb.Presence](t, alice.p, wait)

	h.root().Send(h.chat.deps.registry, &chatpb.Disconnect{Session: bob.p.pid, User: "bob"})
	if p := expectMsg[*chatpb.Presence](t, alice.p, wait); p.User != "bob" || p.Online {
		t.Fatalf("alice: %s, want bob offline", describe(p))
	}
	if sent := alice.expectSent(alice.dm("bob", "queued")); !sent.Queued {
		t.Fatalf("receipt %s: want queued", describe(sent))
	}
	expectNoMsg(t, bob.p, 0)
}
