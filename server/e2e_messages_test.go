package server_test

// docs/protocol.md, "What the server sends" and "Ordering and delivery":
// public and private messages, offline queues, who, history, idempotency
// keys and confirmed delivery.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/wire"
)

func TestE2EPublicMessageReachesEveryone(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	bob, carol := join(t, e, "bob"), join(t, e, "carol")
	expectPresence(t, bob, "carol", true)
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	expectPresence(t, carol, "alice", true)

	sent, own := alice.sayBoth(t, "hi all", "r1")
	checkTS(t, "sent", sent.TS)
	if own.Kind != "public" || own.From != "alice" || own.To != "" || own.Offline || own.Redelivered {
		t.Errorf("own copy %s", own.Raw)
	}
	for _, c := range []*client{bob, carol} {
		m := c.expect(t, "message")
		if m.ID != sent.ID || m.TS != sent.TS || m.Kind != "public" || m.From != "alice" || m.Text != "hi all" {
			t.Errorf("%s got %s, want the message of receipt %s", c.user, m.Raw, sent.Raw)
		}
		if m.Ref != nil {
			t.Errorf("%s: a delivered message carries the sender's ref: %s", c.user, m.Raw)
		}
	}
}

func TestE2EDirectMessageReachesOnlyItsRecipient(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	bob, carol := join(t, e, "bob"), join(t, e, "carol")
	expectPresence(t, bob, "carol", true)
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	expectPresence(t, carol, "alice", true)

	s := alice.dm(t, "BOB", "psst", "d1") // "to" is folded like a name
	checkTS(t, "sent", s.TS)
	if s.Queued {
		t.Errorf("receipt %s says queued, but bob is online", s.Raw)
	}
	m := bob.expect(t, "message")
	if m.Kind != "dm" || m.From != "alice" || m.To != "bob" || m.Text != "psst" || m.ID != s.ID || m.TS != s.TS || m.Offline {
		t.Errorf("bob got %s, want the dm of receipt %s", m.Raw, s.Raw)
	}
	// Neither the third party nor the sender gets a copy: the next thing
	// each sees is a later public message.
	carol.expectNothing(t, quiet)
	carol.say(t, "barrier", "b")
	for _, c := range []*client{alice, bob} {
		if f := c.expect(t, "message"); f.Text != "barrier" {
			t.Errorf("%s got %s, want only the barrier", c.user, f.Raw)
		}
	}
}

func TestE2EDirectMessageToOneself(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	alice := join(t, e, "alice")
	alice.sendFrame(t, dmFrame("alice", "note to self", "me"))
	var sent, msg frame
	for range 2 { // receipt and message, in either order
		switch f := alice.recv(t); f.Type {
		case "sent":
			sent = f
		case "message":
			msg = f
		default:
			t.Fatalf("got %s", f.Raw)
		}
	}
	if !refIs(sent, "me") || msg.ID != sent.ID || msg.Kind != "dm" || msg.From != "alice" || msg.To != "alice" {
		t.Errorf("dm to oneself: receipt %s, message %s", sent.Raw, msg.Raw)
	}
}

// knownOffline makes name known to the server and offline again, as seen
// by watcher.
func knownOffline(t *testing.T, e *env, name string, watcher *client) {
	t.Helper()
	c := join(t, e, name)
	expectPresence(t, watcher, name, true)
	c.leave(t)
	expectPresence(t, watcher, name, false)
}

