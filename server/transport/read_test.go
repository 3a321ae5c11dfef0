package transport

// The read side, frame by frame: whatever way the client's bytes are cut
// into TCP writes, and wherever control frames fall, every message is
// read, whole and in order, and nothing else is. Each test runs under the
// poller (whose reader yields at message boundaries) and with a reading
// goroutine per connection.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Opcodes (RFC 6455 5.2) for clientFrame.
const (
	opContinuation = 0x0
	opText         = websocket.TextMessage
	opPing         = websocket.PingMessage
)

func saying(i int) []byte {
	return fmt.Appendf(nil, `{"type":"say","text":"m%d","ref":"r%d"}`, i, i)
}

// expectSayings expects saying(from..to-1) at the handler, in order.
func expectSayings(t *testing.T, h *fakeHandler, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		h.expectMessage(t, string(saying(i)))
	}
}

func TestReaderReadsEveryFrameOfOneWrite(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		var burst []byte
		for i := range 50 {
			burst = append(burst, clientFrame(opText, true, saying(i))...)
		}
		c.writeRaw(t, burst)
		expectSayings(t, h, 0, 50)
	})
}

func TestReaderReadsFramesSentByteByByte(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		var stream []byte
		stream = append(stream, clientFrame(opText, true, saying(0))...)
		stream = append(stream, clientFrame(opPing, true, []byte("p"))...)
		stream = append(stream, clientFrame(opText, true, saying(1))...)
		for i := range stream {
			c.writeRaw(t, stream[i:i+1]) // the client sets TCP_NODELAY: a segment each
		}
		expectSayings(t, h, 0, 2)
		expectValue(t, "pong", c.pongs, "p")
	})
}

// A read that ends inside a frame, wherever (in the header, after it, in
// the mask or the payload), leaves the reader mid-frame: it must wait for
// the rest there, not yield.
func TestReaderWaitsForTheRestOfAFrame(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		for i, cut := range []int{1, 2, 3, 6, 9} {
			first := clientFrame(opText, true, saying(2*i))
			second := clientFrame(opText, true, saying(2*i+1))
			c.writeRaw(t, append(first, second[:cut]...))
			h.expectMessage(t, string(saying(2*i))) // the server has read the first frame, and waits
			c.writeRaw(t, second[cut:])
			h.expectMessage(t, string(saying(2*i+1)))
		}
	})
}

// A control frame between the fragments of a message is a frame boundary
// but not a message boundary: the reader must wait for the rest of the
// message there, not yield.
func TestReaderWaitsForFragmentsAfterAControlFrame(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		msg := saying(0)
		c.writeRaw(t, clientFrame(opText, false, msg[:10]))
		c.writeRaw(t, clientFrame(opPing, true, []byte("between")))
		expectValue(t, "pong", c.pongs, "between") // the server has read the ping, and waits
		c.writeRaw(t, clientFrame(opContinuation, true, msg[10:]))
		expectSayings(t, h, 0, 1)
		c.writeRaw(t, clientFrame(opText, true, saying(1)))
		expectSayings(t, h, 1, 2)
	})
}

// A peer that stops in the middle of a frame, and so answers no ping, is
// closed once PongWait has passed, though its reader is blocked mid-frame.
func TestReaderStalledMidFrameIsClosed(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.PingInterval, cfg.PongWait = 50*time.Millisecond, 300*time.Millisecond
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{})
		f := clientFrame(opText, true, saying(0))
		c.writeRaw(t, f[:len(f)/2])
		c.expectClose(t, websocket.CloseNormalClosure)
		h.expectClosed(t, ending{websocket.CloseNormalClosure, false})
	})
}

// Frames cut at random into writes, with control frames between messages
// and between fragments, all arrive whole and in order. After each write
// that completes a message the test waits for it, so the server has read
// everything sent and the next read starts wherever the cut fell.
func TestReaderReadsAStreamCutAnywhere(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		rng := rand.New(rand.NewPCG(5, 6))
		var stream []byte
		var ends []int // where each message's last frame ends in stream
		const n = 60
		for i := range n {
			msg := saying(i)
			switch i % 3 {
			case 0:
				stream = append(stream, clientFrame(opText, true, msg)...)
			case 1:
				stream = append(stream, clientFrame(opPing, true, fmt.Appendf(nil, "p%d", i))...)
				stream = append(stream, clientFrame(opText, true, msg)...)
			case 2: // fragmented, a ping between the fragments
				stream = append(stream, clientFrame(opText, false, msg[:7])...)
				stream = append(stream, clientFrame(opPing, true, fmt.Appendf(nil, "p%d", i))...)
				stream = append(stream, clientFrame(opContinuation, true, msg[7:])...)
			}
			ends = append(ends, len(stream))
		}
		received := 0
		for sent := 0; sent < len(stream); {
			cut := min(len(stream), sent+1+rng.IntN(60))
			c.writeRaw(t, stream[sent:cut])
			sent = cut
			for ; received < n && ends[received] <= sent; received++ {
				expectSayings(t, h, received, received+1)
			}
		}
		var pinged []string
		for i := range n {
			if i%3 != 0 {
				pinged = append(pinged, fmt.Sprintf("p%d", i))
			}
		}
		expectPongsTo(t, c, pinged)
	})
}

