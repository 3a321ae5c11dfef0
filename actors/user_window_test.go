package actors

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// An inbox far larger than the delivery window: it waits in the store, and
// the recipient's actor holds a window and its read-ahead at most, reading
// the rest a page at a time as the client confirms. What the store does
// not let in (its caps) is refused to the sender, never dropped.

// smallWindow tunes a harness to a delivery window of 8.
func smallWindow(c *Config, _ *store.Memory) { c.DeliveryWindow = 8 }

// queueFor has from send n private messages to to, who is offline, and
// returns their ids in the order sent.
func queueFor(t *testing.T, from *session, to string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		sent := from.expectSent(from.dm(to, fmt.Sprint("queued ", i)))
		if !sent.Queued {
			t.Fatalf("message %d: receipt %s, want queued", i, describe(sent))
		}
		ids[i] = sent.Id
	}
	return ids
}

// drain receives n deliveries on s a window at a time, confirming each
// window once all of it has arrived and checking that nothing more was
// written unconfirmed, and that the actors never hold more than a window
// and its read-ahead. It returns the deliveries in the order received.
func drain(t *testing.T, h *harness, s *session, n int) []*chatpb.Deliver {
	t.Helper()
	window := h.chat.deps.cfg.DeliveryWindow
	holdMax := (&user{deps: h.chat.deps}).holdMax()
	var got []*chatpb.Deliver
	for len(got) < n {
		batch := receiveN[*chatpb.Deliver](t, s.p, min(window, n-len(got)), wait)
		if extra := s.sync(); len(extra) != 0 {
			t.Fatalf("after %d deliveries, %d more written unconfirmed: %v", len(got)+len(batch), len(extra), extra)
		}
		if held := h.chat.HeldMessages(); held < int64(len(batch)) || held > int64(holdMax) {
			t.Fatalf("after %d deliveries the actors hold %d messages; the window is %d, with its read-ahead %d",
				len(got)+len(batch), held, len(batch), holdMax)
		}
		got = append(got, batch...)
		s.confirm(batch[len(batch)-1].Seq)
	}
	return got
}

// deliveredIDsOf returns the ids of ds, in order.
func deliveredIDsOf(ds []*chatpb.Deliver) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Message.Id
	}
	return out
}

// A long inbox drains oldest first across many confirmations, while the
// actor holds a window and a read-ahead of it, never the inbox; offline,
// it holds nothing, and the count of what waits comes from the store.
func TestUserDrainsAnInboxFarLargerThanTheWindow(t *testing.T) {
	h := newHarness(t, smallWindow)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	const n = 300
	ids := queueFor(t, alice, "bob", n)
	if held, depth := h.chat.HeldMessages(), h.chat.InboxDepth(); held != 0 || depth != n {
		t.Fatalf("bob offline: %d messages held, inbox depth %d; want none held, %d waiting", held, depth, n)
	}

	next := h.connectQuiet("bob")
	got := drain(t, h, next, n)
	if !slices.Equal(deliveredIDsOf(got), ids) {
		t.Fatalf("delivered in the order %v, want %v", deliveredIDsOf(got), ids)
	}
	for _, d := range got {
		if d.Redelivered || !d.Message.Offline {
			t.Fatalf("delivery %s: want offline, not redelivered", describe(d))
		}
	}
	h.waitInbox("bob")
	eventually(t, wait, "nothing held or waiting", func() bool {
		return h.chat.HeldMessages() == 0 && h.chat.InboxDepth() == 0
	})
}

// A user actor that fails while its session drains a long inbox comes
// back with the session: what it had written and not had confirmed is not
// written again to the same session, a confirm that reaches the fresh
// incarnation before it has read its window again still counts, and the
// rest follows in order, each message once.
func TestUserRestartMidDrain(t *testing.T) {
	h := newHarness(t, func(c *Config, m *store.Memory) { smallWindow(c, m); c.DebugFaults = true })
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	const n = 50
	ids := queueFor(t, alice, "bob", n)

	next := h.connectQuiet("bob")
	first := receiveN[*chatpb.Deliver](t, next.p, 8, wait)
	next.confirm(first[3].Seq)
	second := receiveN[*chatpb.Deliver](t, next.p, 4, wait) // the window's room, refilled
	next.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, next.user, actor.RestartDirective)
	next.confirm(second[3].Seq) // perhaps before the fresh incarnation has read its window
	rest := drain(t, h, next, n-12)

	got := append(append(first, second...), rest...)
	if !slices.Equal(deliveredIDsOf(got), ids) {
		t.Fatalf("delivered in the order %v, want %v", deliveredIDsOf(got), ids)
	}
	h.waitInbox("bob")
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("after the drain: %v", extra)
	}
}

// A user whose actor passivates in the middle of a drain gets, on the
// next connection, exactly what was not confirmed, oldest first, from a
// fresh actor that reads it from the store.
func TestUserPassivationMidDrain(t *testing.T) {
	h := newHarness(t, smallWindow)
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	const n = 40
	ids := queueFor(t, alice, "bob", n)

	next := h.connectQuiet("bob")
	first := receiveN[*chatpb.Deliver](t, next.p, 8, wait)
	next.confirm(first[3].Seq)
	receiveN[*chatpb.Deliver](t, next.p, 4, wait) // written, never confirmed
	next.disconnect()
	h.passivate(next.user)
	if held, depth := h.chat.HeldMessages(), h.chat.InboxDepth(); held != 0 || depth != 0 {
		t.Fatalf("bob passivated: %d held, depth %d; want nothing in memory", held, depth)
	}

	again := h.connectQuiet("bob")
	got := drain(t, h, again, n-4)
	if !slices.Equal(deliveredIDsOf(got), ids[4:]) {
		t.Fatalf("after passivation delivered %v, want %v", deliveredIDsOf(got), ids[4:])
	}
	h.waitInbox("bob")
}

