package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// The room alone: sessions are probes that join it directly, as user actors
// do, and requests come from a probe standing in for the sender's user actor.

// join adds session p to the room as user and waits for Joined, which the
// room sends after the welcome and the presence notices.
func join(t *testing.T, h *harness, user string, p *probe) {
	t.Helper()
	res, err := h.root().RequestFuture(h.chat.deps.room, &chatpb.Join{User: user, Session: p.pid}, wait).Result()
	if err != nil {
		t.Fatalf("Join(%s): %v", user, err)
	}
	if j, ok := res.(*chatpb.Joined); !ok || !j.Session.Equal(p.pid) {
		t.Fatalf("Join(%s): answer %s", user, describe(res))
	}
}

// publish asks the room to accept text from user, with replyTo standing in
// for the user actor, and returns the Published answer.
func publish(t *testing.T, h *harness, replyTo *probe, from, text string) *chatpb.Published {
	t.Helper()
	ref := "ref-" + text
	session := actor.NewPID("nonhost", "session-of-"+from)
	h.root().Send(h.chat.deps.room, &chatpb.Publish{
		From: from, Text: text, Ref: &ref, Key: "key-" + text, ReplyTo: replyTo.pid, Session: session,
	})
	p := expectMsg[*chatpb.Published](t, replyTo, wait)
	if p.GetRef() != ref || p.Key != "key-"+text || !p.Session.Equal(session) || p.Id == "" ||
		p.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		t.Fatalf("Published for %q: %s", text, describe(p))
	}
	return p
}

func query(h *harness, replyTo *probe, q *chatpb.RoomQuery) {
	q.ReplyTo = replyTo.pid
	h.root().Send(h.chat.deps.room, q)
}

func who(t *testing.T, h *harness, replyTo *probe, after string) *chatpb.Users {
	t.Helper()
	ref := "who-" + after
	query(h, replyTo, &chatpb.RoomQuery{Query: &chatpb.RoomQuery_Who{Who: &chatpb.Who{After: after, Ref: &ref}}})
	u := expectMsg[*chatpb.Users](t, replyTo, wait)
	if u.GetRef() != ref {
		t.Fatalf("who: ref %q, want %q", u.GetRef(), ref)
	}
	return u
}

func history(t *testing.T, h *harness, replyTo *probe, limit int32, before string) []*chatpb.Message {
	t.Helper()
	ref := fmt.Sprintf("h-%d-%s", limit, before)
	query(h, replyTo, &chatpb.RoomQuery{Query: &chatpb.RoomQuery_History{
		History: &chatpb.History{Limit: limit, Before: before, Ref: &ref}}})
	page := expectMsg[*chatpb.HistoryPage](t, replyTo, wait)
	if page.GetRef() != ref {
		t.Fatalf("history: ref %q, want %q", page.GetRef(), ref)
	}
	return page.Messages
}

func texts(msgs []*chatpb.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// The edge renders a fan-out's frame once, keyed by the Deliver's pointer,
// so every member must be handed the very same Deliver.
func TestRoomFansOutToEveryMemberInOneOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const members, msgs = 50, 5
	probes := make([]*probe, members)
	for i := range probes {
		probes[i] = h.probe(fmt.Sprintf("m%02d", i))
		join(t, h, probes[i].name, probes[i])
	}
	for _, p := range probes {
		p.drain() // welcomes and presence: all sent before the last Joined
	}
	sender := h.probe("sender")
	var published []*chatpb.Published
	for i := range msgs {
		published = append(published, publish(t, h, sender, "m00", fmt.Sprintf("t%d", i)))
	}
	shared := make([]*chatpb.Deliver, msgs)
	for _, p := range probes {
		for i, want := range published {
			d := expectMsg[*chatpb.Deliver](t, p, wait)
			m := d.Message
			if m.Id != want.Id || m.TsUnixMs != want.TsUnixMs || m.Text != fmt.Sprintf("t%d", i) ||
				m.From != "m00" || m.Kind != chatpb.Kind_KIND_PUBLIC || d.Seq != 0 {
				t.Fatalf("%s: delivery %d is %s, want id %s ts %d", p.name, i, describe(d), want.Id, want.TsUnixMs)
			}
			if shared[i] == nil {
				shared[i] = d
			} else if d != shared[i] {
				t.Fatalf("%s: delivery %d is a Deliver of its own, not the one the others got", p.name, i)
			}
		}
		expectNoMsg(t, p, 0)
	}
	ids := map[string]bool{}
	for _, p := range published {
		if ids[p.Id] || p.TsUnixMs != h.clock.nowMs() {
			t.Fatalf("published %s: id repeated or stamp not the clock's %d", describe(p), h.clock.nowMs())
		}
		ids[p.Id] = true
	}
}

