package server_test

// docs/protocol.md, "Limits": rate limit and flooders, slow consumers.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

func TestE2ERateLimited(t *testing.T) {
	t.Parallel()
	// A burst of 3, then one message per 100 s; flooding needs 20 refusals.
	e := startServer(t, withActors(func(c *actors.Config) {
		c.MsgRate, c.MsgBurst, c.FloodWindow = 0.01, 3, 1000*time.Second
	}))
	bob := join(t, e, "bob")
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	for i := range 3 {
		alice.say(t, fmt.Sprint("burst ", i), fmt.Sprint(i))
	}
	alice.sendFrame(t, sayFrame("one too many", "x"))
	if f := alice.expectError(t, wire.CodeRateLimited); !refIs(f, "x") {
		t.Errorf("rate_limited %s, want ref x", f.Raw)
	}
	alice.sendFrame(t, dmFrame("bob", "dm too", "y"))
	alice.expectError(t, wire.CodeRateLimited)
	alice.sendFrame(t, wire.ClientFrame{Type: "who", Ref: ptr("still open")}) // who is charged too
	if f := alice.expectError(t, wire.CodeRateLimited); !refIs(f, "still open") {
		t.Errorf("who over the limit: %s, want rate_limited with its ref", f.Raw)
	}

	// bob got the burst and nothing refused; his own budget is untouched.
	for i := range 3 {
		if m := bob.expect(t, "message"); m.Text != fmt.Sprint("burst ", i) {
			t.Errorf("bob got %s, want burst %d", m.Raw, i)
		}
	}
	bob.say(t, "bob is fine", "b")
}

func TestE2EFlooderIsClosedWith1008(t *testing.T) {
	t.Parallel()
	// One message a second, burst 1: a client is cut off once it has been
	// refused more than (3-1) x 1/s x 1 s = 2 times within a second.
	e := startServer(t, withActors(func(c *actors.Config) {
		c.MsgRate, c.MsgBurst, c.FloodWindow = 1, 1, time.Second
	}))
	bob := join(t, e, "bob")
	flooder := join(t, e, "flooder")
	expectPresence(t, bob, "flooder", true)
	for i := range 20 {
		if err := flooder.write(websocket.TextMessage, []byte(fmt.Sprint("flood ", i))); err != nil {
			break // closed already
		}
	}
	before := flooder.expectClose(t, 1008)
	limited := 0
	for _, f := range before {
		if f.Type == "error" && f.Code == wire.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("closed with 1008 without a rate_limited error first: %v", before)
	}
	if m := bob.expect(t, "message"); m.Text != "flood 0" {
		t.Errorf("bob got %s, want only the first, allowed, message", m.Raw)
	}
	expectPresence(t, bob, "flooder", false)
	bob.say(t, "still chatting", "b")
}

// TestE2ESlowConsumerIsClosedWith4001 floods public messages while one
// client reads nothing: its outbox overflows and it is closed with 4001,
// having received a prefix of the messages, while another client gets
// every one of them and stays connected.
func TestE2ESlowConsumerIsClosedWith4001(t *testing.T) {
	t.Parallel()
	e := startServer(t, noRateLimit(), withServer(func(c *server.Config) {
		c.OutboxMax = 64 << 10
		c.WriteWait = time.Minute // the stalled write must outlast the test
	}))
	fast := join(t, e, "fast")
	slow := dial(t, e, "slow", withoutReader())
	expectPresence(t, fast, "slow", true)
	sender := join(t, e, "sender")
	expectPresence(t, fast, "sender", true)

	// Flow control keeps the sender and the fast client within a few
	// messages (well under OutboxMax) of what the server has accepted, so
	// that only the client that reads nothing falls behind.
	const window, limit = 8, 5000
	text := strings.Repeat("s", 4000)
	var sentIDs, fastIDs []string
	take := func(c *client, typ string, into *[]string) {
		t.Helper()
		f := c.expectFrame(t, typ, func(f frame) bool { return f.Type == typ })
		*into = append(*into, f.ID)
	}
	total := 0
	for total < limit {
		sender.sendFrame(t, sayFrame(text, fmt.Sprint(total)))
		total++
		for total-len(sentIDs) > window {
			take(sender, "sent", &sentIDs)
		}
		for total-len(fastIDs) > window {
			take(fast, "message", &fastIDs)
		}
		if total%16 == 0 && e.metric(t, "chat_slow_consumer_disconnects_total", nil) >= 1 {
			break
		}
	}
	if total == limit {
		t.Fatalf("no slow-consumer disconnect after %d messages of %d bytes", limit, len(text))
	}
	// Everything sent reaches the fast client, in order, and it stays.
	for len(sentIDs) < total {
		take(sender, "sent", &sentIDs)
	}
	for len(fastIDs) < total {
		take(fast, "message", &fastIDs)
	}
	if !slices.Equal(fastIDs, sentIDs) {
		t.Errorf("the fast client's messages differ from the receipts")
	}
	fast.who(t, "", "alive")
	if n := e.metric(t, "chat_slow_consumer_disconnects_total", nil); n != 1 {
		t.Errorf("%v slow-consumer disconnects, want 1 (only the client that does not read)", n)
	}

	// The slow client reads what got through, then the 4001 close.
	var got []string
	var err error
	for err == nil {
		var data []byte
		_ = slow.ws.SetReadDeadline(time.Now().Add(waitFor)) // each frame's wait, not the backlog's
		if _, data, err = slow.ws.ReadMessage(); err == nil {
			if f, perr := wire.ParseServerFrame(data); perr == nil && f.Type == "message" {
				got = append(got, f.ID)
			}
		}
	}
	if !websocket.IsCloseError(err, 4001) {
		t.Fatalf("slow client ended with %v after %d messages, want close 4001", err, len(got))
	}
	if len(got) >= len(sentIDs) || len(got) == 0 {
		t.Errorf("slow client got %d of %d messages, want some but not all", len(got), len(sentIDs))
	}
	for i, id := range got {
		if id != sentIDs[i] {
			t.Fatalf("slow client: message %d is %s, want %s: not a prefix", i, id, sentIDs[i])
		}
	}
	t.Logf("slow client closed after %d of %d messages of %d bytes", len(got), len(sentIDs), len(text))
}
