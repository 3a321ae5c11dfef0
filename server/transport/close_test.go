package transport

// Closing: the codes the transport sends itself, the handshake either way,
// and the lingering close: after its close frame a connection shuts its
// write side and keeps reading until the peer answers, so that a peer
// that is still sending reads the close frame rather than a reset.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/internal/testload"
)

// expectNoMessage checks that the handler got no message; after Closed
// nothing more can come.
func expectNoMessage(t *testing.T, h *fakeHandler) {
	t.Helper()
	select {
	case m := <-h.messages:
		t.Fatalf("handler got %.60q from a message that closes the connection", m)
	default:
	}
}

func TestTransportClosesForMessagesItCannotTake(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.MaxMessage = 100
		s := startTransport(t, cfg)
		cases := []struct {
			name string
			op   int
			data string
			code int
		}{
			{"binary", websocket.BinaryMessage, "x", websocket.CloseUnsupportedData},
			{"invalid UTF-8", websocket.TextMessage, "ok \xff", websocket.CloseInvalidFramePayloadData},
			{"one byte over the limit", websocket.TextMessage, strings.Repeat("x", 101), websocket.CloseMessageTooBig},
			{"far over the limit", websocket.TextMessage, strings.Repeat("x", 1<<20), websocket.CloseMessageTooBig},
		}
		for _, tc := range cases {
			c, h := s.dial(t, clientOptions{answerPings: true})
			go func() { _ = c.ws.WriteMessage(tc.op, []byte(tc.data)) }() // the server need not read it all
			c.expectClose(t, tc.code)                                     // gorilla's client answers it
			h.expectClosed(t, ending{tc.code, false})
			expectNoMessage(t, h)
		}
		c, h := s.dial(t, clientOptions{answerPings: true})
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("y", 100))); err != nil {
			t.Fatal(err)
		}
		h.expectMessage(t, strings.Repeat("y", 100))
	})
}

// An oversize message is closed with 1009 at limit+1 bytes, and the rest
// of it skipped: a ping met while skipping is inside the message, not a
// boundary, so the reader must not yield there; the stream stays in step,
// and the peer's close frame is read.
func TestOversizeMessageIsSkippedInStep(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		logs := &logRecorder{}
		cfg.MaxMessage, cfg.Logger = 100, slog.New(logs)
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{noReader: true})
		c.writeRaw(t, append(rawFrame(opText, false, 60), rawFrame(opContinuation, false, 60)...))
		readClose(t, c, websocket.CloseMessageTooBig)
		c.writeRaw(t, clientFrame(opPing, true, []byte("inside"))) // the server skips, blocked mid-message
		eventuallyBlocked(t)
		c.writeRaw(t, rawFrame(opContinuation, true, 10))
		c.writeRaw(t, clientFrame(opText, true, []byte("after")))
		c.writeRaw(t, clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(4100, "")))
		h.expectClosed(t, ending{websocket.CloseMessageTooBig, false})
		expectNoMessage(t, h)
		if logs.logged("malformed stream") {
			t.Fatal("the stream went out of step while skipping the oversize message")
		}
	})
}

// rawFrame is a client frame of n payload bytes, any length.
func rawFrame(op int, fin bool, n int) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0, 0x80 | 126, byte(n >> 8), byte(n), 0, 0, 0, 0} // zero mask key
	return append(f, make([]byte, n)...)
}

// readClose reads raw from the client's socket until a whole close frame
// with code has come.
func readClose(t *testing.T, c *testClient, code int) {
	t.Helper()
	want := websocket.FormatCloseMessage(code, "")
	_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(waitFor))
	head := make([]byte, 4)
	if _, err := io.ReadFull(c.ws.NetConn(), head); err != nil {
		t.Fatalf("reading the close frame: %v", err)
	}
	if head[0] != 0x88 || head[2] != want[0] || head[3] != want[1] {
		t.Fatalf("got frame % x, want a close frame with code %d", head, code)
	}
	if _, err := io.CopyN(io.Discard, c.ws.NetConn(), int64(head[1])-2); err != nil {
		t.Fatalf("reading the close text: %v", err)
	}
}

// eventuallyBlocked gives the server's reader a moment to take what was
// written: there is nothing to await (it must not answer a ping while
// closing), so this is the one bounded pause in these tests.
func eventuallyBlocked(t *testing.T) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
}

