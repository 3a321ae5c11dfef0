package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer implements just enough of docs/protocol.md (welcome, presence,
// say with receipts and broadcast, dm with an offline queue, who) -- or, with
// hub set, gorilla's hub (every line relayed to everyone, queued lines joined
// by '\n') -- and can drop every k-th delivery or delay all of them, so tests
// know exactly what the tool should report.
type fakeServer struct {
	// Set at construction.
	t         *testing.T
	dropEvery int64         // drop every dropEvery-th delivery; 0: none
	delay     time.Duration // hold every delivery this long
	hub       bool
	srv       *httptest.Server

	// Counters, updated under mu or atomically.
	deliveries atomic.Int64 // deliveries decided on (sent or dropped)
	dropped    atomic.Int64
	accepted   atomic.Int64 // say/dm (or hub lines) accepted
	joined     atomic.Int64 // hub frames that joined several lines

	// Guarded by mu.
	mu     sync.Mutex
	online map[string]*fakeConn
	known  map[string]bool
	queues map[string][][]byte
	nextID int
	hosts  map[string]int // connections by client IP
}

// fakeConn is one server-side connection with its writer goroutine.
type fakeConn struct {
	ws     *websocket.Conn
	out    chan fakeFrame // closed under fakeServer.mu by unregister
	closed bool           // guarded by fakeServer.mu
}

type fakeFrame struct {
	data []byte
	due  time.Time
}

func newFakeServer(t *testing.T, dropEvery int64, delay time.Duration, hub bool) *fakeServer {
	s := &fakeServer{t: t, dropEvery: dropEvery, delay: delay, hub: hub,
		online: map[string]*fakeConn{}, known: map[string]bool{}, queues: map[string][][]byte{}, hosts: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// url returns the WebSocket endpoint.
func (s *fakeServer) url() *url.URL {
	u, err := url.Parse("ws" + strings.TrimPrefix(s.srv.URL, "http") + "/chat")
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

var fakeUpgrader = websocket.Upgrader{}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if user == "" && !s.hub {
		http.Error(w, "missing user", http.StatusBadRequest)
		return
	}
	ws, err := fakeUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		s.mu.Lock()
		s.hosts[host]++
		s.mu.Unlock()
	}
	c := &fakeConn{ws: ws, out: make(chan fakeFrame, 1<<15)}
	go s.write(c)
	if s.hub {
		user = fmt.Sprintf("anon-%p", c)
	}
	s.register(user, c)
	defer s.unregister(user, c)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		s.handle(user, c, data)
	}
}

// register sends the welcome and any queued DMs, and tells the others.
func (s *fakeServer) register(user string, c *fakeConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online[user] = c
	s.known[user] = true
	if s.hub {
		return
	}
	c.out <- fakeFrame{data: fmt.Appendf(nil, `{"type":"welcome","user":%q,"users":[],"online":%d,"ts":"x"}`, user, len(s.online))}
	for _, m := range s.queues[user] {
		s.deliverLocked(c, m)
	}
	delete(s.queues, user)
	for name, o := range s.online {
		if name != user {
			o.out <- fakeFrame{data: fmt.Appendf(nil, `{"type":"presence","user":%q,"online":true,"ts":"x"}`, user)}
		}
	}
}

func (s *fakeServer) unregister(user string, c *fakeConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.online[user] == c {
		delete(s.online, user)
	}
	c.closed = true
	close(c.out)
	_ = c.ws.Close()
}

// write is a connection's writer: it holds each frame until due and, in hub
// mode, joins every frame already due into one.
func (s *fakeServer) write(c *fakeConn) {
	for f := range c.out {
		time.Sleep(time.Until(f.due)) // the injected delay
		data := f.data
		for s.hub && len(c.out) > 0 {
			next := <-c.out
			time.Sleep(time.Until(next.due))
			data = append(append(append([]byte(nil), data...), '\n'), next.data...)
			s.joined.Add(1)
		}
		if c.ws.WriteMessage(websocket.TextMessage, data) != nil {
			_ = c.ws.Close()
		}
	}
}

// deliverLocked queues a message frame for c unless it is the k-th delivery
// to drop. Called with mu held.
func (s *fakeServer) deliverLocked(c *fakeConn, frame []byte) {
	n := s.deliveries.Add(1)
	if s.dropEvery > 0 && n%s.dropEvery == 0 {
		s.dropped.Add(1)
		return
	}
	if !c.closed {
		c.out <- fakeFrame{data: frame, due: time.Now().Add(s.delay)}
	}
}

type fakeRequest struct {
	Type  string `json:"type"`
	To    string `json:"to"`
	Text  string `json:"text"`
	After string `json:"after"`
}

func (s *fakeServer) handle(user string, c *fakeConn, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hub {
		s.accepted.Add(1)
		for _, o := range s.online {
			s.deliverLocked(o, bytes.TrimSpace(data))
		}
		return
	}
	var req fakeRequest
	if err := json.Unmarshal(data, &req); err != nil {
		c.out <- fakeFrame{data: []byte(`{"type":"error","code":"bad_request","message":"x"}`)}
		return
	}
	switch req.Type {
	case "say":
		s.say(user, c, req)
	case "dm":
		s.dm(user, c, req)
	case "who":
		s.who(c, req.After)
	}
}

func (s *fakeServer) stamp() (string, string) {
	s.nextID++
	return fmt.Sprint(s.nextID), time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *fakeServer) say(user string, c *fakeConn, req fakeRequest) {
	s.accepted.Add(1)
	id, ts := s.stamp()
	c.out <- fakeFrame{data: fmt.Appendf(nil, `{"type":"sent","id":%q,"ts":%q}`, id, ts)}
	msg := fmt.Appendf(nil, `{"type":"message","id":%q,"kind":"public","from":%q,"text":%q,"ts":%q}`, id, user, req.Text, ts)
	for _, o := range s.online {
		s.deliverLocked(o, msg)
	}
}

func (s *fakeServer) dm(user string, c *fakeConn, req fakeRequest) {
	if !s.known[req.To] {
		c.out <- fakeFrame{data: []byte(`{"type":"error","code":"unknown_user","message":"x"}`)}
		return
	}
	s.accepted.Add(1)
	id, ts := s.stamp()
	to, online := s.online[req.To]
	queued := ""
	if !online {
		queued = `,"queued":true`
	}
	c.out <- fakeFrame{data: fmt.Appendf(nil, `{"type":"sent","id":%q,"ts":%q%s}`, id, ts, queued)}
	if !online {
		s.queues[req.To] = append(s.queues[req.To], fmt.Appendf(nil,
			`{"type":"message","id":%q,"kind":"dm","from":%q,"to":%q,"text":%q,"ts":%q,"offline":true}`, id, user, req.To, req.Text, ts))
		return
	}
	s.deliverLocked(to, fmt.Appendf(nil,
		`{"type":"message","id":%q,"kind":"dm","from":%q,"to":%q,"text":%q,"ts":%q}`, id, user, req.To, req.Text, ts))
}

func (s *fakeServer) who(c *fakeConn, after string) {
	var names []string
	for n := range s.online {
		if n > after {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	b, _ := json.Marshal(map[string]any{"type": "users", "users": names, "online": len(s.online)})
	c.out <- fakeFrame{data: b}
}

// awaitNobodyOnline fails the test unless every connection has gone within
// a few seconds.
func (s *fakeServer) awaitNobodyOnline(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.online)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", n)
		}
		time.Sleep(10 * time.Millisecond) // polled until the deadline
	}
}
