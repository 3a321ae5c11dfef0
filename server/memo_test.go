package server

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
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
	batches := make([][]frame, len(conns))
	for i, c := range conns {
		if batches[i] = c.out.take(); len(batches[i]) != 3 {
			t.Fatalf("session %d queued %d frames, want 3", i, len(batches[i]))
		}
	}
	for j, ev := range []any{public, dm, presence} {
		want, _ := appendEvent(nil, ev)
		for i := range conns {
			f := batches[i][j]
			if f.op != websocket.TextMessage || string(f.data) != string(want) {
				t.Fatalf("session %d, frame %d: %q, want %q", i, j, f.data, want)
			}
			shared := &f.data[0] == &batches[0][j].data[0]
			if isDM := ev == dm; shared == isDM && i > 0 {
				t.Errorf("frame %d (%T): shared with session 0 is %v, want %v", j, ev, shared, !isDM)
			}
		}
	}
	if !batches[0][2].lazy || batches[0][0].lazy {
		t.Error("presence notices may wait for company (lazy); messages may not")
	}
}

// benchSessions returns n sessions of one server, each with a write loop
// marked as running, so that pushes only queue and the caller takes the
// batches itself.
func benchSessions(n int) []*conn {
	srv := &Server{metrics: NewMetrics(nil)}
	conns := make([]*conn, n)
	for i := range conns {
		c := &conn{srv: srv, user: "u" + strconv.Itoa(i)}
		c.out.max, c.out.writing = 1<<30, true
		conns[i] = c
	}
	return conns
}
