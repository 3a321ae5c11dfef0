package client_test

// End-to-end tests of the CLI client's line mode against the real server,
// run in this process (actors with a memory store, the edge behind an
// httptest server on 127.0.0.1). The layering rule that keeps client/ from
// importing server/ and actors/ is about the library, not its tests.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/client"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// e2eWait bounds every wait; a passing test never waits this long.
const e2eWait = 5 * time.Second

// e2eServer starts the real chat server and returns its WebSocket URL. It
// is shut down when the test ends. tune, when given, changes the actors'
// configuration (a logger of the test's, fault injection).
func e2eServer(t *testing.T, tune ...func(*actors.Config)) string {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := actors.Config{
		Store: store.NewMemory(store.Config{}), Logger: logger,
	}
	for _, f := range tune {
		f(&cfg)
	}
	chat, err := actors.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Logger: logger}, chat, nil)
	hs := httptest.NewServer(srv.Routes(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
		if err := chat.Stop(); err != nil {
			t.Errorf("stopping actors: %v", err)
		}
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat"
}

// e2eConfig is a line-mode configuration for user that waits briefly.
func e2eConfig(url, user string) client.Config {
	return client.Config{
		Server: url, User: user, Location: time.UTC,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		DrainTimeout: e2eWait, Grace: 50 * time.Millisecond,
	}
}

// e2eRunLines runs the client's line mode on input and returns its output
// lines once it has returned nil.
func e2eRunLines(t *testing.T, cfg client.Config, input string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*e2eWait)
	defer cancel()
	var out strings.Builder // RunLines has returned before it is read
	if err := client.RunLines(ctx, cfg, strings.NewReader(input), &out); err != nil {
		t.Fatalf("RunLines = %v; output:\n%s", err, out.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// e2eStamp is a line's time of day, as line mode prints it for today.
var e2eStamp = regexp.MustCompile(`^\d\d:\d\d:\d\d `)

// e2eCount returns how many lines, stamp removed, are exactly want.
func e2eCount(lines []string, want string) int {
	n := 0
	for _, l := range lines {
		if e2eStamp.ReplaceAllString(l, "") == want {
			n++
		}
	}
	return n
}

// e2ePeer is a plain WebSocket client for the other side of a
// conversation. Its reader goroutine answers pings (gorilla's default), so
// what it receives is confirmed.
type e2ePeer struct {
	user  string
	ws    *websocket.Conn
	reads chan e2eRead
	done  chan struct{}
}

type e2eRead struct {
	f   wire.ServerFrame
	raw string
	err error
}

// e2eJoin connects user straight to the server and takes the welcome.
func e2eJoin(t *testing.T, url, user string) *e2ePeer {
	t.Helper()
	dl := websocket.Dialer{HandshakeTimeout: e2eWait}
	ws, resp, err := dl.Dial(url+"?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	p := &e2ePeer{user: user, ws: ws, reads: make(chan e2eRead, 256), done: make(chan struct{})}
	go p.readLoop()
	t.Cleanup(func() {
		_ = ws.Close()
		<-p.done
	})
	if w := p.next(t); w.f.Type != "welcome" {
		t.Fatalf("%s: first frame %s, want welcome", user, w.raw)
	}
	return p
}

func (p *e2ePeer) readLoop() {
	defer close(p.done)
	for {
		_, data, err := p.ws.ReadMessage()
		if err != nil {
			p.reads <- e2eRead{err: err}
			return
		}
		f, perr := wire.ParseServerFrame(data)
		p.reads <- e2eRead{f: f, raw: string(data), err: perr}
	}
}

// next returns the next frame that is not a presence notice.
func (p *e2ePeer) next(t *testing.T) e2eRead {
	t.Helper()
	timer := time.NewTimer(e2eWait)
	defer timer.Stop()
	for {
		select {
		case r := <-p.reads:
			if r.err != nil {
				t.Fatalf("%s: %v", p.user, r.err)
			}
			if r.f.Type != "presence" {
				return r
			}
		case <-timer.C:
			t.Fatalf("%s: no frame within %v", p.user, e2eWait)
		}
	}
}

// expectMessage returns the next frame, which must be a message from
// alice of the given kind and text.
func (p *e2ePeer) expectMessage(t *testing.T, kind, text string) e2eRead {
	t.Helper()
	r := p.next(t)
	if r.f.Type != "message" || r.f.Kind != kind || r.f.From != "alice" || r.f.Text != text {
		t.Fatalf("%s got %s, want a %s message %q from alice", p.user, r.raw, kind, text)
	}
	return r
}

// TestE2ERunLinesAgainstServer pipes three lines into the client as alice,
// with bob online, and checks what alice's output shows and bob receives.
func TestE2ERunLinesAgainstServer(t *testing.T) {
	t.Parallel()
	url := e2eServer(t)
	bob := e2eJoin(t, url, "bob")
	lines := e2eRunLines(t, e2eConfig(url, "alice"), "hello\n/dm bob hi\n/who\n")

	if len(lines) == 0 || !strings.HasSuffix(lines[0], "*** connected as alice; 2 online: alice, bob") || !e2eStamp.MatchString(lines[0]) {
		t.Errorf("first line %q, want the stamped welcome naming alice and bob", lines)
	}
	for _, want := range []string{"<alice> hello", "[dm to bob] hi", "*** 2 online: alice, bob"} {
		if n := e2eCount(lines, want); n != 1 {
			t.Errorf("%d lines %q, want 1; output:\n%s", n, want, strings.Join(lines, "\n"))
		}
	}
	// A public message and a dm take different paths through the server
	// (the room, bob's actor), and the protocol orders each kind on its
	// own, not one against the other: bob may get them either way round.
	got := map[string]e2eRead{}
	for range 2 {
		r := bob.next(t)
		if r.f.Type != "message" || r.f.From != "alice" {
			t.Fatalf("bob got %s, want alice's messages", r.raw)
		}
		got[r.f.Kind+" "+r.f.Text] = r
	}
	public, dm := got["public hello"], got["dm hi"]
	if public.raw == "" || dm.raw == "" {
		t.Fatalf("bob got %v, want the public \"hello\" and the dm \"hi\"", got)
	}
	if public.f.ID == dm.f.ID || dm.f.To != "bob" || dm.f.Offline {
		t.Errorf("bob got %s and %s: want two ids, a live dm to bob", public.raw, dm.raw)
	}
}

// e2eProxy relays WebSocket frames between clients and the server. On the
// first connection it swallows the first "sent" receipt and cuts both
// sides, as a network failure would after the server accepted a message.
type e2eProxy struct {
	upstream string

	mu      sync.Mutex // guards the fields below
	conns   int
	dms     []wire.ClientFrame // dm frames from clients, in order
	dropped wire.ServerFrame   // the receipt that never reached the client
}

func (p *e2eProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	down, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer func() { _ = down.Close() }()
	up, resp, err := (&websocket.Dialer{HandshakeTimeout: e2eWait}).Dial(p.upstream+"?"+r.URL.RawQuery, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	p.mu.Lock()
	p.conns++
	cut := p.conns == 1
	p.mu.Unlock()
	go p.fromClient(down, up)
	for {
		_, data, err := up.ReadMessage()
		if err != nil {
			return
		}
		if f, _ := wire.ParseServerFrame(data); cut && f.Type == "sent" {
			p.mu.Lock()
			p.dropped = f
			p.mu.Unlock()
			return // the deferred Closes cut both TCP connections
		}
		if err := down.WriteMessage(websocket.TextMessage, data); err != nil {
			return
		}
	}
}

// fromClient relays the client's frames to the server, noting the dms.
func (p *e2eProxy) fromClient(down, up *websocket.Conn) {
	defer func() { _ = up.Close() }()
	for {
		_, data, err := down.ReadMessage()
		if err != nil {
			return
		}
		var f wire.ClientFrame
		if e2eDecode(data, &f) && f.Type == "dm" {
			p.mu.Lock()
			p.dms = append(p.dms, f)
			p.mu.Unlock()
		}
		if err := up.WriteMessage(websocket.TextMessage, data); err != nil {
			return
		}
	}
}

// TestE2EResendAfterDropDeliversOnce cuts alice's connection after the
// server accepted her private message but before its receipt reached her.
// The client must send it again with the same key after reconnecting, get
// the original receipt, and bob must get the message exactly once.
func TestE2EResendAfterDropDeliversOnce(t *testing.T) {
	t.Parallel()
	url := e2eServer(t)
	bob := e2eJoin(t, url, "bob")
	proxy := &e2eProxy{upstream: url}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)

	lines := e2eRunLines(t, e2eConfig("ws"+strings.TrimPrefix(ps.URL, "http")+"/chat", "alice"), "/dm bob once\n")
	proxy.mu.Lock()
	conns, dms, dropped := proxy.conns, proxy.dms, proxy.dropped
	proxy.mu.Unlock()
	if conns < 2 || dropped.ID == "" {
		t.Fatalf("the client connected %d times and the dropped receipt is %+v: the drop did not happen", conns, dropped)
	}
	if len(dms) != 2 || dms[0].Key == "" || dms[1].Key != dms[0].Key || dms[1].Text != "once" {
		t.Fatalf("the client sent the dm as %+v, want it twice with one key", dms)
	}
	if n := e2eCount(lines, "[dm to bob] once"); n != 1 {
		t.Errorf("alice's output shows the dm %d times, want once:\n%s", n, strings.Join(lines, "\n"))
	}

	once := bob.expectMessage(t, "dm", "once")
	if once.f.ID != dropped.ID {
		t.Errorf("bob got %s, want the id of the swallowed receipt %q", once.raw, dropped.ID)
	}
	// A message alice sends after it comes next: nothing else from alice
	// was delivered in between.
	alice := e2eJoin(t, url, "alice")
	ref := "end"
	if err := alice.ws.WriteMessage(websocket.TextMessage, wire.ClientFrame{Type: "dm", To: "bob", Text: "end", Ref: &ref}.Encode()); err != nil {
		t.Fatal(err)
	}
	bob.expectMessage(t, "dm", "end")
}

// e2eDecode decodes a client's JSON frame; false for a plain-text line.
func e2eDecode(data []byte, f *wire.ClientFrame) bool {
	s := strings.TrimSpace(string(data))
	if !strings.HasPrefix(s, "{") {
		return false
	}
	return json.Unmarshal([]byte(s), f) == nil
}
