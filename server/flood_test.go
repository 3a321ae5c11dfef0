package server_test

// Load proofs: flooding, churn, slow consumers under load and
// metrics (flood_test.go, churn_test.go, metrics_test.go,
// flood_bench_test.go). This file also holds their small harness, whose
// names all start with h4 so that they cannot clash with the e2e tests'
// harness in the same package.
//
// Every wait is bounded by h4Wait; nothing sleeps to wait for an event.
// Each client has a reader goroutine that records every frame it reads, so
// that a client busy sending is never a slow consumer to the server, and
// pings are answered while the test does something else.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// h4Wait bounds every wait for something that must happen. It is generous
// because the machine is small and shared and the tests run with -race; a
// passing test never waits this long.
const h4Wait = 10 * time.Second

// h4Env is one running chat server, wired as cmd/chatd wires it.
type h4Env struct {
	srv     *server.Server
	chat    *actors.Chat
	hs      *httptest.Server
	baseURL string // http://127.0.0.1:PORT
	wsURL   string // ws://127.0.0.1:PORT/chat
}

// h4Start starts a chat server on a memory store with metrics served on
// /metrics, and stops it when the test ends: connections first, then HTTP,
// then the actors.
func h4Start(tb testing.TB, acfg actors.Config, scfg server.Config) *h4Env {
	tb.Helper()
	return h4StartSendBuffer(tb, acfg, scfg, 0)
}

// h4StartSendBuffer is h4Start with the socket send buffer of every
// accepted connection fixed at sndbuf bytes (0: the system's, which grows
// to megabytes), so that a client that stops reading backs the server up
// after kilobytes.
func h4StartSendBuffer(tb testing.TB, acfg actors.Config, scfg server.Config, sndbuf int) *h4Env {
	tb.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if acfg.Store == nil {
		acfg.Store = store.NewMemory(store.Config{})
	}
	acfg.Logger, scfg.Logger = quiet, quiet
	chat, err := actors.Start(acfg)
	if err != nil {
		tb.Fatalf("starting actors: %v", err)
	}
	reg := prometheus.NewRegistry()
	srv := server.New(scfg, chat, server.NewMetrics(reg))
	srv.ObserveActors(reg)
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = srv.HTTPServer(srv.Routes(srv.OpsHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))), nil)
	if sndbuf > 0 {
		hs.Listener = h4SendBufferListener{Listener: hs.Listener, size: sndbuf}
	}
	hs.Listener = srv.Listener(hs.Listener, nil)
	hs.Start()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h4Wait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("server shutdown: %v", err)
		}
		hs.Close()
		if err := chat.Stop(); err != nil {
			tb.Errorf("stopping actors: %v", err)
		}
	})
	return &h4Env{srv: srv, chat: chat, hs: hs, baseURL: hs.URL,
		wsURL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat"}
}

// h4SendBufferListener sets the send buffer of the connections it accepts.
type h4SendBufferListener struct {
	net.Listener
	size int
}

func (l h4SendBufferListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return nc, err
}

// h4Frame is one server frame as the client read it.
type h4Frame struct {
	wire.ServerFrame
	at time.Time // when the reader got it
}

// h4Client is a test WebSocket client. Its reader goroutine keeps every
// frame it reads, in order; the wait methods look at that log.
type h4Client struct {
	// set at construction
	user string
	ws   *websocket.Conn
	done chan struct{} // closed once the reader has ended

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // guards the fields below
	frames  []h4Frame
	changed chan struct{} // closed and replaced whenever frames grows or the reader ends
	err     error         // why the reader ended
}

// h4Dial connects user and starts its reader; the welcome frame is the
// first thing it will log.
func h4Dial(tb testing.TB, e *h4Env, user string) *h4Client {
	tb.Helper()
	c, err := h4Connect(e, user, websocket.Dialer{HandshakeTimeout: h4Wait})
	if err != nil {
		tb.Fatalf("dialing %s: %v", user, err)
	}
	go c.read()
	return c
}

// h4Join connects user and waits for its welcome.
func h4Join(tb testing.TB, e *h4Env, user string) *h4Client {
	tb.Helper()
	c := h4Dial(tb, e, user)
	c.await(tb, "welcome", h4Type("welcome"))
	return c
}

