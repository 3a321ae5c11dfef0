package actors

import (
	"testing"
	"time"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// who and history are charged to the user's rate limit in proportion to
// what they can return: who one token, history one per 50 messages asked
// for. Before, a client could ask for 200 messages of history in a loop,
// 28,000 times the bytes it sent, and was never limited.
func TestUserChargesWhoAndHistoryToTheRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.MsgRate, c.MsgBurst, c.FloodFactor = 1, 8, 1000 // a burst of 8; no flooding here
	})
	alice := h.connectQuiet("alice")
	history := func(limit int32) *string {
		ref := alice.ref()
		alice.send(&chatpb.History{Limit: limit, Ref: ref})
		return ref
	}
	who := func() *string {
		ref := alice.ref()
		alice.send(&chatpb.Who{Ref: ref})
		return ref
	}
	for range 2 { // 4 tokens each: the whole burst
		ref := history(200)
		if p := expectMsg[*chatpb.HistoryPage](t, alice.p, wait); p.GetRef() != *ref {
			t.Fatalf("history: page for %q, want %q", p.GetRef(), *ref)
		}
	}
	alice.expectRefused(history(1), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	alice.expectRefused(who(), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	alice.expectRefused(alice.say("nor a message"), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)

	h.clock.advance(2 * time.Second) // two tokens back
	alice.expectRefused(history(101), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	ref := history(100) // exactly two
	if p := expectMsg[*chatpb.HistoryPage](t, alice.p, wait); p.GetRef() != *ref {
		t.Fatalf("history of 100 with two tokens: page for %q", p.GetRef())
	}
	h.clock.advance(time.Second)
	ref = who()
	if u := expectMsg[*chatpb.Users](t, alice.p, wait); u.GetRef() != *ref {
		t.Fatalf("who with one token: users for %q", u.GetRef())
	}
	alice.expectRefused(who(), chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
}

// A request can never cost more than the burst, or it could never pass.
func TestUserHistoryCostIsCutToTheBurst(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.MsgRate, c.MsgBurst = 1, 2 })
	alice := h.connectQuiet("alice")
	ref := alice.ref()
	alice.send(&chatpb.History{Limit: 200, Ref: ref}) // 4 tokens, cut to 2
	if p := expectMsg[*chatpb.HistoryPage](t, alice.p, wait); p.GetRef() != *ref {
		t.Fatalf("history: page for %q, want %q", p.GetRef(), *ref)
	}
}
