package server_test

// The read side, frame by frame: whatever way the client's bytes are cut
// into TCP writes, and wherever control frames fall, every frame is read,
// in order, and nothing else is. Each test runs under the poller (whose
// reader yields at frame boundaries) and with a reading goroutine per
// connection.

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/actorchat/chat/server"
)

// readModes runs f under each way of reading.
func readModes(t *testing.T, f func(t *testing.T, mode option)) {
	for _, goroutines := range []bool{false, true} {
		name := map[bool]string{false: "poller", true: "goroutines"}[goroutines]
		t.Run(name, func(t *testing.T) {
			f(t, withServer(func(c *server.Config) { c.ReadGoroutines = goroutines }))
		})
	}
}

// Opcodes (RFC 6455 5.2) for rawFrame.
const (
	opContinuation = 0x0
	opText         = 0x1
	opPing         = 0x9
)

// rawFrame is a client frame built by hand (masked, as clients must), so
// that a test decides how frames are cut into writes.
func rawFrame(op byte, fin bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	if len(payload) > 125 {
		panic("rawFrame: payloads up to 125 bytes only")
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := append([]byte{b0, 0x80 | byte(len(payload))}, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}

func saying(i int) []byte {
	return fmt.Appendf(nil, `{"type":"say","text":"m%d","ref":"r%d"}`, i, i)
}

// writeRaw writes bytes to the client's TCP connection, under gorilla.
func writeRaw(t *testing.T, c *client, b []byte) {
	t.Helper()
	nc := c.ws.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("%s: raw write: %v", c.user, err)
	}
}

// expectReceipts expects the receipts of saying(0..n-1), in order.
func expectReceipts(t *testing.T, c *client, n int) {
	t.Helper()
	for i := range n {
		ref := fmt.Sprintf("r%d", i)
		c.expectFrame(t, "receipt "+ref, func(f frame) bool { return f.Type == "sent" && refIs(f, ref) })
	}
}

func TestReaderReadsEveryFrameOfOneWrite(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, noRateLimit())
		c := join(t, e, "burst")
		var burst []byte
		for i := range 50 {
			burst = append(burst, rawFrame(opText, true, saying(i))...)
		}
		writeRaw(t, c, burst)
		expectReceipts(t, c, 50)
	})
}

func TestReaderReadsFramesSentByteByByte(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, noRateLimit())
		pongs := make(chan string, 10)
		c := join(t, e, "trickle", withPongHook(func(d string) { pongs <- d }))
		var stream []byte
		stream = append(stream, rawFrame(opText, true, saying(0))...)
		stream = append(stream, rawFrame(opPing, true, []byte("p"))...)
		stream = append(stream, rawFrame(opText, true, saying(1))...)
		for i := range stream {
			writeRaw(t, c, stream[i:i+1]) // the client sets TCP_NODELAY: a segment each
		}
		expectReceipts(t, c, 2)
		expectPong(t, pongs, "p")
	})
}

// A read that ends inside a frame, wherever (in the header, after it, in
// the mask or the payload), leaves the reader mid-frame: it must wait for
// the rest there, not yield.
func TestReaderWaitsForTheRestOfAFrame(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, noRateLimit())
		c := join(t, e, "halves")
		for i, cut := range []int{1, 2, 3, 6, 9} {
			first := rawFrame(opText, true, saying(2*i))
			second := rawFrame(opText, true, saying(2*i+1))
			writeRaw(t, c, append(first, second[:cut]...))
			ref := fmt.Sprintf("r%d", 2*i)
			// The server has read the first frame, and waits.
			c.expectFrame(t, "receipt "+ref, func(f frame) bool { return f.Type == "sent" && refIs(f, ref) })
			writeRaw(t, c, second[cut:])
			ref = fmt.Sprintf("r%d", 2*i+1)
			c.expectFrame(t, "receipt "+ref, func(f frame) bool { return f.Type == "sent" && refIs(f, ref) })
		}
	})
}

// A control frame between the fragments of a message is a frame boundary
// but not a message boundary: the reader must wait for the rest of the
// message there, not yield.
func TestReaderWaitsForFragmentsAfterAControlFrame(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, noRateLimit())
		pongs := make(chan string, 10)
		c := join(t, e, "fragments", withPongHook(func(d string) { pongs <- d }))
		msg := saying(0)
		writeRaw(t, c, rawFrame(opText, false, msg[:10]))
		writeRaw(t, c, rawFrame(opPing, true, []byte("between")))
		expectPong(t, pongs, "between") // the server has read the ping, and waits
		writeRaw(t, c, rawFrame(opContinuation, true, msg[10:]))
		expectReceipts(t, c, 1)
		if u := c.who(t, "", "after"); u.Online != 1 {
			t.Errorf("who after a fragmented message: %s", u.Raw)
		}
	})
}

// A peer that stops in the middle of a frame, and so answers no ping, is
// closed once PongWait has passed, though its reader is blocked mid-frame.
func TestReaderStalledMidFrameIsClosed(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, fastPings())
		c := join(t, e, "stalled", withPingHook(func(string) bool { return false }))
		f := rawFrame(opText, true, saying(0))
		writeRaw(t, c, f[:len(f)/2])
		_, err, timedOut := c.next(waitFor)
		if timedOut || err == nil {
			t.Fatalf("a peer stalled mid-frame stayed connected (timed out %v)", timedOut)
		}
		eventually(t, "connection gone", func() bool { return e.srv.Open() == 0 })
	})
}

// Frames cut at random into writes, with control frames between messages
// and between fragments, all arrive whole and in order. After each write
// that completes a message the test waits for its receipt, so the server
// has read everything sent and the next read starts wherever the cut fell.
func TestReaderReadsAStreamCutAnywhere(t *testing.T) {
	readModes(t, func(t *testing.T, mode option) {
		e := startServer(t, mode, noRateLimit())
		pongs := make(chan string, 100)
		c := join(t, e, "cuts", withPongHook(func(d string) { pongs <- d }))
		rng := rand.New(rand.NewPCG(5, 6))
		var stream []byte
		var ends []int // where each message's last frame ends in stream
		const n = 60
		for i := range n {
			msg := saying(i)
			switch i % 3 {
			case 0:
				stream = append(stream, rawFrame(opText, true, msg)...)
			case 1:
				stream = append(stream, rawFrame(opPing, true, fmt.Appendf(nil, "p%d", i))...)
				stream = append(stream, rawFrame(opText, true, msg)...)
			case 2: // fragmented, a ping between the fragments
				stream = append(stream, rawFrame(opText, false, msg[:7])...)
				stream = append(stream, rawFrame(opPing, true, fmt.Appendf(nil, "p%d", i))...)
				stream = append(stream, rawFrame(opContinuation, true, msg[7:])...)
			}
			ends = append(ends, len(stream))
		}
		received := 0
		for sent := 0; sent < len(stream); {
			cut := min(len(stream), sent+1+rng.IntN(60))
			writeRaw(t, c, stream[sent:cut])
			sent = cut
			for ; received < n && ends[received] <= sent; received++ {
				ref := fmt.Sprintf("r%d", received)
				c.expectFrame(t, "receipt "+ref, func(f frame) bool { return f.Type == "sent" && refIs(f, ref) })
			}
		}
		for i := range n {
			if i%3 != 0 {
				expectPong(t, pongs, fmt.Sprintf("p%d", i))
			}
		}
	})
}

func expectPong(t *testing.T, pongs <-chan string, want string) {
	t.Helper()
	select {
	case got := <-pongs:
		if got != want {
			t.Fatalf("pong %q, want %q", got, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("no pong %q within %v", want, waitFor)
	}
}
