package server_test

// The end-to-end tests' WebSocket client. Each client has a reader
// goroutine that reads frames into an unbounded queue, so that a test busy
// sending never makes the server see a slow consumer, and so that pings are
// answered (or not) while the test goroutine does something else. The
// expect* helpers take from that queue, each bounded by waitFor.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// frame is one server frame as read: decoded, with its raw text for
// checks the decoded form cannot make (a field's absence, exact bytes).
type frame struct {
	wire.ServerFrame
	Raw string
}

// event is what the reader goroutine saw: a frame (op, data).
type event struct {
	op   int
	data []byte
}

// client is a test WebSocket client.
type client struct {
	// set at construction
	user string
	ws   *websocket.Conn

	wmu sync.Mutex // serialises writes of data frames

	mu     sync.Mutex // guards the fields below
	queue  []event    // frames read and not yet taken
	err    error      // why the read loop ended; nil while it runs
	notify chan struct{}
	done   chan struct{} // closed when the read loop has ended
}

// dialConfig is what dial's options adjust.
type dialConfig struct {
	header   http.Header
	dialer   websocket.Dialer
	noReader bool                   // the test reads c.ws itself
	pingHook func(data string) bool // sees each ping; answers it when true
}

// dialOption adjusts how a client connects.
type dialOption func(*dialConfig)

// withHeader adds request headers (Origin, ...).
func withHeader(h http.Header) dialOption { return func(d *dialConfig) { d.header = h } }

// withoutReader leaves reading to the test: nothing reads the connection,
// so the client answers no pings and its TCP buffers fill up.
func withoutReader() dialOption { return func(d *dialConfig) { d.noReader = true } }

// withPingHook calls hook for every ping; the ping is answered with a pong
// only when hook returns true.
func withPingHook(hook func(data string) bool) dialOption {
	return func(d *dialConfig) { d.pingHook = hook }
}

// withDialer replaces the dialer (buffer sizes, socket options).
func withDialer(dl websocket.Dialer) dialOption { return func(d *dialConfig) { d.dialer = dl } }

// dial connects as user (the name is query-escaped) and does not read the
// welcome. The connection is closed when the test ends.
func dial(t *testing.T, e *env, user string, opts ...dialOption) *client {
	t.Helper()
	return dialQuery(t, e, "user="+url.QueryEscape(user), user, opts...)
}

// join dials and takes the welcome, which must be the first frame.
func join(t *testing.T, e *env, user string, opts ...dialOption) *client {
	t.Helper()
	c := dial(t, e, user, opts...)
	c.expect(t, "welcome")
	return c
}

func dialQuery(t *testing.T, e *env, rawQuery, user string, opts ...dialOption) *client {
	t.Helper()
	dc := dialConfig{dialer: websocket.Dialer{HandshakeTimeout: waitFor}}
	for _, o := range opts {
		o(&dc)
	}
	ws, resp, err := dc.dialer.Dial(e.wsURL+"?"+rawQuery, dc.header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %q: %v (HTTP %d)", rawQuery, err, status)
	}
	c := &client{user: user, ws: ws, notify: make(chan struct{}, 1), done: make(chan struct{})}
	if dc.pingHook != nil {
		hook := dc.pingHook
		ws.SetPingHandler(func(data string) error {
			if hook(data) {
				_ = ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
			}
			return nil
		})
	}
	if dc.noReader {
		close(c.done)
	} else {
		go c.readLoop()
	}
	t.Cleanup(c.shutdown)
	return c
}

