package transport

import (
	"testing"

	"github.com/gorilla/websocket"
)

func text(n int) frame {
	return frame{op: websocket.TextMessage, Frame: Frame{Data: make([]byte, n)}}
}

func TestOutboxLimitCountsTextFramesOnly(t *testing.T) {
	t.Parallel()
	o := outbox{max: 100}
	if r := o.push(text(60)); r != pushedIdle {
		t.Fatalf("first push: %v, want pushedIdle (start a write loop)", r)
	}
	if r := o.push(text(40)); r != pushed {
		t.Fatalf("push to the limit: %v, want pushed", r)
	}
	if r := o.push(frame{op: websocket.PingMessage, Frame: Frame{Data: []byte("1")}}); r != pushed {
		t.Fatalf("a control frame at the limit: %v, want pushed", r)
	}
	if r := o.push(text(1)); r != overflow {
		t.Fatalf("a byte past the limit: %v, want overflow", r)
	}
	if got := len(o.take()); got != 3 {
		t.Fatalf("took %d frames, want 3 (not the one that overflowed)", got)
	}
	if r := o.push(text(100)); r != pushed {
		t.Fatalf("after a take the limit is free again: %v", r)
	}
}

func TestOutboxCloseComesLastAndOnce(t *testing.T) {
	t.Parallel()
	o := outbox{max: 100}
	o.push(text(10))
	start, ok, gone := o.close(4000, []byte("x"), false, false)
	if start || !ok || gone != nil {
		t.Fatalf("close behind a queued frame: start %v ok %v gone %d", start, ok, len(gone))
	}
	if _, ok, _ := o.close(1000, nil, true, true); ok {
		t.Fatal("a second close counted")
	}
	if r := o.push(text(1)); r != dropped {
		t.Fatalf("push after close: %v, want dropped", r)
	}
	batch := o.take()
	if len(batch) != 2 || batch[0].op != websocket.TextMessage || batch[1].op != websocket.CloseMessage {
		t.Fatalf("batch %+v, want the text frame, then the close", batch)
	}
	if code, byPeer := o.ending(); code != 4000 || byPeer {
		t.Fatalf("ending %d byPeer %v, want the first close's 4000", code, byPeer)
	}
}

func TestOutboxCloseNowDiscardsWhatWaits(t *testing.T) {
	t.Parallel()
	o := outbox{max: 100}
	o.push(text(10))
	o.push(text(20))
	_, ok, gone := o.close(4001, nil, false, true)
	if !ok || len(gone) != 2 {
		t.Fatalf("close with discard: ok %v, %d frames handed back, want 2", ok, len(gone))
	}
	if batch := o.take(); len(batch) != 1 || batch[0].op != websocket.CloseMessage {
		t.Fatalf("batch %+v, want the close frame alone", batch)
	}
}

func TestOutboxLazyFrameWaitsForCompany(t *testing.T) {
	t.Parallel()
	o := outbox{max: 100}
	lazy := text(5)
	lazy.Lazy = true
	if r := o.push(lazy); r != pushedLazy {
		t.Fatalf("lazy push to an idle outbox: %v, want pushedLazy", r)
	}
	if r := o.push(text(5)); r != pushedIdle {
		t.Fatalf("a frame after a lazy one: %v, want pushedIdle", r)
	}
	if o.wakeLazy() {
		t.Fatal("wakeLazy started a second write loop")
	}
	if got := len(o.take()); got != 2 {
		t.Fatalf("took %d, want both frames in one batch", got)
	}
}

// A peer's pings are answered by pongs that do not count against the
// limit, so they must not pile up either: a pong waiting in the outbox
// takes the payload of the next one instead of queuing another.
func TestOutboxKeepsOnePongWaiting(t *testing.T) {
	t.Parallel()
	o := outbox{max: 100}
	pong := func(p string) frame { return frame{op: websocket.PongMessage, Frame: Frame{Data: []byte(p)}} }
	if r := o.push(pong("1")); r != pushedIdle {
		t.Fatalf("first pong: %v, want pushedIdle", r)
	}
	o.push(text(10))
	for _, p := range []string{"2", "3"} {
		if r := o.push(pong(p)); r != pushed {
			t.Fatalf("pong %s while one waits: %v, want pushed", p, r)
		}
	}
	batch := o.take()
	if len(batch) != 2 || batch[0].op != websocket.PongMessage || string(batch[0].Data) != "3" {
		t.Fatalf("batch %+v, want one pong carrying the latest ping's 3, then the text", batch)
	}
	o.push(pong("4")) // the waiting pong went with the batch: this one queues
	if batch := o.take(); len(batch) != 1 || string(batch[0].Data) != "4" {
		t.Fatalf("after a take: %+v, want the new pong alone", batch)
	}
}