// h4Connect dials without failing the test, for goroutines other than the
// test's own. The caller starts the reader (go c.read()) when it wants the
// client to read.
func h4Connect(e *h4Env, user string, d websocket.Dialer) (*h4Client, error) {
	ws, resp, err := d.Dial(e.wsURL+"?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return &h4Client{user: user, ws: ws, done: make(chan struct{}), changed: make(chan struct{})}, nil
}

// read logs every frame until the connection ends. Reading also answers
// the server's pings (gorilla's default handler) and its close frame.
func (c *h4Client) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			close(c.changed)
			c.mu.Unlock()
			return
		}
		f, perr := wire.ParseServerFrame(data)
		if perr != nil {
			f = wire.ServerFrame{Type: "unparsable", Text: string(data)}
		}
		c.mu.Lock()
		c.frames = append(c.frames, h4Frame{ServerFrame: f, at: time.Now()})
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// snapshot returns the frames read so far, whether the reader has ended,
// and a channel closed at the next change.
func (c *h4Client) snapshot() (frames []h4Frame, ended bool, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.err != nil, c.changed
}

// forget returns the frames read so far and drops them from the log, so
// that a long-lived client does not hold them.
func (c *h4Client) forget() []h4Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := c.frames
	c.frames = nil
	return fs
}

// waitUntil waits until cond holds for the frames read so far.
func (c *h4Client) waitUntil(tb testing.TB, what string, cond func([]h4Frame) bool) {
	tb.Helper()
	if err := c.until(h4Wait, cond); err != nil {
		tb.Fatalf("%s: waiting for %s: %v", c.user, what, err)
	}
}

// until is waitUntil that returns an error rather than failing the test.
func (c *h4Client) until(d time.Duration, cond func([]h4Frame) bool) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		frames, ended, changed := c.snapshot()
		switch {
		case cond(frames):
			return nil
		case ended:
			return fmt.Errorf("connection ended (%v) after %d frames", c.readErr(), len(frames))
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("timed out after %d frames", len(frames))
		}
	}
}

// await waits for a frame matching pred and returns the first one.
func (c *h4Client) await(tb testing.TB, what string, pred func(h4Frame) bool) h4Frame {
	tb.Helper()
	var found h4Frame
	c.waitUntil(tb, what, func(fs []h4Frame) bool {
		for _, f := range fs {
			if pred(f) {
				found = f
				return true
			}
		}
		return false
	})
	return found
}

// send writes one request frame.
func (c *h4Client) send(f wire.ClientFrame) error {
	return c.write(f.Encode())
}

func (c *h4Client) write(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(h4Wait))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// closeCode waits for the connection to end and returns the close code the
// server sent, or -1 if it ended without one.
func (c *h4Client) closeCode(tb testing.TB) int {
	tb.Helper()
	select {
	case <-c.done:
	case <-time.After(h4Wait):
		tb.Fatalf("%s: connection still open after %v", c.user, h4Wait)
	}
	var ce *websocket.CloseError
	if errors.As(c.readErr(), &ce) {
		return ce.Code
	}
	return -1
}

func (c *h4Client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// leave closes the connection cleanly (close 1000, wait for the server's
// answer) and waits for the reader to end.
func (c *h4Client) leave() error {
	c.wmu.Lock()
	err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(h4Wait))
	c.wmu.Unlock()
	if err == nil {
		select {
		case <-c.done:
		case <-time.After(h4Wait):
			err = fmt.Errorf("%s: no close answer within %v", c.user, h4Wait)
		}
	}
	_ = c.ws.Close()
	<-c.done
	return err
}

// drop ends the connection abruptly: the TCP connection is closed without a
// close frame, as when a client crashes.
func (c *h4Client) drop() {
	_ = c.ws.NetConn().Close()
	<-c.done
}

// h4Type matches frames of one type.
func h4Type(typ string) func(h4Frame) bool {
	return func(f h4Frame) bool { return f.Type == typ }
}

// h4Reply matches the reply (sent or error) to the request with ref.
func h4Reply(ref string) func(h4Frame) bool {
	return func(f h4Frame) bool {
		return f.Ref != nil && *f.Ref == ref && (f.Type == "sent" || f.Type == "error")
	}
}

// h4Say and h4DM build requests.
func h4Say(text, ref string) wire.ClientFrame {
	return wire.ClientFrame{Type: "say", Text: text, Ref: &ref}
}

func h4DM(to, text, ref string) wire.ClientFrame {
	return wire.ClientFrame{Type: "dm", To: to, Text: text, Ref: &ref}
}