// refusedDial tries to connect with the given raw query and headers and
// returns the HTTP response of a refused upgrade, with its body (read and
// closed).
//
//bodyclose:handled
func refusedDial(t *testing.T, e *env, rawQuery string, header http.Header) (*http.Response, string) {
	t.Helper()
	dl := websocket.Dialer{HandshakeTimeout: waitFor}
	ws, resp, err := dl.Dial(e.wsURL+"?"+rawQuery, header)
	if err == nil {
		_ = ws.Close()
		t.Fatalf("dial %q: upgraded, want a refusal", rawQuery)
	}
	if resp == nil {
		t.Fatalf("dial %q: %v, and no HTTP response", rawQuery, err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		op, data, err := c.ws.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.err = err
		} else {
			c.queue = append(c.queue, event{op: op, data: data})
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// shutdown closes the TCP connection and waits for the reader to end.
func (c *client) shutdown() {
	_ = c.ws.Close()
	<-c.done
}

// next returns the next frame read; or, once none is left, the error that
// ended the connection (a *websocket.CloseError for a close frame); or
// timedOut after d.
func (c *client) next(d time.Duration) (ev event, err error, timedOut bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			ev = c.queue[0]
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return ev, nil, false
		}
		err = c.err
		c.mu.Unlock()
		if err != nil {
			return event{}, err, false
		}
		select {
		case <-c.notify:
		case <-timer.C:
			return event{}, nil, true
		}
	}
}

// recvFrame returns the next frame, or an error when the connection ended,
// the frame is not a text frame holding a server frame, or d passed. It
// does not touch t, so other goroutines may use it.
func (c *client) recvFrame(d time.Duration) (frame, error) {
	ev, err, timedOut := c.next(d)
	switch {
	case timedOut:
		return frame{}, fmt.Errorf("%s: no frame within %v", c.user, d)
	case err != nil:
		return frame{}, fmt.Errorf("%s: connection ended: %w", c.user, err)
	case ev.op != websocket.TextMessage:
		return frame{}, fmt.Errorf("%s: got a frame of opcode %d, want text", c.user, ev.op)
	}
	f, perr := wire.ParseServerFrame(ev.data)
	if perr != nil {
		return frame{}, fmt.Errorf("%s: unparsable frame %q: %w", c.user, ev.data, perr)
	}
	return frame{ServerFrame: f, Raw: string(ev.data)}, nil
}

// recv returns the next frame, whatever its type.
func (c *client) recv(t *testing.T) frame {
	t.Helper()
	f, err := c.recvFrame(waitFor)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expect returns the next frame, which must be of the given type.
func (c *client) expect(t *testing.T, typ string) frame {
	t.Helper()
	f := c.recv(t)
	if f.Type != typ {
		t.Fatalf("%s: got frame %s, want type %q", c.user, f.Raw, typ)
	}
	return f
}

// expectError returns the next frame, which must be an error with code.
func (c *client) expectError(t *testing.T, code string) frame {
	t.Helper()
	f := c.expect(t, "error")
	if f.Code != code {
		t.Fatalf("%s: got error %s, want code %q", c.user, f.Raw, code)
	}
	if f.Message == "" {
		t.Errorf("%s: error frame without a human-readable message: %s", c.user, f.Raw)
	}
	return f
}

// expectFrame returns the first frame for which pred holds, skipping the
// others (use expect where nothing may come in between).
func (c *client) expectFrame(t *testing.T, what string, pred func(frame) bool) frame {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	var skipped []string
	for {
		f, err := c.recvFrame(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %s (skipped %q): %v", what, skipped, err)
		}
		if pred(f) {
			return f
		}
		skipped = append(skipped, f.Raw)
	}
}

// expectClose reads until the connection ends, which must be a close frame
// with code; it returns the frames read before it.
func (c *client) expectClose(t *testing.T, code int) []frame {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	var before []frame
	for {
		ev, err, timedOut := c.next(time.Until(deadline))
		switch {
		case timedOut:
			t.Fatalf("%s: not closed within %v (read %d frames)", c.user, waitFor, len(before))
		case err != nil:
			if !websocket.IsCloseError(err, code) {
				t.Fatalf("%s: connection ended with %v, want close code %d", c.user, err, code)
			}
			return before
		case ev.op != websocket.TextMessage:
			t.Fatalf("%s: got a frame of opcode %d", c.user, ev.op)
		default:
			f, _ := wire.ParseServerFrame(ev.data)
			before = append(before, frame{ServerFrame: f, Raw: string(ev.data)})
		}
	}
}

// expectNothing checks that no frame arrives, and the connection stays, for
// d.
func (c *client) expectNothing(t *testing.T, d time.Duration) {
	t.Helper()
	ev, err, timedOut := c.next(d)
	switch {
	case timedOut:
	case err != nil:
		t.Fatalf("%s: connection ended: %v; want it open and quiet", c.user, err)
	default:
		t.Fatalf("%s: got %q; want nothing", c.user, ev.data)
	}
}

// sendText sends one text frame.
func (c *client) sendText(t *testing.T, text string) {
	t.Helper()
	c.sendRaw(t, websocket.TextMessage, []byte(text))
}

// sendFrame sends a JSON request.
func (c *client) sendFrame(t *testing.T, f wire.ClientFrame) {
	t.Helper()
	c.sendRaw(t, websocket.TextMessage, f.Encode())
}

func (c *client) sendRaw(t *testing.T, op int, data []byte) {
	t.Helper()
	if err := c.write(op, data); err != nil {
		t.Fatalf("%s: write: %v", c.user, err)
	}
}

// write sends one frame without touching t, for other goroutines.
func (c *client) write(op int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(waitFor))
	return c.ws.WriteMessage(op, data)
}

// leave closes the connection cleanly (close 1000) and waits until the
// server has answered, i.e. the read loop has ended.
func (c *client) leave(t *testing.T) {
	t.Helper()
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(waitFor))
	select {
	case <-c.done:
	case <-time.After(waitFor):
		t.Fatalf("%s: the server did not answer the close", c.user)
	}
}

