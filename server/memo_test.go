package server

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/server/transport"
)

// countingRender renders a key as its text and counts the calls.
type countingRender struct {
	mu    sync.Mutex
	calls int
}

func (c *countingRender) render(s *string) ([]byte, bool) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return []byte(*s), true
}

func TestMemoRendersOncePerFanout(t *testing.T) {
	t.Parallel()
	var m memo[string]
	var r countingRender
	a, b := strp("a"), strp("a") // equal values, different messages
	first, _ := m.frame(a, r.render)
	for range 100 {
		if got, ok := m.frame(a, r.render); !ok || &got[0] != &first[0] {
			t.Fatal("a repeated key did not get the remembered frame")
		}
	}
	if r.calls != 1 {
		t.Fatalf("one key, %d renders", r.calls)
	}
	m.frame(b, r.render)
	m.frame(a, r.render)
	if r.calls != 3 {
		t.Fatalf("keys a, b, a: %d renders, want 3 (the memo is keyed by pointer and holds one)", r.calls)
	}
}

func TestMemoForgetsFailedRenderings(t *testing.T) {
	t.Parallel()
	var m memo[string]
	calls := 0
	fail := func(*string) ([]byte, bool) { calls++; return nil, false }
	k := strp("k")
	for range 2 {
		if data, ok := m.frame(k, fail); ok || data != nil {
			t.Fatalf("frame = %q, %v; want nothing", data, ok)
		}
	}
	if calls != 2 {
		t.Fatalf("a failed rendering was remembered: %d calls", calls)
	}
}

// TestMemoIsSafeForConcurrentUse has goroutines race with keys of their
// own: whatever they evict, each must get its own key's frame.
func TestMemoIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	var m memo[string]
	var r countingRender
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := strp(fmt.Sprint(g, "/", i%3))
				if got, ok := m.frame(k, r.render); !ok || string(got) != *k {
					errs <- fmt.Errorf("key %q got frame %q", *k, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSessionsShareOneFramePerFanout hands a fan-out's messages to several
// sessions, as the room does, and checks what their outboxes hold: one
// rendering per public message and presence notice, the right bytes, and
// private messages rendered for their recipient alone, without evicting
// the fan-out in progress.
func TestSessionsShareOneFramePerFanout(t *testing.T) {
	t.Parallel()
	conns := benchSessions(3)
	public := &chatpb.Deliver{Message: &chatpb.Message{Id: "m1", Kind: chatpb.Kind_KIND_PUBLIC, From: "alice", Text: "hi", TsUnixMs: ts0}}
	presence := &chatpb.Presence{User: "bob", Online: true, TsUnixMs: ts0}
	dm := &chatpb.Deliver{Seq: 1, Message: &chatpb.Message{Id: "m2", Kind: chatpb.Kind_KIND_DM, From: "alice", To: "bob", Text: "psst", TsUnixMs: ts0}}
	for _, c := range conns {
		c.SendUserMessage(nil, public)
		c.SendUserMessage(nil, dm)
		c.SendUserMessage(nil, presence)
	}
	for i, c := range conns {
		if n := len(c.link().frames); n != 3 {
			t.Fatalf("session %d queued %d frames, want 3", i, n)
		}
	}
	for j, ev := range []any{public, dm, presence} {
		want, _ := appendEvent(nil, ev)
		first := conns[0].link().frames[j]
		for i, c := range conns {
			f := c.link().frames[j]
			if string(f.Data) != string(want) {
				t.Fatalf("session %d, frame %d: %q, want %q", i, j, f.Data, want)
			}
			shared := &f.Data[0] == &first.Data[0]
			if isDM := ev == dm; shared == isDM && i > 0 {
				t.Errorf("frame %d (%T): shared with session 0 is %v, want %v", j, ev, shared, !isDM)
			}
		}
	}
	if f := conns[0].link().frames; !f[2].Lazy || f[0].Lazy {
		t.Error("presence notices may wait for company (lazy); messages may not")
	}
}

// fakeLink stands in for a session's transport connection: it keeps every
// frame queued, in order, until reset.
type fakeLink struct {
	id     uint64
	frames []transport.Frame
	closed int // the close code asked for; 0 while open
}

func (l *fakeLink) ID() uint64 { return l.id }
func (l *fakeLink) Send(f transport.Frame) error {
	l.frames = append(l.frames, f)
	return nil
}
func (l *fakeLink) Close(code int, _ string)    { l.closed = code }
func (l *fakeLink) CloseNow(code int, _ string) { l.closed = code }

// reset forgets the frames queued so far, keeping the slice's room.
func (l *fakeLink) reset() { l.frames = l.frames[:0] }

// link returns a test session's fake link.
func (ss *session) link() *fakeLink { return ss.tc.(*fakeLink) }

// benchSessions returns n sessions of one server whose connections are
// fakes that record what is queued.
func benchSessions(n int) []*session {
	srv := &Server{metrics: NewMetrics(nil)}
	sessions := make([]*session, n)
	for i := range sessions {
		sessions[i] = &session{srv: srv, user: "u" + strconv.Itoa(i), tc: &fakeLink{id: uint64(i + 1)}}
	}
	return sessions
}