func TestRoomWelcomeListsSortedUsersAndPresenceGoesToOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	carol, alice, bob := h.probe("carol"), h.probe("alice"), h.probe("bob")

	join(t, h, "carol", carol)
	w := expectMsg[*chatpb.Welcome](t, carol, wait)
	if w.User != "carol" || !slices.Equal(w.Users, []string{"carol"}) || w.Online != 1 || w.TsUnixMs != h.clock.nowMs() {
		t.Fatalf("first welcome: %s", describe(w))
	}
	expectNoMsg(t, carol, 0) // no presence about oneself

	h.clock.advance(time.Second)
	join(t, h, "alice", alice)
	join(t, h, "bob", bob)
	w = expectMsg[*chatpb.Welcome](t, bob, wait)
	if !slices.Equal(w.Users, []string{"alice", "bob", "carol"}) || w.Online != 3 {
		t.Fatalf("third welcome: %s", describe(w))
	}
	expectNoMsg(t, bob, 0)
	if w := expectMsg[*chatpb.Welcome](t, alice, wait); !slices.Equal(w.Users, []string{"alice", "carol"}) || w.Online != 2 {
		t.Fatalf("second welcome: %s", describe(w))
	}
	if p := expectMsg[*chatpb.Presence](t, alice, wait); p.User != "bob" || !p.Online {
		t.Fatalf("alice: %s, want bob online", describe(p))
	}
	for _, want := range []string{"alice", "bob"} {
		p := expectMsg[*chatpb.Presence](t, carol, wait)
		if p.User != want || !p.Online || p.TsUnixMs != h.clock.nowMs() {
			t.Fatalf("carol: %s, want %s online at %d", describe(p), want, h.clock.nowMs())
		}
	}
}

// TestRoomWelcomeAnnouncesTheRateLimit checks that the welcome tells a
// client the limit it is held to, and nothing when there is none.
func TestRoomWelcomeAnnouncesTheRateLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		rate      float64
		burst     int
		wantRate  float64
		wantBurst int32
	}{
		{"limited", 2.5, 7, 2.5, 7},
		{"defaults", 0, 0, 10, 30},
		{"off", NoRateLimit, 7, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config, _ *store.Memory) { c.MsgRate, c.MsgBurst = tc.rate, tc.burst })
			alice := h.probe("alice")
			join(t, h, "alice", alice)
			w := expectMsg[*chatpb.Welcome](t, alice, wait)
			if w.MsgRate != tc.wantRate || w.MsgBurst != tc.wantBurst {
				t.Fatalf("welcome: %s, want rate %v burst %d", describe(w), tc.wantRate, tc.wantBurst)
			}
		})
	}
}

func TestRoomLeaveRemovesMember(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice, bob, carol := h.probe("alice"), h.probe("bob"), h.probe("carol")
	for _, p := range []*probe{alice, bob, carol} {
		join(t, h, p.name, p)
	}
	for _, p := range []*probe{alice, bob, carol} {
		p.drain()
	}

	h.root().Send(h.chat.deps.room, &chatpb.Leave{User: "bob", Session: bob.pid})
	for _, p := range []*probe{alice, carol} {
		if pr := expectMsg[*chatpb.Presence](t, p, wait); pr.User != "bob" || pr.Online {
			t.Fatalf("%s: %s, want bob offline", p.name, describe(pr))
		}
	}
	sender := h.probe("sender")
	pub := publish(t, h, sender, "alice", "after-leave")
	for _, p := range []*probe{alice, carol} {
		if d := expectMsg[*chatpb.Deliver](t, p, wait); d.Message.Id != pub.Id {
			t.Fatalf("%s: %s", p.name, describe(d))
		}
	}
	// The room sends to members before it answers the publisher, so by now
	// bob would have it.
	expectNoMsg(t, bob, 0)
	if u := who(t, h, sender, ""); !slices.Equal(u.Users, []string{"alice", "carol"}) || u.Online != 2 {
		t.Fatalf("who after leave: %s", describe(u))
	}
}