func TestPeerCloseIsAnsweredWithItsCode(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4321, "bye"), time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		c.expectClose(t, 4321)
		h.expectClosed(t, ending{4321, true})
	})
}

func TestPeerThatDisappearsEndsNormally(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		_ = c.ws.NetConn().Close()
		h.expectClosed(t, ending{websocket.CloseNormalClosure, true})
	})
}

func TestCloseComesAfterWhatWasQueued(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{answerPings: true})
		for i := range 3 {
			if err := h.conn.Send(Frame{Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		h.conn.Close(4000, "bye")
		h.conn.Close(1001, "too late") // the first close counts
		if err := h.conn.Send(Frame{Data: []byte("after")}); err != ErrClosed {
			t.Fatalf("Send after Close: %v, want ErrClosed", err)
		}
		for i := range 3 {
			c.expectMessage(t, fmt.Sprintf("m%d", i))
		}
		c.expectClose(t, 4000)
		h.expectClosed(t, ending{4000, false})
	})
}

// After its close frame the server shuts its write side: a client reading
// the raw stream sees the close frame, then EOF, while the server still
// reads, and ends the connection when the client's close frame comes.
func TestCloseFrameIsFollowedByFINAndLingering(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.CloseGrace = time.Minute // longer than the test: only the client's close ends it
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{noReader: true})
		h.conn.Close(4000, "")
		readClose(t, c, 4000)
		if n, err := c.ws.NetConn().Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("after the close frame: read %d bytes, %v; want EOF", n, err)
		}
		select {
		case e := <-h.closed:
			t.Fatalf("Closed(%d) before the client answered: no lingering", e.code)
		default:
		}
		c.writeRaw(t, clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(4000, "")))
		h.expectClosed(t, ending{4000, false})
	})
}

// A peer that never answers the close frame and never stops sending is
// dropped once CloseGrace has passed.
func TestLingeringIsBoundedByCloseGrace(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.CloseGrace = 200 * time.Millisecond
		s := startTransport(t, cfg)
		c, h := s.dial(t, clientOptions{noReader: true})
		stop := make(chan struct{})
		defer close(stop)
		go func() { // raw frames, as fast as the server takes them, until it resets
			f := clientFrame(opText, true, []byte("never stops"))
			nc := c.ws.NetConn()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = nc.SetWriteDeadline(time.Now().Add(waitFor))
				if _, err := nc.Write(f); err != nil {
					return
				}
			}
		}()
		h.expectMessage(t, "never stops")
		h.conn.Close(1008, "stop")
		h.expectClosed(t, ending{1008, false})
	})
}

// A peer that sends on for a while before it reads anything, with a
// backlog of frames to read and a small receive buffer, must still find the
// close frame behind the backlog. While the peer's window is full the
// close frame waits in the server's send buffer; a socket closed with the
// peer's data unread would answer with a reset and throw that buffer
// away. The server lingers instead, reading, until the peer has read its
// way to the close frame and answered it.
func TestLateReaderStillReadsItsCloseCode(t *testing.T) {
	t.Parallel()
	readModes(t, func(t *testing.T, cfg Config) {
		cfg.OutboxMax = 4 << 20
		s := startTransport(t, cfg)
		s.setup = closeOnRequest
		for _, sc := range streamCases {
			c, h := s.dial(t, clientOptions{noReader: true, dialer: smallReceiveBuffer()})
			backlog := make([]byte, 16<<10)
			for range 128 { // 2 MiB: more than the client's buffer and window
				if err := h.conn.Send(Frame{Data: backlog}); err != nil {
					t.Fatal(err)
				}
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(waitFor))
			sent := make(chan error, 1)
			go func() {
				err := sc.start(c.ws)
				if err == nil {
					err = streamFor(c.ws, 300*time.Millisecond)
				}
				sent <- err
			}()
			time.Sleep(300 * time.Millisecond) // sending, not waiting: the peer reads late on purpose
			var err error
			for err == nil {
				_ = c.ws.SetReadDeadline(time.Now().Add(waitFor)) // each frame's wait, not the backlog's
				_, _, err = c.ws.ReadMessage()
			}
			if !websocket.IsCloseError(err, sc.code) {
				t.Fatalf("%s: a late reader read %v, want close %d", sc.name, err, sc.code)
			}
			if err := <-sent; err != nil { // ended, or failed once the close was answered
				t.Logf("%s: the write: %v", sc.name, err)
			}
			h.expectClosed(t, ending{sc.code, false})
		}
	})
}

