package server_test

// Durability proofs that run in one process: a server stopped and
// started again on the same Bolt file keeps queued private messages, public
// history, known users, the id sequence and idempotency keys; and a private
// message written to a connection that dies before the client confirmed it
// comes again on the next connection, marked redelivered.
//
// The helpers here are prefixed with "restart" and use nothing from the other
// e2e files, which other people change.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// restartWait bounds every wait for something that must happen; a passing
// test never waits this long.
const restartWait = 5 * time.Second

// restartNode is one run of the server on a data directory: actors with a
// Bolt store, the edge, and an httptest server on 127.0.0.1.
type restartNode struct {
	chat    *actors.Chat
	srv     *server.Server
	hs      *httptest.Server
	url     string // ws://127.0.0.1:PORT/chat
	stopped bool
}

// restartStart starts a server on the Bolt file in dir, wired as cmd/chatd
// wires it, without a rate limit. It is stopped when the test ends unless
// the test stopped it.
func restartStart(t *testing.T, dir string) *restartNode {
	t.Helper()
	logger := restartLogger()
	st, err := store.OpenBolt(filepath.Join(dir, "chat.db"), store.Config{}, logger)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	chat, err := actors.Start(actors.Config{
		Store: st, Logger: logger, MsgRate: actors.NoRateLimit,
	})
	if err != nil {
		_ = st.Close()
		t.Fatalf("starting actors: %v", err)
	}
	srv := server.New(server.Config{Logger: logger}, chat, nil)
	hs := httptest.NewServer(srv.Routes(nil))
	n := &restartNode{chat: chat, srv: srv, hs: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat"}
	t.Cleanup(func() {
		if !n.stopped {
			n.stop(t)
		}
	})
	return n
}

// stop shuts the server down as cmd/chatd does: connections (1001), HTTP,
// then the actors, which close (flush) the store.
func (n *restartNode) stop(t *testing.T) {
	t.Helper()
	n.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), restartWait)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Errorf("server shutdown: %v", err)
	}
	n.hs.Close()
	if err := n.chat.Stop(); err != nil {
		t.Errorf("stopping actors (and closing the store): %v", err)
	}
}

