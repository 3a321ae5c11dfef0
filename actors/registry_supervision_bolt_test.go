package actors

import (
	"path/filepath"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// TestSupervisionRestartLosesNothingWithTheBoltStore is the supervision test
// on the durable store: messages queued while bob is away, and messages
// written to his session but not confirmed, survive his actor's restarts;
// after them, every one is delivered to his next session, none twice, and
// the store holds exactly the unconfirmed ones.
func TestSupervisionRestartLosesNothingWithTheBoltStore(t *testing.T) {
	t.Parallel()
	var bolt *store.Bolt
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		var err error
		bolt, err = store.OpenBolt(filepath.Join(t.TempDir(), "chat.db"), store.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Store, c.DebugFaults = bolt, true
	})
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	bob.disconnect()
	alice := h.connectQuiet("alice")
	queued := alice.expectSent(alice.dm("bob", "while away"))

	bob = h.connectQuiet("bob")
	bob.expectDeliver() // written, never confirmed
	live := alice.expectSent(alice.dm("bob", "while here"))
	bob.expectDeliver()

	for range 2 {
		bob.send(&chatpb.DebugPanic{})
		expectSupervision(t, events, bob.user, actor.RestartDirective)
	}
	after := alice.expectSent(alice.dm("bob", "after the restarts"))
	if d := bob.expectDeliver(); d.Message.Id != after.Id {
		t.Fatalf("after the restarts bob's session got %s, want %s", describe(d), after.Id)
	}

	next := h.connectQuiet("bob")
	for _, want := range []*chatpb.Sent{queued, live, after} {
		if d := next.expectDeliver(); d.Message.Id != want.Id || !d.Redelivered {
			t.Fatalf("next session got %s, want a redelivery of %s", describe(d), want.Id)
		}
	}
	if extra := next.sync(); len(extra) != 0 {
		t.Fatalf("extra messages: %v", extra)
	}
	stored, err := bolt.Inbox("bob")
	if err != nil || len(stored) != 3 {
		t.Fatalf("bolt inbox of bob: %d messages, %v; want the 3 unconfirmed", len(stored), err)
	}
}