func TestE2EOfflineQueueDeliveredOnReconnect(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := startServer(t, withActors(func(c *actors.Config) { c.Clock = clock.Now }))
	alice := join(t, e, "alice")
	knownOffline(t, e, "bob", alice)

	var receipts []frame
	for i := range 3 {
		s := alice.dm(t, "bob", fmt.Sprintf("queued %d", i), fmt.Sprint(i))
		if !s.Queued {
			t.Errorf("receipt %s, want queued:true for an offline recipient", s.Raw)
		}
		if want := fmt.Sprintf("2026-11-28T12:00:0%d.123Z", i); s.TS != want {
			t.Errorf("receipt %s, want ts %s (the clock's UTC time, in ms)", s.Raw, want)
		}
		receipts = append(receipts, s)
		clock.Advance(time.Second)
	}
	clock.Advance(time.Hour) // an offline delivery keeps the stored stamp
	bob := dial(t, e, "bob")
	alice.sendFrame(t, dmFrame("bob", "live", "live")) // races with bob's reconnect
	bob.expect(t, "welcome")
	for i, r := range receipts {
		m := bob.expect(t, "message")
		if m.ID != r.ID || m.TS != r.TS || !m.Offline || m.Text != fmt.Sprintf("queued %d", i) || m.From != "alice" {
			t.Errorf("queued dm %d: got %s, want id %s ts %s offline", i, m.Raw, r.ID, r.TS)
		}
		if m.Redelivered {
			t.Errorf("queued dm %d was never written before, but is marked redelivered: %s", i, m.Raw)
		}
	}
	live := bob.expect(t, "message") // after everything queued
	if s := alice.expectFrame(t, "receipt", func(f frame) bool { return f.Type == "sent" }); live.ID != s.ID || live.Text != "live" {
		t.Errorf("after the queue: %s, want the dm of receipt %s", live.Raw, s.Raw)
	}
}

func TestE2EWho(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	for _, n := range []string{"mike", "zed", "bob"} {
		join(t, e, n)
	}
	alice := join(t, e, "alice")
	cases := []struct {
		after string
		want  []string
	}{
		{"", []string{"alice", "bob", "mike", "zed"}},
		{"bob", []string{"mike", "zed"}},
		{"BOB", []string{"mike", "zed"}},
		{"c", []string{"mike", "zed"}},
		{"zed", []string{}},
		{"zzz", []string{}},
	}
	for _, tc := range cases {
		u := alice.who(t, tc.after, "after "+tc.after)
		if !slices.Equal(u.Users, tc.want) || u.Online != 4 {
			t.Errorf("who after %q: %s, want %v, online 4", tc.after, u.Raw, tc.want)
		}
		if len(tc.want) == 0 && !strings.Contains(u.Raw, `"users":[]`) {
			t.Errorf("who after %q: %s, want \"users\":[]", tc.after, u.Raw)
		}
	}
}

func TestE2EHistory(t *testing.T) {
	t.Parallel()
	e := startServer(t, noRateLimit())
	bob := join(t, e, "bob")
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	alice.dm(t, "bob", "private, not history", "dm")
	var sent []frame
	for i := range 60 {
		s := alice.say(t, fmt.Sprintf("public %d", i), fmt.Sprint(i))
		sent = append(sent, s)
	}
	checkPage := func(req, ref string, want []frame) {
		t.Helper()
		alice.sendText(t, req)
		h := alice.expect(t, "history")
		if !refIs(h, ref) {
			t.Errorf("%s: %s, want ref %q", req, h.Raw, ref)
		}
		if len(h.Messages) != len(want) {
			t.Fatalf("%s: %d messages, want %d", req, len(h.Messages), len(want))
		}
		for i, m := range h.Messages {
			if m.Type != "message" || m.Kind != "public" || m.ID != want[i].ID || m.TS != want[i].TS || m.From != "alice" {
				t.Errorf("%s: message %d is %+v, want id %s ts %s", req, i, m, want[i].ID, want[i].TS)
			}
		}
		if len(want) == 0 && !strings.Contains(h.Raw, `"messages":[]`) {
			t.Errorf("%s: %s, want \"messages\":[]", req, h.Raw)
		}
	}
	checkPage(`{"type":"history","ref":"default"}`, "default", sent[10:])
	checkPage(`{"type":"history","limit":3,"ref":"3"}`, "3", sent[57:])
	checkPage(`{"type":"history","limit":1,"ref":"1"}`, "1", sent[59:])
	checkPage(`{"type":"history","limit":200,"ref":"all"}`, "all", sent)
	checkPage(`{"type":"history","limit":5,"before":"`+sent[10].ID+`","ref":"p"}`, "p", sent[5:10])
	checkPage(`{"type":"history","limit":200,"before":"`+sent[2].ID+`","ref":"p2"}`, "p2", sent[:2])
	checkPage(`{"type":"history","before":"`+sent[0].ID+`","ref":"p0"}`, "p0", nil)
	checkPage(`{"type":"history","before":"`+sent[55].ID+`","ref":"p55"}`, "p55", sent[5:55])
	for _, bad := range []string{`0`, `201`, `-5`, `"10"`} {
		alice.sendText(t, `{"type":"history","limit":`+bad+`,"ref":"bad"}`)
		if f := alice.expectError(t, wire.CodeBadRequest); !refIs(f, "bad") {
			t.Errorf("limit %s: %s, want ref bad", bad, f.Raw)
		}
	}
}

