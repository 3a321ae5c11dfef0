package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// waitLimit bounds every wait in these tests.
const waitLimit = 5 * time.Second

// fakeServer is a scripted chat server on 127.0.0.1: it welcomes each
// connection and hands it to the test, which reads the client's frames and
// answers them itself.
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	url    string
	conns  chan *fakeConn // every accepted connection, in order
	refuse string         // when set, dials get HTTP 400 with this reason
	extra  string         // when set, more welcome fields: `,"msg_rate":10`
	auth   *fakeAuth      // when set, protocol version 2: upgrades need a token (fakeauth_test.go)
	gate   chan struct{}  // when set, upgrade requests wait until it is closed

	mu  sync.Mutex
	all []*fakeConn // every connection, closed at cleanup
}

// fakeConn is one connection to the fake server. Only the test goroutine
// (or one responder goroutine) writes to ws.
type fakeConn struct {
	ws     *websocket.Conn
	user   string
	token  string                // the token it was opened with; empty in version 1
	in     chan wire.ClientFrame // frames from the client, decoded
	closed chan error            // the read error that ended the connection
}

// newFakeServer starts a fake server, closed when the test ends. auth,
// when given, makes it a version 2 server.
func newFakeServer(t *testing.T, auth ...*fakeAuth) *fakeServer {
	t.Helper()
	fs := fakeServerOf(t, auth)
	fs.srv = httptest.NewServer(fs.routes())
	fs.url = "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/chat"
	return fs
}

// fakeServerOf returns a fake server with no listener yet.
func fakeServerOf(t *testing.T, auth []*fakeAuth) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, conns: make(chan *fakeConn, 16)}
	if len(auth) > 0 {
		fs.auth = auth[0]
	}
	t.Cleanup(fs.close)
	return fs
}

// routes serves the chat endpoint at every path but /api/, the accounts
// API when the server has accounts (404 otherwise, as in none mode).
func (fs *fakeServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", fs.handle)
	mux.Handle("/api/", fs.auth.api(fs))
	return mux
}

// handle upgrades one connection, welcomes it and reads its frames.
func (fs *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	if fs.gate != nil {
		<-fs.gate
	}
	if fs.refuse != "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintln(w, fs.refuse)
		return
	}
	user, token, ok := fs.auth.admit(w, r)
	if !ok {
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		fs.t.Errorf("upgrade: %v", err)
		return
	}
	fc := &fakeConn{ws: ws, user: user, token: token, in: make(chan wire.ClientFrame, 100), closed: make(chan error, 1)}
	fs.mu.Lock()
	fs.all = append(fs.all, fc)
	fs.mu.Unlock()
	fc.sendRaw(fs.t, fmt.Sprintf(`{"type":"welcome","user":%q,"users":[%q],"online":1,"ts":"2026-11-28T12:00:00.000Z"%s}`, fc.user, fc.user, fs.extra))
	fs.conns <- fc
	fc.readFrames(fs.t)
}

// readFrames decodes the client's frames into fc.in until the connection
// ends, then reports why on fc.closed. A plain-text line comes as a frame
// with no Type and the line as its Text.
func (fc *fakeConn) readFrames(t *testing.T) {
	defer close(fc.in)
	for {
		_, data, err := fc.ws.ReadMessage()
		if err != nil {
			fc.closed <- err
			return
		}
		var f wire.ClientFrame
		if !strings.HasPrefix(string(data), "{") {
			f.Text = string(data)
		} else if err := json.Unmarshal(data, &f); err != nil {
			t.Errorf("client sent a frame that is not JSON: %q", data)
			continue
		}
		fc.in <- f
	}
}

// accept waits for the next connection.
func (fs *fakeServer) accept() *fakeConn {
	fs.t.Helper()
	select {
	case fc := <-fs.conns:
		return fc
	case <-time.After(waitLimit):
		fs.t.Fatal("no connection from the client")
		return nil
	}
}

// close cuts every connection and stops the server.
func (fs *fakeServer) close() {
	fs.mu.Lock()
	for _, fc := range fs.all {
		_ = fc.ws.Close()
	}
	fs.mu.Unlock()
	fs.srv.Close()
}

// expect returns the client's next frame, failing the test after waitLimit.
func (fc *fakeConn) expect(t *testing.T) wire.ClientFrame {
	t.Helper()
	select {
	case f, ok := <-fc.in:
		if !ok {
			t.Fatal("connection ended while waiting for a frame")
		}
		return f
	case <-time.After(waitLimit):
		t.Fatal("no frame from the client")
	}
	return wire.ClientFrame{}
}