func TestRoomTakeoverJoinIsNoPresenceChangeAndStaleLeaveIsIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice, bob1, bob2 := h.probe("alice"), h.probe("bob1"), h.probe("bob2")
	join(t, h, "alice", alice)
	join(t, h, "bob", bob1)
	alice.drain()
	bob1.drain()

	join(t, h, "bob", bob2)
	w := expectMsg[*chatpb.Welcome](t, bob2, wait)
	if w.User != "bob" || !slices.Equal(w.Users, []string{"alice", "bob"}) || w.Online != 2 {
		t.Fatalf("takeover welcome: %s", describe(w))
	}
	expectNoMsg(t, alice, 0) // Joined came after any presence would have
	expectNoMsg(t, bob1, 0)

	// The replaced session's late Leave must not take bob offline.
	h.root().Send(h.chat.deps.room, &chatpb.Leave{User: "bob", Session: bob1.pid})
	sender := h.probe("sender")
	if u := who(t, h, sender, ""); !slices.Equal(u.Users, []string{"alice", "bob"}) || u.Online != 2 {
		t.Fatalf("who after a stale leave: %s", describe(u))
	}
	expectNoMsg(t, alice, 0)

	pub := publish(t, h, sender, "alice", "hi")
	for _, p := range []*probe{alice, bob2} {
		if d := expectMsg[*chatpb.Deliver](t, p, wait); d.Message.Id != pub.Id {
			t.Fatalf("%s: %s", p.name, describe(d))
		}
	}
	expectNoMsg(t, bob1, 0)

	// The current session's Leave does.
	h.root().Send(h.chat.deps.room, &chatpb.Leave{User: "bob", Session: bob2.pid})
	if pr := expectMsg[*chatpb.Presence](t, alice, wait); pr.User != "bob" || pr.Online {
		t.Fatalf("alice: %s, want bob offline", describe(pr))
	}
}

func TestRoomWhoPagesAfterAName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.PresenceLimit = 1 })
	names := []string{"dave", "bob", "erin", "alice", "carol"}
	for _, n := range names {
		join(t, h, n, h.probe(n))
	}
	q := h.probe("q")
	for _, tc := range []struct {
		after string
		want  []string
	}{
		{"", []string{"alice", "bob", "carol", "dave", "erin"}},
		{"bob", []string{"carol", "dave", "erin"}}, // a member: the page starts after it
		{"bz", []string{"carol", "dave", "erin"}},  // not a member: names after it
		{"a", []string{"alice", "bob", "carol", "dave", "erin"}},
		{"erin", []string{}},
		{"zzz", []string{}},
	} {
		u := who(t, h, q, tc.after)
		if !slices.Equal(u.Users, tc.want) || u.Online != 5 {
			t.Errorf("who after %q: %v online %d, want %v online 5", tc.after, u.Users, u.Online, tc.want)
		}
	}
}

func TestRoomListsAtMost1000Names(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.PresenceLimit = 1 })
	const n = maxListedUsers + 2
	var last *probe
	for i := range n {
		last = h.probe(fmt.Sprintf("u%04d", i))
		join(t, h, last.name, last)
	}
	w := expectMsg[*chatpb.Welcome](t, last, wait)
	if len(w.Users) != maxListedUsers || w.Online != n || w.Users[0] != "u0000" {
		t.Fatalf("welcome: %d names from %q, online %d; want %d from u0000, online %d",
			len(w.Users), w.Users[0], w.Online, maxListedUsers, n)
	}
	q := h.probe("q")
	page1 := who(t, h, q, "")
	page2 := who(t, h, q, page1.Users[len(page1.Users)-1])
	if len(page1.Users) != maxListedUsers || !slices.Equal(page2.Users, []string{"u1000", "u1001"}) || page2.Online != n {
		t.Fatalf("pages: %d names, then %v online %d", len(page1.Users), page2.Users, page2.Online)
	}
}

func TestRoomHistoryLimitAndBefore(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.HistoryLimit = 4 })
	sender := h.probe("sender")
	var ids []string
	var live []*chatpb.Published
	for i := 1; i <= 5; i++ {
		h.clock.advance(time.Second)
		p := publish(t, h, sender, "alice", fmt.Sprintf("p%d", i))
		ids = append(ids, p.Id)
		live = append(live, p)
	}
	for _, tc := range []struct {
		limit  int32
		before string
		want   []string
	}{
		{3, "", []string{"p3", "p4", "p5"}},
		{10, "", []string{"p2", "p3", "p4", "p5"}}, // the room keeps HistoryLimit
		{2, ids[3], []string{"p2", "p3"}},
		{10, ids[4], []string{"p2", "p3", "p4"}},
		{10, ids[1], []string{}}, // nothing kept before the oldest kept
		{10, ids[0], []string{}}, // no longer kept: an unknown id
		{10, "no-such-id", []string{}},
	} {
		got := history(t, h, sender, tc.limit, tc.before)
		if !slices.Equal(texts(got), tc.want) {
			t.Errorf("history limit %d before %q: %v, want %v", tc.limit, tc.before, texts(got), tc.want)
		}
		for _, m := range got {
			i := int(m.Text[1] - '1')
			if m.Id != live[i].Id || m.TsUnixMs != live[i].TsUnixMs || m.Kind != chatpb.Kind_KIND_PUBLIC {
				t.Errorf("history message %s differs from the live one %s", describe(m), describe(live[i]))
			}
		}
	}
}

func TestRoomStampsNeverGoBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	member := h.probe("member")
	join(t, h, "member", member)
	member.drain()
	sender := h.probe("sender")

	first := publish(t, h, sender, "member", "a")
	h.clock.set(t0.Add(-5 * time.Second)) // the clock steps back
	second := publish(t, h, sender, "member", "b")
	h.clock.set(t0.Add(2 * time.Second))
	third := publish(t, h, sender, "member", "c")

	if first.TsUnixMs != t0.UnixMilli() || second.TsUnixMs < first.TsUnixMs || third.TsUnixMs != h.clock.at(2*time.Second) {
		t.Fatalf("stamps %d, %d, %d: want %d, >= that, %d", first.TsUnixMs, second.TsUnixMs, third.TsUnixMs,
			t0.UnixMilli(), h.clock.at(2*time.Second))
	}
	for _, want := range []*chatpb.Published{first, second, third} {
		if d := expectMsg[*chatpb.Deliver](t, member, wait); d.Message.Id != want.Id || d.Message.TsUnixMs != want.TsUnixMs {
			t.Fatalf("delivery %s, want id %s ts %d", describe(d), want.Id, want.TsUnixMs)
		}
	}
}

func TestRoomRestoresHistoryAndLastStampFromTheStore(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := store.NewMemory(store.Config{Now: clock.now})
	for i, ts := range []time.Duration{time.Second, time.Minute} {
		mem.AppendPublic(&chatpb.Message{Id: fmt.Sprintf("old-%d", i), Kind: chatpb.Kind_KIND_PUBLIC,
			From: "alice", Text: fmt.Sprintf("old%d", i), TsUnixMs: clock.at(ts)}, nil)
	}
	// The server restarts with its clock behind the newest stored stamp.
	h := startHarness(t, Config{Store: mem, Clock: clock.now, MsgRate: NoRateLimit}, mem, clock)
	sender := h.probe("sender")
	if got := history(t, h, sender, 50, ""); !slices.Equal(texts(got), []string{"old0", "old1"}) {
		t.Fatalf("history after a restart: %v", texts(got))
	}
	p := publish(t, h, sender, "bob", "new")
	if p.TsUnixMs < clock.at(time.Minute) {
		t.Fatalf("a new message stamped %d, before the stored %d", p.TsUnixMs, clock.at(time.Minute))
	}
	if got := history(t, h, sender, 50, ""); !slices.Equal(texts(got), []string{"old0", "old1", "new"}) {
		t.Fatalf("history: %v", texts(got))
	}
}

func TestRoomPresenceStopsAboveTheLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.PresenceLimit = 2 })
	a, b, c := h.probe("a"), h.probe("b"), h.probe("c")
	join(t, h, "a", a)
	join(t, h, "b", b) // 2 online: a hears of it
	a.drain()
	b.drain()
	join(t, h, "c", c) // 3 online: nobody hears of it
	expectNoMsg(t, a, 0)
	expectNoMsg(t, b, 0)
	c.drain()

	h.root().Send(h.chat.deps.room, &chatpb.Leave{User: "c", Session: c.pid}) // back to 2
	for _, p := range []*probe{a, b} {
		if pr := expectMsg[*chatpb.Presence](t, p, wait); pr.User != "c" || pr.Online {
			t.Fatalf("%s: %s, want c offline", p.name, describe(pr))
		}
	}
}

// A member who leaves right after a public message of theirs was stamped
// is announced gone after that message, not before it, however long the
// message takes to be stored.
func TestRoomPresenceWaitsForMessagesStampedBeforeIt(t *testing.T) {
	t.Parallel()
	var gs *gatedStore
	h := newHarness(t, func(c *Config, mem *store.Memory) {
		gs = newGatedStore(mem)
		c.Store = gs
	})
	alice, bob := h.probe("alice"), h.probe("bob")
	join(t, h, "alice", alice)
	join(t, h, "bob", bob)
	alice.drain()
	bob.drain()

	gs.hold()
	sender := h.probe("sender")
	ref := "last words"
	h.root().Send(h.chat.deps.room, &chatpb.Publish{
		From: "bob", Text: "bye", Ref: &ref, ReplyTo: sender.pid, Session: bob.pid,
	})
	h.root().Send(h.chat.deps.room, &chatpb.Leave{User: "bob", Session: bob.pid})
	who(t, h, sender, "") // the room has handled both
	expectNoMsg(t, alice, 0)

	gs.releaseWrites()
	if d := expectMsg[*chatpb.Deliver](t, alice, wait); d.Message.Text != "bye" {
		t.Fatalf("alice: %s, want bob's message first", describe(d))
	}
	if pr := expectMsg[*chatpb.Presence](t, alice, wait); pr.User != "bob" || pr.Online {
		t.Fatalf("alice: %s, want bob offline after his message", describe(pr))
	}
}