// restartLogger discards the server's logs unless E2E_LOG is set.
func restartLogger() *slog.Logger {
	if os.Getenv("E2E_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// restartRead is one thing the reader goroutine saw: a frame or the error
// that ended the connection.
type restartRead struct {
	f   wire.ServerFrame
	raw string
	err error
}

// restartConn is a test client: a reader goroutine reads every frame into
// a channel, so that pings are handled (answered or not) whatever the test
// goroutine does.
type restartConn struct {
	// set at construction
	user  string
	ws    *websocket.Conn
	reads chan restartRead
	done  chan struct{} // closed when the reader has ended

	// written by the reader goroutine
	texts     atomic.Int64 // text frames read so far
	pingAfter atomic.Int64 // texts read when the latest ping arrived; -1 before any
}

// restartMode is how a test client treats what the server sends.
type restartMode int

const (
	restartAnswer      restartMode = iota // read everything, answer pings
	restartIgnorePings                    // read everything, answer no ping
	restartNoRead                         // read the welcome, then nothing
)

// restartDial connects user to n and takes the welcome. Unless mode is
// restartAnswer, the client never answers a ping, so the server gets no
// confirmation of anything it writes.
func restartDial(t *testing.T, n *restartNode, user string, mode restartMode) *restartConn {
	t.Helper()
	dl := websocket.Dialer{HandshakeTimeout: restartWait}
	ws, resp, err := dl.Dial(n.url+"?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	c := &restartConn{user: user, ws: ws, reads: make(chan restartRead, 1024), done: make(chan struct{})}
	c.pingAfter.Store(-1)
	if mode != restartAnswer {
		ws.SetPingHandler(func(string) error {
			c.pingAfter.Store(c.texts.Load())
			return nil
		})
	}
	t.Cleanup(func() {
		_ = ws.Close()
		<-c.done
	})
	if mode == restartNoRead {
		c.readOne()
		close(c.done)
	} else {
		go c.readLoop()
	}
	if w := c.next(t); w.f.Type != "welcome" || w.f.User != user {
		t.Fatalf("%s: first frame %s, want its welcome", user, w.raw)
	}
	return c
}

func (c *restartConn) readLoop() {
	defer close(c.done)
	for c.readOne() {
	}
}

// readOne reads one frame into c.reads and reports whether the connection
// is still usable.
func (c *restartConn) readOne() bool {
	_ = c.ws.SetReadDeadline(time.Now().Add(time.Minute)) // a test never waits this long
	op, data, err := c.ws.ReadMessage()
	if err != nil {
		c.reads <- restartRead{err: err}
		return false
	}
	if op != websocket.TextMessage {
		c.reads <- restartRead{err: fmt.Errorf("frame of opcode %d", op)}
		return false
	}
	c.texts.Add(1)
	f, perr := wire.ParseServerFrame(data)
	c.reads <- restartRead{f: f, raw: string(data), err: perr}
	return perr == nil
}

// next returns the next frame that is not a presence notice (those come and
// go with the test's own connections and prove nothing here).
func (c *restartConn) next(t *testing.T) restartRead {
	t.Helper()
	timer := time.NewTimer(restartWait)
	defer timer.Stop()
	for {
		select {
		case r := <-c.reads:
			if r.err != nil {
				t.Fatalf("%s: connection ended or sent garbage: %v", c.user, r.err)
			}
			if r.f.Type != "presence" {
				return r
			}
		case <-timer.C:
			t.Fatalf("%s: no frame within %v", c.user, restartWait)
		}
	}
}

// expect returns the next frame, which must be of type typ and carry ref
// (when ref is not empty).
func (c *restartConn) expect(t *testing.T, typ, ref string) restartRead {
	t.Helper()
	r := c.next(t)
	if r.f.Type != typ || (ref != "" && (r.f.Ref == nil || *r.f.Ref != ref)) {
		t.Fatalf("%s: got %s, want a %q frame with ref %q", c.user, r.raw, typ, ref)
	}
	return r
}

// nextDM returns the next private message, skipping public ones.
func (c *restartConn) nextDM(t *testing.T) restartRead {
	t.Helper()
	for {
		r := c.next(t)
		if r.f.Type == "message" && r.f.Kind == "dm" {
			return r
		}
		if r.f.Type != "message" {
			t.Fatalf("%s: got %s, want a private message", c.user, r.raw)
		}
	}
}

func (c *restartConn) send(t *testing.T, f wire.ClientFrame) {
	t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(restartWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, f.Encode()); err != nil {
		t.Fatalf("%s: write: %v", c.user, err)
	}
}

// dm sends a private message and returns its receipt, the next frame.
func (c *restartConn) dm(t *testing.T, to, text, ref, key string) restartRead {
	t.Helper()
	c.send(t, wire.ClientFrame{Type: "dm", To: to, Text: text, Ref: &ref, Key: key})
	r := c.expect(t, "sent", ref)
	if r.f.ID == "" || !restartTSValid(r.f.TS) {
		t.Fatalf("%s: receipt %s lacks an id or a protocol timestamp", c.user, r.raw)
	}
	return r
}

// say sends a public message and returns its receipt; the receipt and the
// sender's own copy, with the same id and ts, are the next two frames in
// either order.
func (c *restartConn) say(t *testing.T, text, ref string) restartRead {
	t.Helper()
	c.send(t, wire.ClientFrame{Type: "say", Text: text, Ref: &ref})
	var sent, own restartRead
	for range 2 {
		switch r := c.next(t); {
		case r.f.Type == "sent" && r.f.Ref != nil && *r.f.Ref == ref:
			sent = r
		case r.f.Type == "message" && r.f.Text == text:
			own = r
		default:
			t.Fatalf("%s: got %s, want the receipt or own copy of %q", c.user, r.raw, text)
		}
	}
	if sent.f.ID == "" || sent.f.ID != own.f.ID || sent.f.TS != own.f.TS {
		t.Fatalf("%s: receipt %s does not match own copy %s", c.user, sent.raw, own.raw)
	}
	return sent
}

// leave closes the connection with 1000 and waits for the server's answer.
func (c *restartConn) leave(t *testing.T) {
	t.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(restartWait)); err != nil {
		t.Fatalf("%s: writing close: %v", c.user, err)
	}
	select {
	case <-c.done:
	case <-time.After(restartWait):
		t.Fatalf("%s: the server did not answer the close", c.user)
	}
}

// cut closes the TCP connection under the client: no close frame, as when
// a network path dies.
func (c *restartConn) cut() {
	_ = c.ws.NetConn().Close()
	<-c.done
}

// restartTSValid reports whether ts is a protocol timestamp: RFC 3339 in
// UTC with exactly three fractional digits.
func restartTSValid(ts string) bool {
	p, err := time.Parse(time.RFC3339Nano, ts)
	return err == nil && len(ts) == len("2026-11-28T12:00:00.123Z") && strings.HasSuffix(ts, "Z") && p.Location() == time.UTC
}

// restartEventually polls cond until it holds or restartWait passes.
func restartEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(restartWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRestartKeepsQueuedMessagesHistoryUsersAndKeys stops a server with
// private messages queued for an offline user and public messages in its
// history, starts a new one on the same data directory, and checks that
// nothing the first one accepted is lost or renamed.
func TestRestartKeepsQueuedMessagesHistoryUsersAndKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := restartStart(t, dir)
	restartDial(t, first, "bob", restartAnswer).leave(t) // bob is known, and offline
	alice := restartDial(t, first, "alice", restartAnswer)
	public := []restartRead{alice.say(t, "public one", "p1"), alice.say(t, "public two", "p2")}
	var queued []restartRead
	for i := range 3 {
		r := alice.dm(t, "bob", fmt.Sprintf("queued %d", i), fmt.Sprintf("d%d", i), fmt.Sprintf("key-%d", i))
		if !r.f.Queued {
			t.Fatalf("receipt %s for a dm to offline bob lacks queued:true", r.raw)
		}
		queued = append(queued, r)
	}
	firstIDs := map[string]bool{}
	for _, r := range append(append([]restartRead{}, public...), queued...) {
		firstIDs[r.f.ID] = true
	}
	if len(firstIDs) != 5 {
		t.Fatalf("the first run gave 5 messages only %d distinct ids", len(firstIDs))
	}
	alice.leave(t)
	first.stop(t)

	second := restartStart(t, dir)
	bob := restartDial(t, second, "bob", restartAnswer)
	restartCheckQueued(t, bob, queued)
	restartCheckHistory(t, bob, public)

	alice = restartDial(t, second, "alice", restartAnswer)
	live := alice.dm(t, "bob", "after the restart", "live", "")
	if live.f.Queued || firstIDs[live.f.ID] {
		t.Errorf("receipt %s after the restart: want not queued (bob is online) and an id the first run never used", live.raw)
	}
	if got := bob.nextDM(t); got.f.ID != live.f.ID || got.f.Offline || got.f.Redelivered {
		t.Errorf("bob got %s, want the live dm %s, neither offline nor redelivered", got.raw, live.raw)
	}
	if p := alice.say(t, "public three", "p3"); firstIDs[p.f.ID] || p.f.ID == live.f.ID {
		t.Errorf("public message after the restart got id %q, already used", p.f.ID)
	}
	alice.send(t, wire.ClientFrame{Type: "dm", To: "nobody", Text: "hi", Ref: restartRef("u")})
	if e := alice.expect(t, "error", "u"); e.f.Code != wire.CodeUnknownUser {
		t.Errorf("dm to a name that never connected: %s, want unknown_user", e.raw)
	}

	// A retry of a key accepted before the restart gets the original receipt
	// and delivers nothing: the next dm bob gets is the one sent after it.
	retry := alice.dm(t, "bob", "queued 0", "retry", "key-0")
	if retry.f.ID != queued[0].f.ID || retry.f.TS != queued[0].f.TS || !retry.f.Queued {
		t.Errorf("retry of key-0 after the restart answered %s, want the original receipt %s", retry.raw, queued[0].raw)
	}
	marker := alice.dm(t, "bob", "marker", "m", "")
	if got := bob.nextDM(t); got.f.ID != marker.f.ID {
		t.Errorf("after the retry of key-0 bob got %s, want only the marker %s", got.raw, marker.raw)
	}
}

// restartCheckQueued checks that the next frames are the queued messages
// with their original id and ts, oldest first, marked offline only.
func restartCheckQueued(t *testing.T, bob *restartConn, receipts []restartRead) {
	t.Helper()
	for i, want := range receipts {
		got := bob.next(t)
		f := got.f
		if f.Type != "message" || f.Kind != "dm" || f.ID != want.f.ID || f.TS != want.f.TS ||
			f.From != "alice" || f.To != "bob" || f.Text != fmt.Sprintf("queued %d", i) {
			t.Fatalf("queued message %d after the restart: got %s, want id %q ts %q (receipt %s)", i, got.raw, want.f.ID, want.f.TS, want.raw)
		}
		if !f.Offline || f.Redelivered {
			t.Errorf("queued message %d: %s, want offline:true and not redelivered", i, got.raw)
		}
	}
}

// restartCheckHistory checks that history holds the public messages of the
// first run, oldest first, with the id and ts they had live.
func restartCheckHistory(t *testing.T, c *restartConn, receipts []restartRead) {
	t.Helper()
	c.send(t, wire.ClientFrame{Type: "history", Limit: 50, Ref: restartRef("h")})
	h := c.expect(t, "history", "h")
	if len(h.f.Messages) != len(receipts) {
		t.Fatalf("history after the restart: %s, want the %d public messages of the first run", h.raw, len(receipts))
	}
	for i, m := range h.f.Messages {
		if m.ID != receipts[i].f.ID || m.TS != receipts[i].f.TS || m.Kind != "public" || m.From != "alice" {
			t.Errorf("history[%d] = %+v, want id %q ts %q from alice", i, m, receipts[i].f.ID, receipts[i].f.TS)
		}
	}
}

// restartRef returns a pointer to s, for refs.
func restartRef(s string) *string { return &s }

// TestRestartDroppedConnectionRedelivers cuts the recipient's connection
// while private messages written to it are unconfirmed, and checks that the
// next connection gets every one of them again, same ids, oldest first and
// marked redelivered, before a message sent after the reconnect.
func TestRestartDroppedConnectionRedelivers(t *testing.T) {
	t.Parallel()
	t.Run("read unconfirmed then TCP closed", func(t *testing.T) { restartDropped(t, restartIgnorePings) })
	t.Run("stopped reading then TCP closed", func(t *testing.T) { restartDropped(t, restartNoRead) })
}

func restartDropped(t *testing.T, mode restartMode) {
	const n = 5
	node := restartStart(t, t.TempDir())
	bob := restartDial(t, node, "bob", mode)
	alice := restartDial(t, node, "alice", restartAnswer)
	var ids []string
	for i := range n {
		r := alice.dm(t, "bob", fmt.Sprintf("in flight %d", i), strconv.Itoa(i), "")
		if r.f.Queued {
			t.Fatalf("receipt %s for a dm to online bob says queued", r.raw)
		}
		ids = append(ids, r.f.ID)
	}
	if mode == restartIgnorePings {
		for i := range n {
			if got := bob.nextDM(t); got.f.ID != ids[i] || got.f.Redelivered {
				t.Fatalf("bob's dm %d: %s, want id %q, first delivery", i, got.raw, ids[i])
			}
		}
		// The server has pinged after the last message and bob did not answer:
		// the messages were read but are unconfirmed.
		// Nothing more is sent to bob, so every text frame has been read.
		read := bob.texts.Load()
		restartEventually(t, "a ping after the last message", func() bool { return bob.pingAfter.Load() >= read })
	}
	if d := node.chat.InboxDepth(); d != n {
		t.Fatalf("inbox depth %d before the cut, want %d unconfirmed messages", d, n)
	}
	bob.cut()
	restartEventually(t, "the server to notice the cut", func() bool { return node.srv.Open() == 1 })

	bob = restartDial(t, node, "bob", restartAnswer)
	after := alice.dm(t, "bob", "after the reconnect", "after", "")
	for i := range n {
		got := bob.nextDM(t)
		if got.f.ID != ids[i] || !got.f.Redelivered || got.f.Text != fmt.Sprintf("in flight %d", i) {
			t.Fatalf("bob's dm %d after reconnecting: %s, want id %q redelivered:true", i, got.raw, ids[i])
		}
	}
	if got := bob.nextDM(t); got.f.ID != after.f.ID || got.f.Redelivered {
		t.Fatalf("bob's dm after the redeliveries: %s, want %s, not redelivered", got.raw, after.raw)
	}
	// This client answers pings: its pongs confirm everything, and the inbox
	// empties.
	restartEventually(t, "the inbox to empty", func() bool { return node.chat.InboxDepth() == 0 })
}

// TestRestartEveryPongConfirms has bob, whose client answers pings, get one
// private message at a time: the pong to the ping that follows each must
// confirm it, so the inbox empties every time, without waiting for the next
// keep-alive ping (30 s away).
func TestRestartEveryPongConfirms(t *testing.T) {
	t.Parallel()
	node := restartStart(t, t.TempDir())
	bob := restartDial(t, node, "bob", restartAnswer)
	alice := restartDial(t, node, "alice", restartAnswer)
	for i := range 50 {
		sent := alice.dm(t, "bob", fmt.Sprintf("one at a time %d", i), strconv.Itoa(i), "")
		if got := bob.nextDM(t); got.f.ID != sent.f.ID {
			t.Fatalf("bob got %s, want %s", got.raw, sent.raw)
		}
		restartEventually(t, fmt.Sprintf("message %d to be confirmed", i), func() bool { return node.chat.InboxDepth() == 0 })
	}
}
