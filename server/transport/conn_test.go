package transport

// Sending: frames arrive in order, one message each; those with a Seq are
// confirmed by the pong to the ping that follows them, and only up to
// what was written; lazy frames wait at most a moment; every written
// frame is counted once, by tag; a peer that reads nothing overflows the
// outbox, and frames that are not queued are released.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSendWritesEveryFrameInOrder(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{})
	c, h := s.dial(t, clientOptions{answerPings: true})
	for i := range 500 {
		if err := h.conn.Send(Frame{Data: fmt.Appendf(nil, "f%d", i)}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if i%100 == 99 { // the write loop goes idle and starts again
			c.expectMessage(t, fmt.Sprintf("f%d", i-99))
			for j := i - 98; j <= i; j++ {
				c.expectMessage(t, fmt.Sprintf("f%d", j))
			}
		}
	}
}

func TestConfirmedAfterThePeerReadFrames(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		for seq := uint64(1); seq <= 3; seq++ {
			if err := h.conn.Send(Frame{Data: []byte("dm"), Seq: seq}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			c.expectMessage(t, "dm")
		}
		// The ping after the last batch carries 3 (at once, or after the
		// confirmation delay); its pong confirms every frame up to it.
		waitConfirmed(t, h, 3)
		// A pong the server never asked for cannot confirm more than was
		// written: it is read before the next frame's pong, and ignored.
		if err := c.ws.WriteControl(websocket.PongMessage, []byte("99"), time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		if err := h.conn.Send(Frame{Data: []byte("dm"), Seq: 4}); err != nil {
			t.Fatal(err)
		}
		expectValue(t, "confirmed after a made-up pong", h.confirmed, 4)
	})
}

// waitConfirmed takes Confirmed calls until one reports upTo; each must
// rise, and none exceed it.
func waitConfirmed(t *testing.T, h *fakeHandler, upTo uint64) {
	t.Helper()
	var last uint64
	for last < upTo {
		select {
		case got := <-h.confirmed:
			if got <= last || got > upTo {
				t.Fatalf("Confirmed(%d) after %d, want rising to %d", got, last, upTo)
			}
			last = got
		case <-time.After(waitFor):
			t.Fatalf("confirmed up to %d, want %d", last, upTo)
		}
	}
}

func TestKeepAlivePingsCarryTheWrittenSeq(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{PingInterval: 50 * time.Millisecond, PongWait: time.Minute})
	c, h := s.dial(t, clientOptions{answerPings: true})
	if err := h.conn.Send(Frame{Data: []byte("dm"), Seq: 7}); err != nil {
		t.Fatal(err)
	}
	c.expectMessage(t, "dm")
	deadline := time.After(waitFor)
	for sevens := 0; sevens < 3; { // the confirmation ping, then keep-alive pings
		select {
		case p := <-c.pings:
			if seq, err := strconv.ParseUint(p, 10, 64); err != nil || (seq != 0 && seq != 7) {
				t.Fatalf("ping %q, want 0 before the frame was written, 7 after", p)
			} else if seq == 7 {
				sevens++
			}
		case <-deadline:
			t.Fatal("no keep-alive pings carrying 7")
		}
	}
}

func TestLazyFramesKeepTheirOrderAndArrive(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{})
	c, h := s.dial(t, clientOptions{answerPings: true})
	send := func(data string, lazy bool) {
		t.Helper()
		if err := h.conn.Send(Frame{Data: []byte(data), Lazy: lazy}); err != nil {
			t.Fatal(err)
		}
	}
	send("lazy alone", true) // goes out after lazyDelay at the latest
	c.expectMessage(t, "lazy alone")
	send("lazy first", true)
	send("eager second", false) // takes the lazy one along
	c.expectMessage(t, "lazy first")
	c.expectMessage(t, "eager second")
}

func TestWrittenFramesAreTalliedByTag(t *testing.T) {
	t.Parallel()
	var frames, tag1, tag2 atomic.Int64
	s := startTransport(t, Config{OnWrite: func(t Tally) {
		frames.Add(int64(t.Frames))
		tag1.Add(int64(t.Tags[1]))
		tag2.Add(int64(t.Tags[2]))
	}})
	c, h := s.dial(t, clientOptions{answerPings: true})
	for i := range 30 {
		if err := h.conn.Send(Frame{Data: []byte("x"), Tag: uint8(1 + i%3)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 30 {
		c.expectMessage(t, "x")
	}
	deadline := time.Now().Add(waitFor)
	for tag1.Load() != 10 || tag2.Load() != 10 || frames.Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("tallied %d frames, tag 1: %d, tag 2: %d; want at least 30, 10, 10", frames.Load(), tag1.Load(), tag2.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A peer that reads nothing fills its socket, then the outbox: Send fails
// with ErrOverflow, releasing the frame it did not queue, and CloseNow
// drops what waits, releasing it too.
func TestOverflowReleasesWhatIsNotQueued(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{OutboxMax: 256 << 10})
	c, h := s.dial(t, clientOptions{noReader: true})
	var sent, released atomic.Int64
	data := make([]byte, 64<<10)
	var err error
	for i := 0; err == nil; i++ {
		if i > 100000 {
			t.Fatal("no overflow after 6 GB to a peer that reads nothing")
		}
		sent.Add(1)
		err = h.conn.Send(Frame{Data: data, Release: func() { released.Add(1) }})
	}
	if err != ErrOverflow {
		t.Fatalf("Send to a peer that reads nothing: %v, want ErrOverflow", err)
	}
	if released.Load() < 1 {
		t.Fatal("the frame that overflowed was not released")
	}
	h.conn.CloseNow(4001, "too slow")
	h.conn.CloseNow(4002, "twice") // the first counts
	// The write loop is stuck on the full socket until WriteWait; what it
	// holds is released when it gives up, the rest at once.
	if got := released.Load(); got < 2 {
		t.Fatalf("CloseNow released %d frames, want the queued ones", got)
	}
	_ = c.ws.NetConn().Close() // the peer goes: no waiting for WriteWait
	h.expectClosed(t, ending{4001, false})
	deadline := time.Now().Add(waitFor)
	for released.Load() != sent.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("released %d of %d frames", released.Load(), sent.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFramesOfEveryLengthEncoding sends text frames whose lengths take
// each of the three encodings of RFC 6455, 5.2 (7 bits, 16 bits, 64 bits),
// at their edges, through the outbox and the write loop's batches; the
// peer must read each whole, in order, and confirm them all.
func TestFramesOfEveryLengthEncoding(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{OutboxMax: 1 << 20})
	c, h := s.dial(t, clientOptions{answerPings: true})
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		if err := h.conn.Send(Frame{Data: data, Seq: uint64(i + 1)}); err != nil {
			t.Fatalf("Send %d bytes: %v", n, err)
		}
	}
	for i, n := range sizes {
		c.expectMessage(t, strings.Repeat(string(rune('a'+i)), n))
	}
	waitConfirmed(t, h, uint64(len(sizes)))
}
