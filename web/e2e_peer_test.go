package web_test

// peer is the other side of a browser test: a user on a raw WebSocket
// connection that records every frame it gets, duplicates included, so
// that a test can count what was delivered, not only what a client shows.

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

type peer struct {
	t    *testing.T
	name string
	ws   *websocket.Conn

	mu     sync.Mutex
	frames []wire.ServerFrame
	err    error // why reading stopped
}

// connectPeer connects as the account g to s (with the token and the
// name, as the web page does) and waits for the welcome.
func connectPeer(t *testing.T, s *chatServer, g grant) *peer {
	t.Helper()
	q := url.Values{"token": {g.Token}, "user": {g.User}}
	dialer := websocket.Dialer{HandshakeTimeout: waitFor}
	ws, resp, err := dialer.Dial(s.wsURL()+"?"+q.Encode(), nil)
	if resp != nil {
		_ = resp.Body.Close() // the upgrade's response has no body to read
	}
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: dial: %v (HTTP %d)", g.User, err, status)
	}
	p := &peer{t: t, name: g.User, ws: ws}
	go p.read()
	t.Cleanup(func() { _ = ws.Close() })
	p.wait("welcome", func(f wire.ServerFrame) bool { return f.Type == "welcome" })
	return p
}

func (p *peer) read() {
	for {
		_, data, err := p.ws.ReadMessage()
		p.mu.Lock()
		if err != nil {
			p.err = err
			p.mu.Unlock()
			return
		}
		if f, perr := wire.ParseServerFrame(data); perr == nil {
			p.frames = append(p.frames, f)
		}
		p.mu.Unlock()
	}
}

// send writes a request.
func (p *peer) send(f wire.ClientFrame) {
	p.t.Helper()
	if err := p.ws.WriteMessage(websocket.TextMessage, f.Encode()); err != nil {
		p.t.Fatalf("%s: write: %v", p.name, err)
	}
}

// say sends a public message.
func (p *peer) say(text string) { p.send(wire.ClientFrame{Type: "say", Text: text}) }

// dm sends a private message and returns its receipt.
func (p *peer) dm(to, text string) wire.ServerFrame {
	p.t.Helper()
	ref := "dm-" + text
	p.send(wire.ClientFrame{Type: "dm", To: to, Text: text, Ref: &ref})
	return p.wait("the receipt of "+text, func(f wire.ServerFrame) bool {
		return f.Ref != nil && *f.Ref == ref && (f.Type == "sent" || f.Type == "error")
	})
}

// wait polls the recorded frames until one matches, and returns it.
func (p *peer) wait(what string, match func(wire.ServerFrame) bool) wire.ServerFrame {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if f, ok := p.find(match); ok {
			return f
		}
		if time.Now().After(deadline) {
			p.mu.Lock()
			err := p.err
			p.mu.Unlock()
			p.t.Fatalf("%s: waited %v for %s (reading: %v)", p.name, waitFor, what, err)
		}
		time.Sleep(pollEvery)
	}
}

func (p *peer) find(match func(wire.ServerFrame) bool) (wire.ServerFrame, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frames {
		if match(f) {
			return f, true
		}
	}
	return wire.ServerFrame{}, false
}

// messages returns the message frames received with text.
func (p *peer) messages(text string) []wire.ServerFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.ServerFrame
	for _, f := range p.frames {
		if f.Type == "message" && f.Text == text {
			out = append(out, f)
		}
	}
	return out
}

// waitMessage waits for a message with text.
func (p *peer) waitMessage(text string) wire.ServerFrame {
	p.t.Helper()
	return p.wait("message "+text, func(f wire.ServerFrame) bool { return f.Type == "message" && f.Text == text })
}
