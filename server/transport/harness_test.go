package transport

// The tests' harness: a Transport behind an httptest server on 127.0.0.1
// with a Handler fake per connection, and gorilla/websocket clients over
// real loopback sockets. Every wait is bounded by waitFor; nothing sleeps
// to wait for an event.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitFor bounds every wait for something that must happen. It is generous
// because the machine is small and shared and the tests run with -race; a
// passing test never waits this long.
const waitFor = 5 * time.Second

// ending is what Handler.Closed reported.
type ending struct {
	code   int
	byPeer bool
}

// fakeHandler records what its connection's reader reports.
type fakeHandler struct {
	conn      *Conn
	messages  chan string
	confirmed chan uint64
	closed    chan ending // gets exactly one value
	onMessage func(c *Conn, data string)

	mu     sync.Mutex // guards calls
	calls  int        // Closed calls
	active bool       // a call is running: calls must not overlap
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{messages: make(chan string, 10000), confirmed: make(chan uint64, 1000), closed: make(chan ending, 2)}
}

// enter checks that the handler's calls never overlap, as the contract
// says (one reader), and that none follows Closed.
func (h *fakeHandler) enter(what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active || h.calls > 0 {
		panic("fakeHandler: " + what + " overlaps another call or follows Closed")
	}
	h.active = true
}

func (h *fakeHandler) leave() {
	h.mu.Lock()
	h.active = false
	h.mu.Unlock()
}

func (h *fakeHandler) Message(data []byte) {
	h.enter("Message")
	defer h.leave()
	h.messages <- string(data)
	if h.onMessage != nil {
		h.onMessage(h.conn, string(data))
	}
}

func (h *fakeHandler) Confirmed(upTo uint64) {
	h.enter("Confirmed")
	defer h.leave()
	h.confirmed <- upTo
}

func (h *fakeHandler) Closed(code int, byPeer bool) {
	h.enter("Closed")
	h.mu.Lock()
	h.calls++
	h.active = false
	h.mu.Unlock()
	h.closed <- ending{code, byPeer}
}

// expectMessage waits for the next message, which must be want.
func (h *fakeHandler) expectMessage(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-h.messages:
		if got != want {
			t.Fatalf("handler got message %.60q, want %.60q", got, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("no message %.60q within %v", want, waitFor)
	}
}

// expectClosed waits for Closed, which must report want.
func (h *fakeHandler) expectClosed(t *testing.T, want ending) {
	t.Helper()
	select {
	case got := <-h.closed:
		if got != want {
			t.Fatalf("Closed(%d, byPeer %v), want Closed(%d, byPeer %v)", got.code, got.byPeer, want.code, want.byPeer)
		}
	case <-time.After(waitFor):
		t.Fatalf("no Closed within %v", waitFor)
	}
}

// testServer is a Transport serving WebSocket upgrades on a loopback port.
type testServer struct {
	tr    *Transport
	url   string            // ws://127.0.0.1:PORT/
	conns chan *fakeHandler // each connection's handler, once it has started
	// setup, if set, runs on each new handler before its connection starts.
	setup func(h *fakeHandler)
}

// startTransport serves a transport for cfg until the test ends.
func startTransport(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	tr := New(cfg)
	if !cfg.ReadGoroutines && runtime.GOOS == "linux" && !tr.Polling() {
		t.Fatalf("no poller on Linux: %v", checkYield())
	}
	return serveTransport(t, tr)
}

// serveTransport serves tr until the test ends.
func serveTransport(t *testing.T, tr *Transport) *testServer {
	t.Helper()
	s := &testServer{tr: tr, conns: make(chan *fakeHandler, 1000)}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	s.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	t.Cleanup(func() {
		hs.Close()
		_ = s.tr.Close()
	})
	return s
}

func (s *testServer) serve(w http.ResponseWriter, r *http.Request) {
	c, err := s.tr.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	h := newFakeHandler()
	h.conn = c
	if s.setup != nil {
		s.setup(h)
	}
	c.Start("peer", h)
	s.conns <- h
}

// testLogger discards the transport's logs unless TRANSPORT_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TRANSPORT_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logRecorder is a slog.Handler that keeps the messages logged, so that a
// test can check what the transport did not log.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}

// logged reports whether msg was logged.
func (r *logRecorder) logged(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.msgs, msg)
}

