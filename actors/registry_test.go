package actors

import (
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// route sends the registry a private message from "alice" to name, with
// replyTo standing in for alice's user actor, and returns the two answers:
// where the registry sent it (Resolved, from the registry) and whether it
// was accepted (Routed, from the registry or the recipient's actor). They
// come from different actors, so in either order.
func route(t *testing.T, h *harness, replyTo *probe, to string) (*chatpb.Resolved, *chatpb.Routed) {
	t.Helper()
	ref := "r-" + to
	session := actor.NewPID("nonhost", "alice-session")
	h.root().Send(h.chat.deps.registry, &chatpb.Route{
		From: "alice", To: to, Text: "hello " + to, Ref: &ref, Key: "k-" + to,
		ReplyTo: replyTo.pid, Session: session, Seq: 7,
	})
	var res *chatpb.Resolved
	var r *chatpb.Routed
	for range 2 {
		m, ok := replyTo.next(wait)
		if !ok {
			t.Fatalf("route to %s: got %s and %s, then nothing", to, describe(res), describe(r))
		}
		switch m := m.msg.(type) {
		case *chatpb.Resolved:
			res = m
		case *chatpb.Routed:
			r = m
		default:
			t.Fatalf("route to %s: got %s", to, describe(m))
		}
	}
	if res == nil || r == nil {
		t.Fatalf("route to %s: got %s and %s, want one Resolved and one Routed", to, describe(res), describe(r))
	}
	if res.Name != to {
		t.Fatalf("Resolved for %q, want %q", res.Name, to)
	}
	if r.GetRef() != ref || r.Key != "k-"+to || r.To != to || !r.Session.Equal(session) || r.Seq != 7 {
		t.Fatalf("Routed does not echo the request: %s", describe(r))
	}
	return res, r
}

func TestRegistryConnectSpawnsOneUserActorPerName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	first := h.probe("alice-1")
	pid, err := h.chat.Connect("alice", first.pid)
	if err != nil {
		t.Fatal(err)
	}
	if pid.Id != "registry/alice" {
		t.Fatalf("user actor %q, want registry/alice", pid.Id)
	}
	if _, ok := h.system().ProcessRegistry.GetLocal("registry/alice"); !ok {
		t.Fatal("no running actor registry/alice")
	}
	expectMsg[*chatpb.Welcome](t, first, wait)

	second := h.probe("alice-2")
	again, err := h.chat.Connect("alice", second.pid)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(pid) {
		t.Fatalf("second Connect: %v, want the same actor %v", again, pid)
	}
	expectMsg[*chatpb.Welcome](t, second, wait)

	bob := h.connect("bob")
	if bob.user.Equal(pid) {
		t.Fatal("bob shares alice's actor")
	}
	if users, _ := h.mem.Users(); !slices.Equal(sortedCopy(users), []string{"alice", "bob"}) {
		t.Fatalf("known users in the store: %v", users)
	}
}

// The registry keeps no set of names: a route to a name goes to that name's
// actor, which reads from the store whether the name is known, refuses the
// route, and passivates at once.
func TestRegistryRouteToANameThatNeverConnected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.connect("alice")
	alice := h.probe("alice-actor")
	res, r := route(t, h, alice, "nobody")
	if r.Code != chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER || r.Id != "" || r.Recipient != nil {
		t.Fatalf("route to nobody: %s, want UNKNOWN_USER", describe(r))
	}
	expectMsg[*actor.Terminated](t, h.watch(res.Pid), wait)
	if _, ok := h.system().ProcessRegistry.GetLocal("registry/nobody"); ok {
		t.Fatal("the actor for an unknown name stayed")
	}
	if users, _ := h.mem.Users(); slices.Contains(users, "nobody") {
		t.Fatal("an unknown name became known by being written to")
	}
	if ids := h.inboxIDs("nobody"); len(ids) != 0 {
		t.Fatalf("something was stored for nobody: %v", ids)
	}
}

func TestRegistryRouteToAKnownOfflineNameQueues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connect("bob")
	bob.disconnect()
	alice := h.probe("alice-actor")
	res, r := route(t, h, alice, "bob")
	if r.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED || !r.Queued || r.Id == "" ||
		!r.Recipient.Equal(bob.user) || !res.Pid.Equal(bob.user) {
		t.Fatalf("route to offline bob: %s, want queued by %v", describe(r), bob.user)
	}
	if ids := h.inboxIDs("bob"); !slices.Equal(ids, []string{r.Id}) {
		t.Fatalf("bob's stored inbox %v, want [%s]", ids, r.Id)
	}
	expectNoMsg(t, bob.p, 0) // the Deliver would have been sent before Routed
}

func TestRegistryKnowsNamesFromTheStore(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(_ *Config, mem *store.Memory) {
		mem.AddUser("dave", nil) // a user from an earlier run of the server
	})
	alice := h.probe("alice-actor")
	res, r := route(t, h, alice, "dave")
	if r.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED || !r.Queued {
		t.Fatalf("route to dave, known from the store: %s", describe(r))
	}
	if r.Recipient == nil || r.Recipient.Id != "registry/dave" || !res.Pid.Equal(r.Recipient) {
		t.Fatalf("recipient %v, resolved to %v, want registry/dave", r.Recipient, res.Pid)
	}
	dave := h.connect("dave")
	d := dave.expectDeliver()
	if d.Message.Id != r.Id || !d.Message.Offline || d.Message.Text != "hello dave" {
		t.Fatalf("dave got %s", describe(d))
	}
}
