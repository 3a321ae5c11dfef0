package web_test

import (
	"encoding/json"
	"testing"

	"github.com/actorchat/chat/proto/wire"
)

// A message the server accepted, whose receipt was lost, is sent again once
// after the server restarts, with the same key: the server answers with the
// original receipt, and the others see the message once.
func TestBrowserResendsAfterServerRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	g := startGate(t, s.addr)
	alice := openPage(t, g.url(), "alice")
	alice.signUp("alice")
	bobAccount := s.register("bob")
	bob := connectPeer(t, s, bobAccount)

	g.hold() // alice's frames reach the server; nothing comes back
	alice.send("exactly once")
	delivered := bob.waitMessage("exactly once")
	alice.waitUntil("the message pending", `[...document.querySelectorAll('.outgoing .msg.pending')].some(li => li.querySelector('.text').textContent === 'exactly once')`)

	s.restart() // same port, same store
	alice.waitUntil("the banner", `!document.getElementById('banner').hidden`)
	bob = connectPeer(t, s, bobAccount)
	g.release()

	alice.waitConnected()
	if m := alice.waitMessage("public", "exactly once", "sent"); m.ID != delivered.ID {
		t.Errorf("after the restart the page shows id %s; the message was delivered as %s: sent twice?", m.ID, delivered.ID)
	}
	checkOneResend(t, alice.sentFrames("exactly once"))

	alice.send("after the restart")
	bob.waitMessage("after the restart") // public messages are ordered: a second copy would have come first
	if again := bob.messages("exactly once"); len(again) != 0 {
		t.Errorf("after the restart bob got the message again: %+v", again)
	}
	ref := "h"
	bob.send(wire.ClientFrame{Type: "history", Ref: &ref})
	h := bob.wait("history", func(f wire.ServerFrame) bool { return f.Type == "history" })
	n := 0
	for _, m := range h.Messages {
		if m.Text == "exactly once" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the public history holds the message %d times, want 1", n)
	}
	if n := alice.count("public", "exactly once"); n != 1 {
		t.Errorf("alice's page shows the message %d times, want 1", n)
	}
}

// checkOneResend checks that a message was written twice, the second time
// with the first's ref and key.
func checkOneResend(t *testing.T, frames []string) {
	t.Helper()
	if len(frames) != 2 {
		t.Fatalf("the page wrote the message %d times, want 2 (once, and once after the reconnect): %q", len(frames), frames)
	}
	var first, second struct{ Ref, Key string }
	if json.Unmarshal([]byte(frames[0]), &first) != nil || json.Unmarshal([]byte(frames[1]), &second) != nil ||
		first.Key == "" || first != second {
		t.Errorf("the resend differs from the first: %s, then %s; want the same ref and key", frames[0], frames[1])
	}
}