// testClient is a gorilla/websocket client with a reader goroutine that
// collects text messages and the error that ended reading.
type testClient struct {
	ws       *websocket.Conn
	messages chan string
	pings    chan string // payloads of the server's pings
	pongs    chan string // payloads of the pongs to the client's pings
	done     chan error  // the error that ended reading
}

// clientOptions adjust dial.
type clientOptions struct {
	answerPings bool // answer the server's pings (gorilla's default); false: ignore them
	noReader    bool // nothing reads: the test reads ws itself, or nobody does
	dialer      websocket.Dialer
}

// dial connects a client and returns it with the server side's handler.
func (s *testServer) dial(t *testing.T, o clientOptions) (*testClient, *fakeHandler) {
	t.Helper()
	if o.dialer.HandshakeTimeout == 0 {
		o.dialer.HandshakeTimeout = waitFor
	}
	ws, resp, err := o.dialer.Dial(s.url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &testClient{ws: ws, messages: make(chan string, 10000), pings: make(chan string, 1000),
		pongs: make(chan string, 1000), done: make(chan error, 1)}
	ws.SetPingHandler(func(data string) error {
		c.pings <- data
		if o.answerPings {
			_ = ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
		}
		return nil
	})
	ws.SetPongHandler(func(data string) error { c.pongs <- data; return nil })
	if !o.noReader {
		go c.read()
	}
	t.Cleanup(func() { _ = ws.Close() })
	select {
	case h := <-s.conns:
		return c, h
	case <-time.After(waitFor):
		t.Fatal("the server did not start the connection")
		return nil, nil
	}
}

func (c *testClient) read() {
	for {
		op, data, err := c.ws.ReadMessage()
		if err != nil {
			c.done <- err
			return
		}
		if op == websocket.TextMessage {
			c.messages <- string(data)
		}
	}
}

// expectMessage waits for the client's next message, which must be want.
// The reader queues every message before it reports the end of reading,
// so once it has ended, what it read is all in messages.
func (c *testClient) expectMessage(t *testing.T, want string) {
	t.Helper()
	var got string
	select {
	case got = <-c.messages:
	case err := <-c.done:
		c.done <- err // for expectClose
		select {
		case got = <-c.messages:
		default:
			t.Fatalf("client: connection ended (%v) before %.60q", err, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("client: no message %.60q within %v", want, waitFor)
	}
	if got != want {
		t.Fatalf("client got %.60q, want %.60q", got, want)
	}
}

// expectClose waits for reading to end, which must be with close code.
func (c *testClient) expectClose(t *testing.T, code int) {
	t.Helper()
	select {
	case err := <-c.done:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("client: reading ended with %v, want close %d", err, code)
		}
	case <-time.After(waitFor):
		t.Fatalf("client: no close %d within %v", code, waitFor)
	}
}

// writeRaw writes bytes to the client's TCP connection, under gorilla.
func (c *testClient) writeRaw(t *testing.T, b []byte) {
	t.Helper()
	nc := c.ws.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

// expectValue waits for a value on ch, which must be want.
func expectValue[T comparable](t *testing.T, what string, ch <-chan T, want T) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("%s: nothing within %v, want %v", what, waitFor, want)
	}
}

// readModes runs f under each way of reading: the poller, whose reader
// yields at message boundaries, and a goroutine per connection.
func readModes(t *testing.T, f func(t *testing.T, cfg Config)) {
	t.Helper()
	for _, goroutines := range []bool{false, true} {
		name := map[bool]string{false: "poller", true: "goroutines"}[goroutines]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, Config{ReadGoroutines: goroutines})
		})
	}
}