// sendRaw writes one text frame.
func (fc *fakeConn) sendRaw(t *testing.T, js string) {
	if err := fc.ws.WriteMessage(websocket.TextMessage, []byte(js)); err != nil {
		t.Errorf("fake server write: %v", err)
	}
}

// drop cuts the TCP connection with no closing handshake, as a network
// failure would.
func (fc *fakeConn) drop() {
	_ = fc.ws.UnderlyingConn().Close()
}

// closeWith sends a close frame with code and closes the connection.
func (fc *fakeConn) closeWith(code int, text string) {
	msg := websocket.FormatCloseMessage(code, text)
	_ = fc.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = fc.ws.Close()
}

// respond answers the client's frames the way the real server would, until
// the connection ends: say (receipt and the public copy), dm (receipt,
// queued), who, history (refused with bad_request when oldServer, as a
// server without history would), and plain-text lines (unknown_command,
// except /debug panic, which gets no answer, as from an actor that failed).
// Run it in its own goroutine.
func (fc *fakeConn) respond(t *testing.T, oldServer bool) {
	n := 0
	for f := range fc.in {
		n++
		if f.Type == "history" && oldServer {
			fc.sendRaw(t, fmt.Sprintf(`{"type":"error","ref":%q,"code":"bad_request","message":"unknown type \"history\""}`, refOfClient(f)))
			continue
		}
		for _, js := range answers(f, n, fc.user) {
			fc.sendRaw(t, js)
		}
	}
}

// answers returns the frames the real server would answer f with, the nth
// frame of a connection of user.
func answers(f wire.ClientFrame, n int, user string) []string {
	ref := refOfClient(f)
	ts := "2026-11-28T12:00:01.000Z"
	switch f.Type {
	case "say": // the copy first: the room sends it before the receipt
		return []string{
			fmt.Sprintf(`{"type":"message","id":"m%d","kind":"public","from":%q,"text":%q,"ts":%q}`, n, user, f.Text, ts),
			fmt.Sprintf(`{"type":"sent","ref":%q,"id":"m%d","ts":%q}`, ref, n, ts),
		}
	case "dm":
		return []string{fmt.Sprintf(`{"type":"sent","ref":%q,"id":"m%d","ts":%q,"queued":true}`, ref, n, ts)}
	case "who":
		return []string{fmt.Sprintf(`{"type":"users","ref":%q,"users":["alice","bob"],"online":2}`, ref)}
	case "history":
		return []string{fmt.Sprintf(`{"type":"history","ref":%q,"messages":[]}`, ref)}
	case "":
		if f.Text == "/debug panic" {
			return nil
		}
		return []string{fmt.Sprintf(`{"type":"error","code":"unknown_command","message":%q}`, "unknown command "+f.Text)}
	}
	return nil
}

// refOfClient is a client frame's ref, empty when it has none.
func refOfClient(f wire.ClientFrame) string {
	if f.Ref == nil {
		return ""
	}
	return *f.Ref
}

// closeCode waits for the connection to end and returns the close code the
// client sent, or -1 when it ended without a close frame.
func (fc *fakeConn) closeCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-fc.closed:
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return -1
	case <-time.After(waitLimit):
		t.Fatal("the client did not close the connection")
		return 0
	}
}

// lineWriter is an io.Writer for a client's output that hands each line
// to the test as it is written.
type lineWriter struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

// newLineWriter returns a writer with room for many unread lines.
func newLineWriter() *lineWriter { return &lineWriter{ch: make(chan string, 1000)} }

// Write records the lines in p (the printer writes whole lines).
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		w.lines = append(w.lines, line)
		w.ch <- line
	}
	return len(p), nil
}

// all returns every line written so far.
func (w *lineWriter) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// waitFor returns the next written line containing substr, failing the
// test after waitLimit.
func (w *lineWriter) waitFor(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case line := <-w.ch:
			if strings.Contains(line, substr) {
				return line
			}
		case <-deadline:
			t.Fatalf("no output line containing %q; got:\n%s", substr, strings.Join(w.all(), "\n"))
		}
	}
}

// count returns how many lines written so far contain substr.
func (w *lineWriter) count(substr string) int {
	n := 0
	for _, line := range w.all() {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