// h4Messages returns the ids of the message frames of one kind, in order.
func h4Messages(frames []h4Frame, kind string) []string {
	var ids []string
	for _, f := range frames {
		if f.Type == "message" && f.Kind == kind {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// h4Eventually polls cond until it holds or h4Wait passes, and returns
// whether it held. For state that only a poll can see (metrics, counts).
func h4Eventually(cond func() bool) bool {
	deadline := time.Now().Add(h4Wait)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// ---------------------------------------------------------------------------
// Flood
// ---------------------------------------------------------------------------

// Flood-test shape: the limit is 10 messages a second (burst 30) and the
// flooder sends at 50 times that.
const (
	h4Rate       = 10
	h4Burst      = 30
	h4FloodRate  = 50 * h4Rate // messages a second
	h4Chatters   = 20
	h4ChatEach   = 5                      // messages per chatter
	h4ChatPause  = 150 * time.Millisecond // between one chatter's messages: under the limit
	h4FloodFor   = 2 * time.Second
	h4FloodBatch = 5 // messages per tick: 500/s is a tick every 10 ms
)

// h4Flooder sends public messages at h4FloodRate until stop is closed (or
// limit have gone, or writing fails) and returns how many it sent.
func h4Flooder(c *h4Client, stop <-chan struct{}, limit int) int {
	tick := time.NewTicker(time.Second * h4FloodBatch / h4FloodRate)
	defer tick.Stop()
	sent := 0
	for sent < limit {
		select {
		case <-stop:
			return sent
		case <-tick.C:
		}
		for range h4FloodBatch {
			if c.send(h4Say(fmt.Sprint("flood ", sent), fmt.Sprint("f", sent))) != nil {
				return sent
			}
			sent++
		}
	}
	return sent
}

// h4Chat has each chatter send h4ChatEach public messages at a normal pace,
// all at once, and returns the id of every message, from the receipts.
func h4Chat(t *testing.T, chatters []*h4Client) []string {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(chatters))
	ids := make([][]string, len(chatters))
	for i, c := range chatters {
		wg.Go(func() {
			for n := range h4ChatEach {
				ref := fmt.Sprint(c.user, "-", n)
				if err := c.send(h4Say("hello from "+ref, ref)); err != nil {
					errs <- err
					return
				}
				var reply h4Frame
				if err := c.until(h4Wait, func(fs []h4Frame) bool { return h4Last(fs, h4Reply(ref), &reply) }); err != nil {
					errs <- fmt.Errorf("%s: no reply to %s: %w", c.user, ref, err)
					return
				}
				if reply.Type != "sent" {
					errs <- fmt.Errorf("%s: %s refused: %s %s", c.user, ref, reply.Code, reply.Message)
					return
				}
				ids[i] = append(ids[i], reply.ID)
				time.Sleep(h4ChatPause) // pacing, not waiting: a person typing
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []string
	for _, l := range ids {
		all = append(all, l...)
	}
	return all
}

// h4Last finds the last frame matching pred.
func h4Last(fs []h4Frame, pred func(h4Frame) bool, found *h4Frame) bool {
	for i := len(fs) - 1; i >= 0; i-- {
		if pred(fs[i]) {
			*found = fs[i]
			return true
		}
	}
	return false
}

// h4Replies counts a client's sent receipts and rate_limited errors, and
// collects the receipts' ids.
func h4Replies(fs []h4Frame) (sent []string, limited, other int) {
	for _, f := range fs {
		switch {
		case f.Type == "sent":
			sent = append(sent, f.ID)
		case f.Type == "error" && f.Code == wire.CodeRateLimited:
			limited++
		case f.Type == "error":
			other++
		}
	}
	return sent, limited, other
}

// TestFloodOthersGetEveryMessage floods public messages at 50x the rate
// limit while 20 others chat: every chatter gets every accepted public
// message, the flooder's included, in one order; the flooder gets a
// rate_limited error for each refused message and stays connected (its
// flood window is too long to cut it off here).
func TestFloodOthersGetEveryMessage(t *testing.T) {
	t.Parallel()
	e := h4Start(t, actors.Config{MsgRate: h4Rate, MsgBurst: h4Burst, FloodWindow: time.Hour}, server.Config{})
	chatters := make([]*h4Client, h4Chatters)
	for i := range chatters {
		chatters[i] = h4Join(t, e, fmt.Sprint("chatter", i))
	}
	flooder := h4Join(t, e, "flooder")

	stop := make(chan struct{})
	flooded := make(chan int, 1)
	start := time.Now()
	go func() { flooded <- h4Flooder(flooder, stop, h4FloodRate*int(h4FloodFor/time.Second)) }()
	chatIDs := h4Chat(t, chatters)
	n := <-flooded // it ran for h4FloodFor, the chat took about 5 x 150 ms
	close(stop)

	var floodIDs []string
	var limited int
	flooder.waitUntil(t, fmt.Sprint("replies to all ", n, " flood messages"), func(fs []h4Frame) bool {
		var other int
		floodIDs, limited, other = h4Replies(fs)
		return len(floodIDs)+limited+other >= n
	})
	fs, _, _ := flooder.snapshot()
	if _, _, other := h4Replies(fs); other > 0 {
		t.Errorf("flooder got %d errors other than rate_limited", other)
	}
	// The bucket holds the burst and refills at the rate while the flood
	// lasts (a second of slack for a slow start).
	if most := h4Burst + int(h4Rate*(time.Since(start)+time.Second).Seconds()); limited == 0 || len(floodIDs) > most {
		t.Errorf("flooder: %d of %d messages accepted (at most %d allowed), %d rate_limited", len(floodIDs), n, most, limited)
	}
	t.Logf("flooder sent %d: %d accepted, %d rate_limited", n, len(floodIDs), limited)

	h4CheckEveryoneGotAll(t, chatters, append(chatIDs, floodIDs...), "")
	if err := flooder.readErr(); err != nil {
		t.Errorf("flooder was disconnected (%v); its flood window is an hour", err)
	}
}

// h4CheckEveryoneGotAll checks that every client received each public
// message with an id in want exactly once, all clients in the same order,
// and that none was disconnected. A message not in want is allowed only
// from extraFrom (a flooder closed before its last receipts were written).
func h4CheckEveryoneGotAll(t *testing.T, clients []*h4Client, want []string, extraFrom string) {
	t.Helper()
	var order string
	for _, c := range clients {
		c.waitUntil(t, fmt.Sprint("all ", len(want), " public messages"), func(fs []h4Frame) bool {
			got := make(map[string]bool)
			for _, id := range h4Messages(fs, "public") {
				got[id] = true
			}
			for _, id := range want {
				if !got[id] {
					return false
				}
			}
			return true
		})
		fs, _, _ := c.snapshot()
		wanted := make(map[string]bool, len(want))
		for _, id := range want {
			wanted[id] = true
		}
		var got []string
		seen := make(map[string]bool)
		for _, f := range fs {
			if f.Type != "message" || f.Kind != "public" {
				continue
			}
			if seen[f.ID] || (!wanted[f.ID] && (extraFrom == "" || f.From != extraFrom)) {
				t.Fatalf("%s: public message %s from %s is unexpected or a duplicate", c.user, f.ID, f.From)
			}
			seen[f.ID] = true
			got = append(got, f.ID)
		}
		if o := strings.Join(got, ","); order == "" {
			order = o
		} else if o != order {
			t.Fatalf("%s saw public messages in another order than %s", c.user, clients[0].user)
		}
		if err := c.readErr(); err != nil {
			t.Errorf("%s was disconnected: %v", c.user, err)
		}
	}
}

// TestFloodFlooderIsClosedWith1008 floods at 50x the limit with a short
// flood window: the flooder gets rate_limited errors, then is closed with
// 1008, while the others' chat goes on unharmed.
func TestFloodFlooderIsClosedWith1008(t *testing.T) {
	t.Parallel()
	e := h4Start(t, actors.Config{MsgRate: h4Rate, MsgBurst: h4Burst, FloodWindow: 500 * time.Millisecond}, server.Config{})
	chatters := make([]*h4Client, 5)
	for i := range chatters {
		chatters[i] = h4Join(t, e, fmt.Sprint("chatter", i))
	}
	flooder := h4Join(t, e, "flooder")

	stop := make(chan struct{})
	flooded := make(chan int, 1)
	go func() { flooded <- h4Flooder(flooder, stop, 10*h4FloodRate) }()
	if code := flooder.closeCode(t); code != websocket.ClosePolicyViolation {
		t.Fatalf("flooder ended with close code %d, want 1008", code)
	}
	close(stop)
	n := <-flooded
	fs, _, _ := flooder.snapshot()
	sent, limited, _ := h4Replies(fs)
	if limited == 0 {
		t.Errorf("flooder closed without a rate_limited error first")
	}
	t.Logf("flooder sent %d before the close: %d accepted, %d rate_limited", n, len(sent), limited)

	// Everyone else got the flooder's accepted messages and chats on.
	ids := h4Chat(t, chatters)
	h4CheckEveryoneGotAll(t, chatters, append(sent, ids...), "flooder")
}
