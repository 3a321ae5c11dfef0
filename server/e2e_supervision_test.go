package server_test

// Supervision seen from a client (docs/protocol.md, "internal"): a user
// actor that panics is restarted with its connection and queue intact; one
// that keeps failing is stopped and its connection closed with an internal
// error.

import (
	"testing"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/wire"
)

func debugFaults(limit int) option {
	return withActors(func(c *actors.Config) { c.DebugFaults, c.RestartLimit = true, limit })
}

func TestE2EPanicKeepsConnectionAndQueue(t *testing.T) {
	t.Parallel()
	e := startServer(t, debugFaults(5))
	bob := join(t, e, "bob")
	// alice confirms nothing, so bob's dm stays in her inbox.
	alice := join(t, e, "alice", withPingHook(func(string) bool { return false }))
	expectPresence(t, bob, "alice", true)
	one := bob.dm(t, "alice", "one", "1")
	alice.expect(t, "message")

	alice.sendText(t, "/debug panic")
	// The connection survives the restart and works; nothing is sent twice
	// to it, and new messages still arrive.
	alice.who(t, "", "after panic")
	two := bob.dm(t, "alice", "two", "2")
	if m := alice.expect(t, "message"); m.ID != two.ID || m.Redelivered {
		t.Fatalf("after the restart alice got %s, want only dm two (%s)", m.Raw, two.ID)
	}
	bob.expectNothing(t, quiet) // a restart is not a presence change

	// The queue survived: on the next connection both come again.
	_ = alice.ws.NetConn().Close()
	expectPresence(t, bob, "alice", false)
	alice = join(t, e, "alice")
	for _, want := range []frame{one, two} {
		if m := alice.expect(t, "message"); m.ID != want.ID || !m.Redelivered {
			t.Errorf("after reconnecting alice got %s, want %s redelivered", m.Raw, want.ID)
		}
	}
}

func TestE2ERepeatedPanicsCloseWithInternalError(t *testing.T) {
	t.Parallel()
	e := startServer(t, debugFaults(1))
	bob := join(t, e, "bob")
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	alice.sendText(t, "/debug panic") // restarted
	alice.who(t, "", "once")
	alice.sendText(t, "/debug panic") // one too many: stopped
	alice.expectError(t, wire.CodeInternal)
	alice.expectClose(t, 1011)
	expectPresence(t, bob, "alice", false)

	// The name is served again by a fresh actor.
	alice = join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	bob.dm(t, "alice", "welcome back", "b")
	if m := alice.expect(t, "message"); m.Text != "welcome back" {
		t.Errorf("alice got %s", m.Raw)
	}
}