// say sends a public message with a ref and returns the sent receipt. The
// next two frames must be the receipt and the sender's own copy, in either
// order.
func (c *client) say(t *testing.T, text, ref string) frame {
	t.Helper()
	sent, _ := c.sayBoth(t, text, ref)
	return sent
}

// sayBoth is say returning the own copy too.
func (c *client) sayBoth(t *testing.T, text, ref string) (sent, own frame) {
	t.Helper()
	return c.sendSay(t, sayFrame(text, ref))
}

// sendSay sends a say request (with a ref) and returns the receipt and the
// own copy, which must be the next two frames, in either order.
func (c *client) sendSay(t *testing.T, req wire.ClientFrame) (sent, own frame) {
	t.Helper()
	c.sendFrame(t, req)
	for range 2 {
		switch f := c.recv(t); {
		case f.Type == "sent" && refIs(f, *req.Ref) && sent.Type == "":
			sent = f
		case f.Type == "message" && f.From == c.user && f.Text == req.Text && own.Type == "":
			own = f
		default:
			t.Fatalf("%s: got %s, want the receipt %q and the own copy of %q", c.user, f.Raw, *req.Ref, req.Text)
		}
	}
	if sent.ID != own.ID || sent.TS != own.TS {
		t.Fatalf("%s: receipt %s does not match own copy %s", c.user, sent.Raw, own.Raw)
	}
	return sent, own
}

// dm sends a private message with a ref and returns the sent receipt,
// which must be the next frame.
func (c *client) dm(t *testing.T, to, text, ref string) frame {
	t.Helper()
	c.sendFrame(t, wire.ClientFrame{Type: "dm", To: to, Text: text, Ref: &ref})
	f := c.expect(t, "sent")
	if !refIs(f, ref) {
		t.Fatalf("%s: receipt %s, want ref %q", c.user, f.Raw, ref)
	}
	return f
}

// who asks who is online and returns the answer, the next frame.
func (c *client) who(t *testing.T, after, ref string) frame {
	t.Helper()
	c.sendFrame(t, wire.ClientFrame{Type: "who", After: after, Ref: &ref})
	f := c.expect(t, "users")
	if !refIs(f, ref) {
		t.Fatalf("%s: users %s, want ref %q", c.user, f.Raw, ref)
	}
	return f
}

// refIs reports whether the frame carries exactly this ref.
func refIs(f frame, ref string) bool { return f.Ref != nil && *f.Ref == ref }

// ptr returns a pointer to s, for refs.
func ptr(s string) *string { return &s }

// checkTS fails unless ts is a protocol timestamp.
func checkTS(t *testing.T, what, ts string) {
	t.Helper()
	if !tsPattern.MatchString(ts) {
		t.Errorf("%s: ts %q is not RFC 3339 UTC with 3 fractional digits", what, ts)
	}
}