func TestE2EIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	bob := join(t, e, "bob")
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	key := strings.Repeat("k", 64)

	first, _ := alice.sendSay(t, wire.ClientFrame{Type: "say", Text: "once", Key: key, Ref: ptr("a")})
	if msg := bob.expect(t, "message"); msg.ID != first.ID {
		t.Fatalf("bob got %s, want the message of %s", msg.Raw, first.Raw)
	}
	// The retry gets the original receipt with its own ref, and nothing
	// else happens: the next frame anyone sees is the barrier.
	alice.sendFrame(t, wire.ClientFrame{Type: "say", Text: "once", Key: key, Ref: ptr("b")})
	checkReceipt(t, alice.recv(t), first, "b")
	alice.say(t, "barrier", "c")
	if f := bob.expect(t, "message"); f.Text != "barrier" {
		t.Errorf("bob got %s, want the barrier only", f.Raw)
	}

	// The same for a dm, also after a reconnect; keys are per user.
	d1 := sendDmWithKey(t, alice, "bob", "k2", "d1")
	if m := bob.expect(t, "message"); m.ID != d1.ID {
		t.Fatalf("bob got %s, want dm %s", m.Raw, d1.ID)
	}
	alice.leave(t)
	expectPresence(t, bob, "alice", false)
	alice = join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	checkReceipt(t, sendDmWithKey(t, alice, "bob", "k2", "d2"), d1, "d2")
	if s := sendDmWithKey(t, bob, "alice", "k2", "bob"); s.ID == d1.ID {
		t.Errorf("bob's key k2 answered with alice's receipt %s", s.Raw)
	}
	alice.expect(t, "message") // bob's dm, the only thing alice gets
	alice.say(t, "barrier 2", "e")
	if f := bob.expect(t, "message"); f.Text != "barrier 2" {
		t.Errorf("bob got %s, want the second barrier only", f.Raw)
	}
}

func sendDmWithKey(t *testing.T, c *client, to, key, ref string) frame {
	t.Helper()
	c.sendFrame(t, wire.ClientFrame{Type: "dm", To: to, Text: "keyed", Key: key, Ref: &ref})
	return c.expect(t, "sent")
}

// checkReceipt checks that a repeated request got the first receipt.
func checkReceipt(t *testing.T, got, first frame, ref string) {
	t.Helper()
	if got.Type != "sent" || got.ID != first.ID || got.TS != first.TS || !refIs(got, ref) {
		t.Errorf("retry answered %s, want id %s ts %s ref %q", got.Raw, first.ID, first.TS, ref)
	}
}

