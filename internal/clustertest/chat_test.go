package clustertest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/wire"
)

// The single-node end-to-end cases, with clients spread over three nodes.
// One cluster serves all of them, one after the other: each starts users
// of its own names.
func TestClusterChat(t *testing.T) {
	c := newCluster(t, pgtest.Shared(t), 3, "-auth", "none", "-msg-rate", "0")
	t.Run("public order", func(t *testing.T) { testPublicOrder(t, c) })
	t.Run("private messages in order", func(t *testing.T) { testPrivateOrder(t, c) })
	t.Run("offline queue", func(t *testing.T) { testOfflineQueue(t, c) })
	t.Run("history", func(t *testing.T) { testHistory(t, c) })
	t.Run("presence and who", func(t *testing.T) { testPresence(t, c) })
	t.Run("takeover", func(t *testing.T) { testTakeover(t, c) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, c) })
	if t.Failed() {
		t.Log(c.logs())
	}
}

// Three senders on three nodes, three readers on three nodes: every reader
// sees every message, and all in one order.
func testPublicOrder(t *testing.T, c *cluster) {
	var readers, senders []*client
	for i := range 3 {
		readers = append(readers, dial(t, c.wsURL(i), fmt.Sprintf("po-r%d", i), ""))
		senders = append(senders, dial(t, c.wsURL((i+1)%3), fmt.Sprintf("po-s%d", i), ""))
	}
	const each = 20
	for n := range each {
		for i, s := range senders {
			s.say(fmt.Sprintf("po %d from %d", n, i), fmt.Sprintf("po-%d-%d", i, n))
		}
	}
	var orders [][]string
	for _, r := range readers {
		var got []string
		for len(got) < each*len(senders) {
			f := r.expect("a public message", func(f wire.ServerFrame) bool { return f.Type == "message" })
			got = append(got, f.ID)
		}
		orders = append(orders, got)
	}
	for i := 1; i < len(orders); i++ {
		if !slices.Equal(orders[0], orders[i]) {
			t.Fatalf("reader %d saw another order than reader 0:\n%v\n%v", i, orders[i], orders[0])
		}
	}
}

// One sender's private messages to one recipient on another node arrive in
// the order sent, each receipted.
func testPrivateOrder(t *testing.T, c *cluster) {
	bob := dial(t, c.wsURL(2), "pm-bob", "")
	alice := dial(t, c.wsURL(0), "pm-alice", "")
	const n = 50
	for i := range n {
		alice.dm("pm-bob", fmt.Sprintf("dm %d", i), fmt.Sprintf("pm-%d", i))
	}
	for i := range n {
		if f := alice.receipt(fmt.Sprintf("pm-%d", i)); f.Type != "sent" {
			t.Fatalf("dm %d refused: %s %s", i, f.Code, f.Message)
		}
	}
	for i := range n {
		f := bob.expect("a private message", func(f wire.ServerFrame) bool { return f.Type == "message" && f.Kind == "dm" })
		if want := fmt.Sprintf("dm %d", i); f.Text != want || f.From != "pm-alice" {
			t.Fatalf("got %q from %s, want %q from pm-alice", f.Text, f.From, want)
		}
	}
}

// A message to a user who is offline waits in the store and arrives, marked
// offline, when the user connects to another node.
func testOfflineQueue(t *testing.T, c *cluster) {
	dave := dial(t, c.wsURL(1), "oq-dave", "")
	dave.close() // dave is known now
	erin := dial(t, c.wsURL(0), "oq-erin", "")
	erin.dm("oq-dave", "while you were away", "oq-1")
	if f := erin.receipt("oq-1"); f.Type != "sent" || !f.Queued {
		t.Fatalf("receipt %+v, want sent and queued", f)
	}
	dave = dial(t, c.wsURL(2), "oq-dave", "")
	if f := dave.message("while you were away"); !f.Offline || f.From != "oq-erin" {
		t.Fatalf("got %+v, want it offline from oq-erin", f)
	}
}

// A public message sent through one node is in the history another node's
// client asks for.
func testHistory(t *testing.T, c *cluster) {
	s := dial(t, c.wsURL(0), "hi-sender", "")
	s.say("for the record", "hi-1")
	if f := s.receipt("hi-1"); f.Type != "sent" {
		t.Fatalf("say refused: %+v", f)
	}
	r := dial(t, c.wsURL(2), "hi-reader", "")
	r.send(wire.ClientFrame{Type: "history", Limit: 50, Ref: ref("h")})
	page := r.expect("history", func(f wire.ServerFrame) bool { return f.Type == "history" })
	if !slices.ContainsFunc(page.Messages, func(m wire.ServerFrame) bool { return m.Text == "for the record" }) {
		t.Fatalf("history %+v lacks the message", page.Messages)
	}
}

// Presence crosses nodes, and who counts the users of every node.
func testPresence(t *testing.T, c *cluster) {
	w := dial(t, c.wsURL(0), "pr-watcher", "")
	x := dial(t, c.wsURL(1), "pr-x", "")
	w.expect("pr-x online", func(f wire.ServerFrame) bool { return f.Type == "presence" && f.User == "pr-x" && f.IsOnline })
	y := dial(t, c.wsURL(2), "pr-y", "")
	w.expect("pr-y online", func(f wire.ServerFrame) bool { return f.Type == "presence" && f.User == "pr-y" && f.IsOnline })
	y.send(wire.ClientFrame{Type: "who", Ref: ref("w")})
	users := y.expect("who", func(f wire.ServerFrame) bool { return f.Type == "users" })
	for _, name := range []string{"pr-watcher", "pr-x", "pr-y"} {
		if !slices.Contains(users.Users, name) {
			t.Fatalf("who %v lacks %s", users.Users, name)
		}
	}
	x.close()
	w.expect("pr-x offline", func(f wire.ServerFrame) bool { return f.Type == "presence" && f.User == "pr-x" && !f.IsOnline })
}

// A second connection for a user, on another node, takes over: the first
// is closed with 4000, and messages go to the second.
func testTakeover(t *testing.T, c *cluster) {
	first := dial(t, c.wsURL(0), "to-zoe", "")
	second := dial(t, c.wsURL(2), "to-zoe", "")
	first.expect("session_replaced", func(f wire.ServerFrame) bool { return f.Type == "error" && f.Code == wire.CodeSessionReplaced })
	if code := first.awaitClose(waitFor); code != wire.CloseReplaced {
		t.Fatalf("first connection closed with %d, want %d", code, wire.CloseReplaced)
	}
	s := dial(t, c.wsURL(1), "to-sender", "")
	s.dm("to-zoe", "to the new one", "to-1")
	second.message("to the new one")
}

// A message sent again with the same key, through another node, is the same
// message: same id, delivered once.
func testIdempotency(t *testing.T, c *cluster) {
	r := dial(t, c.wsURL(2), "id-r", "")
	a := dial(t, c.wsURL(0), "id-s", "")
	a.dm("id-r", "once", "id-key")
	first := a.receipt("id-key")
	a.close()
	b := dial(t, c.wsURL(1), "id-s", "")
	b.dm("id-r", "once", "id-key")
	again := b.receipt("id-key")
	if first.Type != "sent" || again.ID != first.ID {
		t.Fatalf("receipts %+v and %+v, want one id", first, again)
	}
	r.message("once")
	b.dm("id-r", "after", "id-key2")
	if f := r.expect("the next message", func(f wire.ServerFrame) bool { return f.Type == "message" }); f.Text != "after" {
		t.Fatalf("got %q again, want the next message", f.Text)
	}
}
