package clustertest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// client is one WebSocket connection to a node, as user. A goroutine reads
// every frame into frames (answering pings, as a client must for its
// private messages to count as received) until the connection ends; then
// closeCode has the close code.
type client struct {
	t      *testing.T
	user   string
	conn   *websocket.Conn
	frames chan wire.ServerFrame
	done   chan struct{}

	mu        sync.Mutex // guards closeCode and writes
	closeCode int
}

// dial connects user to the chat endpoint wsURL (with ?user=, for -auth
// none, or with a token) and waits for the welcome.
func dial(t *testing.T, wsURL, user, token string) *client {
	t.Helper()
	c, err := tryDial(t, wsURL, user, token)
	if err != nil {
		t.Fatalf("%s connecting to %s: %v", user, wsURL, err)
	}
	return c
}

// tryDial is dial that returns the error.
func tryDial(t *testing.T, wsURL, user, token string) (*client, error) {
	t.Helper()
	q := url.Values{}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	} else {
		q.Set("user", user)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(wsURL+"?"+q.Encode(), h)
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c := &client{t: t, user: user, conn: conn, frames: make(chan wire.ServerFrame, 10_000), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	f, err := c.nextErr(waitFor)
	if err != nil {
		return nil, err
	}
	if f.Type != "welcome" {
		return nil, fmt.Errorf("first frame %q (%s), not welcome", f.Type, f.Message)
	}
	return c, nil
}

func (c *client) read() {
	defer close(c.done)
	defer close(c.frames)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				c.mu.Lock()
				c.closeCode = ce.Code
				c.mu.Unlock()
			}
			return
		}
		f, err := wire.ParseServerFrame(data)
		if err != nil {
			c.t.Errorf("%s: bad frame %q: %v", c.user, data, err)
			continue
		}
		c.frames <- f
	}
}

// close ends the connection.
func (c *client) close() {
	_ = c.conn.Close()
	<-c.done
}

// send writes one request.
func (c *client) send(f wire.ClientFrame) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	// A failed write is a closed connection, which the read reports.
	_ = c.conn.WriteMessage(websocket.TextMessage, f.Encode())
}

// ref is a request reference.
func ref(s string) *string { return &s }

func (c *client) say(text, key string) {
	c.send(wire.ClientFrame{Type: "say", Text: text, Key: key, Ref: ref(key)})
}

func (c *client) dm(to, text, key string) {
	c.send(wire.ClientFrame{Type: "dm", To: to, Text: text, Key: key, Ref: ref(key)})
}

func (c *client) nextErr(within time.Duration) (wire.ServerFrame, error) {
	select {
	case f, ok := <-c.frames:
		if !ok {
			return f, fmt.Errorf("connection closed (code %d)", c.code())
		}
		return f, nil
	case <-time.After(within):
		return wire.ServerFrame{}, errTimeout
	}
}

// expect returns the first frame that match accepts, skipping others,
// failing t after waitFor.
func (c *client) expect(what string, match func(wire.ServerFrame) bool) wire.ServerFrame {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		f, err := c.nextErr(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s waiting for %s: %v", c.user, what, err)
		}
		if match(f) {
			return f
		}
	}
}

// receipt waits for the answer to the request with reference key: a sent
// frame, or an error frame (returned too).
func (c *client) receipt(key string) wire.ServerFrame {
	c.t.Helper()
	return c.expect("the answer to "+key, func(f wire.ServerFrame) bool {
		return (f.Type == "sent" || f.Type == "error") && f.Ref != nil && *f.Ref == key
	})
}

// message waits for a chat message with this text.
func (c *client) message(text string) wire.ServerFrame {
	c.t.Helper()
	return c.expect("message "+strconv.Quote(text), func(f wire.ServerFrame) bool {
		return f.Type == "message" && f.Text == text
	})
}

// awaitClose waits until the server closes the connection and returns the
// close code.
func (c *client) awaitClose(within time.Duration) int {
	c.t.Helper()
	select {
	case <-c.done:
		return c.code()
	case <-time.After(within):
		c.t.Fatalf("%s: the connection did not close within %v", c.user, within)
		return 0
	}
}

func (c *client) code() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}