func TestE2EQueueFull(t *testing.T) {
	t.Parallel()
	e := startServer(t, withActors(func(c *actors.Config) { c.QueueMax = 2 }))
	alice := join(t, e, "alice")
	knownOffline(t, e, "bob", alice)
	a1, a2 := alice.dm(t, "bob", "one", "1"), alice.dm(t, "bob", "two", "2")
	alice.sendFrame(t, dmFrame("bob", "three", "3"))
	if f := alice.expectError(t, wire.CodeQueueFull); !refIs(f, "3") {
		t.Errorf("queue_full %s, want ref 3", f.Raw)
	}
	// Earlier rules come first.
	alice.sendFrame(t, dmFrame("bob", " ", "blank"))
	alice.expectError(t, wire.CodeInvalidText)
	alice.sendText(t, `{"type":"dm","to":"bob","ref":"notext"}`)
	alice.expectError(t, wire.CodeBadRequest)

	// The refused message was not stored: bob gets exactly the two.
	bob := join(t, e, "bob")
	expectPresence(t, alice, "bob", true)
	for _, want := range []frame{a1, a2} {
		if m := bob.expect(t, "message"); m.ID != want.ID {
			t.Fatalf("bob got %s, want %s", m.Raw, want.ID)
		}
	}
	alice.say(t, "barrier", "b")
	if m := bob.expect(t, "message"); m.Text != "barrier" {
		t.Errorf("bob got %s after his queue, want the barrier", m.Raw)
	}
	// Once bob's client has confirmed them, the queue has room again.
	eventually(t, "bob's queue to empty", func() bool { return e.chat.InboxDepth() == 0 })
	alice.dm(t, "bob", "room again", "4")
}

func TestE2EConfirmedDeliveryIsNotRedelivered(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	alice := join(t, e, "alice")
	bob := join(t, e, "bob")
	expectPresence(t, alice, "bob", true)
	one := alice.dm(t, "bob", "one", "1")
	bob.expect(t, "message")
	// The server pings right after the dm; bob's client answers it while
	// reading on, before the who answer.
	bob.who(t, "", "w")
	bob.leave(t)
	expectPresence(t, alice, "bob", false)
	eventually(t, "the inbox to empty", func() bool { return e.chat.InboxDepth() == 0 })

	bob = join(t, e, "bob")
	expectPresence(t, alice, "bob", true)
	two := alice.dm(t, "bob", "two", "2")
	if m := bob.expect(t, "message"); m.ID != two.ID {
		t.Errorf("after a confirmed delivery bob got %s first, want only dm two (dm one was %s)", m.Raw, one.ID)
	}
}

func TestE2EUnconfirmedDeliveryIsRedelivered(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	alice := join(t, e, "alice")
	bob := join(t, e, "bob", withPingHook(func(string) bool { return false }))
	expectPresence(t, alice, "bob", true)
	one := alice.dm(t, "bob", "one", "1")
	if m := bob.expect(t, "message"); m.ID != one.ID || m.Redelivered {
		t.Fatalf("bob got %s, want dm %s", m.Raw, one.ID)
	}
	// The TCP connection dies before bob's client answered the ping.
	_ = bob.ws.NetConn().Close()
	expectPresence(t, alice, "bob", false)

	bob = join(t, e, "bob")
	expectPresence(t, alice, "bob", true)
	m := bob.expect(t, "message")
	if m.ID != one.ID || !m.Redelivered || m.TS != one.TS || m.Text != "one" || m.Offline {
		t.Errorf("after the cut bob got %s, want dm %s ts %s redelivered", m.Raw, one.ID, one.TS)
	}
	// This time it is confirmed, and not sent a third time.
	two := alice.dm(t, "bob", "two", "2")
	if m := bob.expect(t, "message"); m.ID != two.ID || m.Redelivered {
		t.Errorf("bob got %s, want dm two (%s) only", m.Raw, two.ID)
	}
}

// TestE2EEveryPongConfirms delivers private messages one at a time to a
// client that answers pings at once: after each, the pong must confirm it,
// so the inbox empties without waiting for the next keep-alive ping (30 s
// away). A confirmation lost to a race between the pong and the server's
// own bookkeeping leaves the message unconfirmed, to be sent again.
func TestE2EEveryPongConfirms(t *testing.T) {
	t.Parallel()
	e := startServer(t, noRateLimit())
	alice := join(t, e, "alice")
	bob := join(t, e, "bob")
	expectPresence(t, alice, "bob", true)
	for i := range 100 {
		s := alice.dm(t, "bob", fmt.Sprint("dm ", i), fmt.Sprint(i))
		if m := bob.expect(t, "message"); m.ID != s.ID {
			t.Fatalf("bob got %s, want %s", m.Raw, s.ID)
		}
		eventually(t, fmt.Sprintf("dm %d to be confirmed", i), func() bool { return e.chat.InboxDepth() == 0 })
	}
}