// smallReceiveBuffer dials with a 256 KiB socket receive buffer, so that
// a peer that does not read fills its window long before the backlog is
// through. (Much smaller, below loopback's 64 KiB segments, and TCP only
// crawls on window probes even while the peer reads.)
func smallReceiveBuffer() websocket.Dialer {
	return websocket.Dialer{
		HandshakeTimeout: waitFor,
		WriteBufferSize:  8 << 10,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := nc.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(256 << 10)
			}
			return nc, err
		},
	}
}

// streamFor sends plain lines for d, or until writing fails.
func streamFor(ws *websocket.Conn, d time.Duration) error {
	line := []byte(strings.Repeat("stream ", 40))
	for end := time.Now().Add(d); time.Now().Before(end); {
		if err := ws.WriteMessage(websocket.TextMessage, line); err != nil {
			return err
		}
	}
	return nil
}

// closeOnRequest makes a handler close its connection with 1008 when the
// peer sends "close me", as the chat closes a flooder.
func closeOnRequest(h *fakeHandler) {
	h.onMessage = func(c *Conn, data string) {
		if data == "close me" {
			c.Close(websocket.ClosePolicyViolation, "policy")
		}
	}
}

// streamCase is a peer that does something the server closes it for, then
// keeps streaming until it reads the close frame.
type streamCase struct {
	name  string
	code  int
	start func(ws *websocket.Conn) error // the offence; the stream follows
}

var streamCases = []streamCase{
	{"oversize fragments", websocket.CloseMessageTooBig, func(ws *websocket.Conn) error {
		w, err := ws.NextWriter(websocket.TextMessage)
		for chunk := make([]byte, 1024); err == nil; {
			_, err = w.Write(chunk)
		}
		return err
	}},
	{"closed by the handler", websocket.ClosePolicyViolation, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.TextMessage, []byte("close me"))
	}},
	{"binary frame", websocket.CloseUnsupportedData, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.BinaryMessage, []byte("bin"))
	}},
	{"invalid UTF-8", websocket.CloseInvalidFramePayloadData, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.TextMessage, []byte("\xff\xfe"))
	}},
}

// streamPeer dials, commits its offence and streams until writing fails;
// it returns the error that ended its reading.
func streamPeer(url string, sc streamCase) error {
	dialer := websocket.Dialer{HandshakeTimeout: waitFor, WriteBufferSize: 8 << 10}
	ws, resp, err := dialer.Dial(url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return err
	}
	defer func() { _ = ws.Close() }()
	read := make(chan error, 1)
	go func() { // gorilla answers the close frame while this reads
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				read <- err
				return
			}
		}
	}()
	_ = ws.SetWriteDeadline(time.Now().Add(2 * waitFor))
	if sc.start(ws) == nil {
		line := []byte(strings.Repeat("stream ", 40))
		for ws.WriteMessage(websocket.TextMessage, line) == nil {
		}
	}
	select {
	case err = <-read:
		return err
	case <-time.After(2 * waitFor):
		return errors.New("no end of reading")
	}
}

// TestStreamingPeersReadTheirCloseCode closes peers that keep sending
// while they are closed, with the CPU loaded, under the poller: each must
// read the exact close code, and the handler must see it too. The chat
// server's version, with real actors, is in server/e2e_close_test.go. Not
// parallel: it loads every core on purpose, and the other tests would
// share the load.
func TestStreamingPeersReadTheirCloseCode(t *testing.T) {
	const rounds, parallel = 40, 16 // 160 peers
	s := startTransport(t, Config{})
	s.setup = closeOnRequest
	stop := make(chan struct{})
	load := testload.Busy(stop)
	defer func() { close(stop); load.Wait() }()
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := range rounds * len(streamCases) {
		sc := streamCases[i%len(streamCases)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := streamPeer(s.url, sc)
			if !websocket.IsCloseError(err, sc.code) {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s: %v", sc.name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for range rounds * len(streamCases) {
		select {
		case h := <-s.conns:
			if e := <-h.closed; e.byPeer {
				failed = append(failed, fmt.Sprintf("handler: Closed(%d, byPeer), want the server's close", e.code))
			}
		case <-time.After(waitFor):
			t.Fatal("fewer connections than peers")
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d peers:\n\t%s", len(failed), rounds*len(streamCases), strings.Join(failed, "\n\t"))
	}
}