// expectPongsTo takes pongs until one answers the last of pinged. A pong
// may answer several pings (the latest of those that waited), so the
// pongs are a subsequence of pinged, in order.
func expectPongsTo(t *testing.T, c *testClient, pinged []string) {
	t.Helper()
	next := 0
	for next < len(pinged) {
		select {
		case got := <-c.pongs:
			i := slices.Index(pinged[next:], got)
			if i < 0 {
				t.Fatalf("pong %q, want one of %v", got, pinged[next:])
			}
			next += i + 1
		case <-time.After(waitFor):
			t.Fatalf("no pong for %v within %v", pinged[next:], waitFor)
		}
	}
}

// sized returns a client text frame of exactly n bytes (n in 7..131)
// and the message it carries: a saying padded with blanks.
func sized(t *testing.T, i, n int) (frame []byte, msg string) {
	t.Helper()
	text := saying(i)
	pad := n - 6 - len(text) // 2 bytes of header and 4 of mask
	if pad < 0 || n-6 > 125 {
		t.Fatalf("no frame of %d bytes holds %q", n, text)
	}
	text = append(text, bytes.Repeat([]byte(" "), pad)...)
	return clientFrame(opText, true, text), string(text)
}

// The poller reports data that arrives, not data a read leaves behind. A
// burst whose first readBufferSize bytes end exactly at a message
// boundary fills the reader's first read there; the rest waits in the
// socket with no event to come, as no more data follows. The reader must
// read on rather than yield.
func TestReaderReadsOnAfterAReadThatFilledItsBuffer(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		const frameSize = 64
		var burst []byte
		var msgs []string
		for i := range 2 * readBufferSize / frameSize {
			f, m := sized(t, i, frameSize)
			burst, msgs = append(burst, f...), append(msgs, m)
		}
		c.writeRaw(t, burst)
		for _, m := range msgs {
			h.expectMessage(t, m)
		}
	})
}

// Data that arrives while a reader's turn runs is reported during the
// turn: the running reader takes another turn for it, and no second
// reader starts. Clients write bursts of frames, a write each, and wait
// until the server has them all before the next: the last frame of a
// burst often arrives while the reader is busy with the ones before it,
// and if that report were lost, nothing more would come to read it (a
// second reader, on the other hand, would break the order or the stream).
func TestReaderLosesNoArrivalDuringATurn(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		const clients, rounds, burst = 8, 300, 4
		cs, hs := make([]*testClient, clients), make([]*fakeHandler, clients)
		for i := range clients {
			cs[i], hs[i] = s.dial(t, clientOptions{answerPings: true})
		}
		for r := range rounds {
			for i := r * burst; i < (r+1)*burst; i++ {
				for _, c := range cs {
					c.writeRaw(t, clientFrame(opText, true, saying(i)))
				}
			}
			for _, h := range hs {
				expectSayings(t, h, r*burst, (r+1)*burst)
			}
		}
	})
}

// The same, made certain: the reader is held inside a message until the
// poller has reported the next one's arrival (the turn's state says so),
// which it must do although a turn is running; released, it reads that
// message in another turn, with nothing more arriving.
func TestReaderTakesAnotherTurnForDataThatArrivedDuringOne(t *testing.T) {
	t.Parallel()
	s := startTransport(t, Config{})
	inTurn, reported := make(chan struct{}), make(chan bool, 1)
	s.setup = func(h *fakeHandler) {
		h.onMessage = func(c *Conn, data string) {
			if data != string(saying(0)) {
				return
			}
			close(inTurn)
			reported <- awaitTrue(func() bool { return c.turns.Load() == turnAgain })
		}
	}
	c, h := s.dial(t, clientOptions{answerPings: true})
	c.writeRaw(t, clientFrame(opText, true, saying(0)))
	expectValue(t, "reader in its turn", inTurn, struct{}{})
	c.writeRaw(t, clientFrame(opText, true, saying(1)))
	expectValue(t, "arrival reported during the turn", reported, true)
	expectSayings(t, h, 0, 2)
}

// awaitTrue polls cond until it holds or waitFor passes.
func awaitTrue(cond func() bool) bool {
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