// newCappedHarness is newHarness on a memory store with the given caps.
func newCappedHarness(t *testing.T, caps store.Config, tune func(*Config)) *harness {
	t.Helper()
	clock := newFakeClock()
	caps.Now = clock.now
	mem := store.NewMemory(caps)
	cfg := Config{Store: mem, Clock: clock.now, MsgRate: NoRateLimit}
	if tune != nil {
		tune(&cfg)
	}
	return startHarness(t, cfg, mem, clock)
}

// Past the store's cap a private message is refused with storage_full,
// with no receipt and nothing stored, its idempotency key included: once
// there is room, the same key sends the message, even after the sender's
// actor has reloaded its keys from the store.
func TestUserStorageCapRefusesWithStorageFull(t *testing.T) {
	h := newCappedHarness(t, store.Config{MaxQueuedBytes: 3500}, func(c *Config) { c.DebugFaults = true })
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	text := strings.Repeat("x", 1000) // three fit under the cap, four do not
	var ids []string
	for range 3 {
		ids = append(ids, alice.expectSent(alice.dm("bob", text)).Id)
	}
	ref := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: text, Ref: ref, Key: "k"})
	alice.expectRefused(ref, chatpb.ErrorCode_ERROR_CODE_STORAGE_FULL)
	h.waitInbox("bob", ids...)

	alice.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, alice.user, actor.RestartDirective)
	next := h.connectQuiet("bob")
	next.confirm(receiveN[*chatpb.Deliver](t, next.p, 3, wait)[2].Seq)
	h.waitInbox("bob")
	again := alice.ref()
	alice.send(&chatpb.Dm{To: "bob", Text: text, Ref: again, Key: "k"})
	sent := alice.expectSent(again)
	if d := next.expectDeliver(); d.Message.Id != sent.Id || slices.Contains(ids, sent.Id) {
		t.Fatalf("the message sent again with the refused key: %s, receipt %s", describe(d), describe(sent))
	}
}

// Past its own cap a sender's private messages to others are refused with
// queue_full, whoever they are for; others' messages, and the sender's to
// itself, still go, and delivery makes room again.
func TestUserSenderCapRefusesWithQueueFull(t *testing.T) {
	h := newCappedHarness(t, store.Config{SenderMaxBytes: 3500}, nil)
	for _, name := range []string{"bob", "dave"} {
		h.connectQuiet(name).disconnect()
	}
	alice, carol := h.connectQuiet("alice"), h.connectQuiet("carol")
	text := strings.Repeat("x", 1000)
	for _, to := range []string{"bob", "bob", "dave"} {
		alice.expectSent(alice.dm(to, text))
	}
	alice.expectRefused(alice.dm("dave", text), chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL)
	carol.expectSent(carol.dm("bob", text))
	self := alice.dm("alice", text)
	alice.expectDeliver()
	alice.expectSent(self)

	next := h.connectQuiet("bob")
	ds := receiveN[*chatpb.Deliver](t, next.p, 3, wait)
	next.confirm(ds[2].Seq)
	h.waitInbox("bob")
	alice.expectSent(alice.dm("dave", text))
}

// queue_full goes by the count of what the store holds, which a fresh
// actor reads at start: the actor holds none of the queue, yet the queue
// stays bounded.
func TestUserQueueFullCountsWhatTheStoreHolds(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.QueueMax = 3 })
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	queueFor(t, alice, "bob", 3)
	h.passivate(bob.user)
	alice.expectRefused(alice.dm("bob", "one too many"), chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL)
	if held := h.chat.HeldMessages(); held != 0 {
		t.Fatalf("%d messages held for an offline user", held)
	}
}

// The server stops in the middle of a drain, on the durable store: the
// next server delivers what was not confirmed, oldest first, once each;
// what had been written and not confirmed comes again.
func TestUserServerRestartMidDrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	clock := newFakeClock()
	open := func() Config {
		st, err := store.OpenBolt(path, store.Config{Now: clock.now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return Config{Store: st, Clock: clock.now, MsgRate: NoRateLimit, DeliveryWindow: 8}
	}
	c, err := Start(open())
	if err != nil {
		t.Fatal(err)
	}
	first := &harness{t: t, chat: c, clock: clock}
	bob := first.connectQuiet("bob")
	bob.disconnect()
	alice := first.connectQuiet("alice")
	const n = 40
	ids := queueFor(t, alice, "bob", n)
	next := first.connectQuiet("bob")
	got := receiveN[*chatpb.Deliver](t, next.p, 8, wait)
	next.confirm(got[3].Seq)
	receiveN[*chatpb.Deliver](t, next.p, 4, wait) // written, never confirmed
	// bob's actor has handled the confirm: its ack is on its way to the
	// store, which Stop drains.
	next.sync()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	h := startHarness(t, open(), nil, clock)
	again := h.connectQuiet("bob")
	rest := drain(t, h, again, n-4)
	if !slices.Equal(deliveredIDsOf(rest), ids[4:]) {
		t.Fatalf("after the restart delivered %v, want %v", deliveredIDsOf(rest), ids[4:])
	}
	eventually(t, wait, "bob's inbox to empty", func() bool { return h.chat.InboxDepth() == 0 })
}
