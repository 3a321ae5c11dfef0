package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// maxServerFrame bounds what the client reads in one frame: a full history
// answer (200 messages of up to 4 KiB of text, escaped) fits many times.
const maxServerFrame = 8 << 20

// connection is one WebSocket connection and its outbound queue.
type connection struct {
	// Set at construction.
	ws       *websocket.Conn
	wake     chan struct{}   // capacity 1: the write loop has something to do
	ctx      context.Context // done when the read loop has ended
	end      context.CancelFunc
	welcomed chan struct{} // closed when the welcome, and with it the pace, has arrived

	// Guarded by Client.mu.
	queue    []outFrame // frames waiting for the write loop, oldest first
	retries  []*Request // refused as rate_limited: written again before the queue, oldest first
	closeReq bool       // write a close frame after the queue
}

// outFrame is a frame waiting to be written.
type outFrame struct {
	data  []byte
	paced bool // a say or dm: written at the pace of the server's rate limit
}

// newConnection wraps ws.
func newConnection(ws *websocket.Conn) *connection {
	ctx, end := context.WithCancel(context.Background())
	return &connection{ws: ws, wake: make(chan struct{}, 1), ctx: ctx, end: end, welcomed: make(chan struct{})}
}

// enqueue adds a frame for the write loop. Called with Client.mu held.
func (cn *connection) enqueue(f outFrame) {
	cn.queue = append(cn.queue, f)
	cn.poke()
}

// next takes the frame to write next: a retry first, else the oldest
// queued frame. It reports false when there is none. Called with
// Client.mu held.
func (cn *connection) next() (outFrame, bool) {
	if len(cn.retries) > 0 {
		req := cn.retries[0]
		cn.retries = cn.retries[1:]
		return req.out(), true
	}
	if len(cn.queue) == 0 {
		return outFrame{}, false
	}
	f := cn.queue[0]
	cn.queue = cn.queue[1:]
	return f, true
}

// markWelcomed records that the welcome has arrived; a second one changes
// nothing. Run goroutine.
func (cn *connection) markWelcomed() {
	select {
	case <-cn.welcomed:
	default:
		close(cn.welcomed)
	}
}

// requestClose asks the write loop to close with 1000 after the queue, and
// cuts the connection if the handshake takes longer than timeout. Called
// with Client.mu held.
func (cn *connection) requestClose(timeout time.Duration) {
	cn.closeReq = true
	cn.poke()
	ws := cn.ws
	time.AfterFunc(timeout, func() { _ = ws.Close() })
}

// poke wakes the write loop without blocking.
func (cn *connection) poke() {
	select {
	case cn.wake <- struct{}{}:
	default:
	}
}

// unauthorizedError is a dial the server answered with 401: the token
// presented (empty: none) is missing, unknown, expired or revoked.
type unauthorizedError struct {
	token string
}

// Error never shows the token.
func (e *unauthorizedError) Error() string { return "the server wants credentials (HTTP 401)" }

// dial opens a connection, presenting the current token, if any, as a
// bearer. It turns an HTTP 400 into a *RefusedError that carries the
// server's reason, a 401 into an *unauthorizedError and a 403 (the token
// is another user's) into a *SignInError.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	c.token = c.creds.current()
	var header http.Header
	if c.token != "" {
		header = http.Header{"Authorization": {"Bearer " + c.token}}
	}
	ws, resp, err := c.dialer.DialContext(ctx, c.urls[c.at], header)
	if err == nil {
		c.creds.accepted()
		return ws, nil
	}
	if resp == nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return nil, &RefusedError{Status: resp.StatusCode, Reason: refusalReason(resp)}
	case http.StatusUnauthorized:
		return nil, &unauthorizedError{token: c.token}
	case http.StatusForbidden:
		return nil, &SignInError{Reason: "the server refused the credentials for " + c.cfg.User + ": " + refusalReason(resp)}
	}
	return nil, fmt.Errorf("HTTP %s", resp.Status)
}

// refusalReason is the first line of a refusal's text/plain body, or the
// status when it is empty.
func refusalReason(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	reason, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if reason == "" {
		return resp.Status
	}
	return escapeControls(reason)
}

// serve runs one connection until it ends: it queues the history request and
// every unanswered request, starts the write loop and runs the read loop in
// this goroutine. It returns whether the server welcomed us and why the
// connection ended.
func (c *Client) serve(ctx context.Context, ws *websocket.Conn) (bool, error) {
	cn := newConnection(ws)
	c.welcomed, c.replaced, c.revoked = false, false, false
	if c.attach(cn) {
		defer c.hold().Stop()
		defer c.release(nil) // runs first: nothing stays held past the connection
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(cn)
	}()
	stop := context.AfterFunc(ctx, func() { c.abort(ws) })
	err := c.readLoop(cn)
	stop()
	c.detach(cn)
	_ = ws.Close()
	<-writerDone
	return c.welcomed, err
}

// attach makes cn the live connection and queues on it, in order: the
// history request, then every request still unanswered, with its original
// ref and key, so the server can tell a resend from a new message. It
// reports whether it asked for history.
func (c *Client) attach(cn *connection) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.historyRef = ""
	if n := min(c.cfg.History, wire.MaxHistoryLimit); n > 0 {
		c.historyN++
		c.historyRef = "h" + strconv.FormatUint(c.historyN, 10)
		cn.queue = append(cn.queue, outFrame{data: wire.ClientFrame{Type: "history", Limit: n, Ref: &c.historyRef}.Encode()})
	}
	cn.queue = append(cn.queue, c.pending.frames()...)
	c.pending.dropOneShots() // queued now, and nothing will answer them
	c.settleIdle()
	c.conn = cn
	if c.closing {
		cn.requestClose(c.cfg.CloseTimeout)
	}
	cn.poke()
	return c.historyRef != ""
}

// detach forgets cn; what was queued on it but not written stays pending.
func (c *Client) detach(cn *connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	cn.end()
}

// abort ends the connection when the context does: a best-effort close
// frame, then the socket.
func (c *Client) abort(ws *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.cfg.CloseTimeout))
	_ = ws.Close()
}

// writeLoop writes queued frames, a keep-alive ping when the connection has
// been quiet, and the close frame Close asked for. Every write has a
// deadline; a failed write cuts the connection, which ends the read loop.
func (c *Client) writeLoop(cn *connection) {
	ping := time.NewTicker(c.cfg.KeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-ping.C:
			if c.write(cn.ws, websocket.PingMessage, nil) != nil {
				_ = cn.ws.Close()
				return
			}
		case <-cn.wake:
			if !c.flush(cn) {
				return
			}
		}
	}
}

// flush writes what is queued on cn, retries first, say and dm at the
// server's pace, and then, if asked, the close frame. It takes one frame
// at a time, so that a retry queued meanwhile goes before newer frames. It
// reports whether the loop should go on.
func (c *Client) flush(cn *connection) bool {
	for {
		c.mu.Lock()
		f, ok := cn.next()
		closing := cn.closeReq
		c.mu.Unlock()
		switch {
		case !ok && closing:
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = c.write(cn.ws, websocket.CloseMessage, msg)
			return false
		case !ok:
			return true
		case f.paced && !c.awaitPace(cn):
			return false
		}
		if err := c.write(cn.ws, websocket.TextMessage, f.data); err != nil {
			c.cfg.Logger.Debug("write failed", "err", err)
			_ = cn.ws.Close()
			return false
		}
	}
}

// write writes one message with the write deadline.
func (c *Client) write(ws *websocket.Conn, kind int, data []byte) error {
	if err := ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	return ws.WriteMessage(kind, data)
}

// readLoop reads frames until the connection fails. Any frame, ping or pong
// proves the connection alive and moves the read deadline on; the server's
// pings are still answered by gorilla's default handler.
func (c *Client) readLoop(cn *connection) error {
	ws := cn.ws
	ws.SetReadLimit(maxServerFrame)
	alive := func() { _ = ws.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout)) }
	alive()
	answerPing := ws.PingHandler()
	ws.SetPingHandler(func(data string) error { alive(); return answerPing(data) })
	ws.SetPongHandler(func(string) error { alive(); return nil })
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		alive()
		c.dispatch(cn, data)
	}
}

// dispatch turns one server frame of cn into an event, dropping messages
// already shown, the quiet failure of a history request to an older server
// and refusals for rate, which it sends again (pace.go).
func (c *Client) dispatch(cn *connection, data []byte) {
	f, err := wire.ParseServerFrame(data)
	if err != nil {
		c.cfg.Logger.Warn("unparsable frame from server", "err", err, "frame", string(data))
		return
	}
	ev := Event{Frame: f, Raw: data}
	switch f.Type {
	case "welcome":
		c.welcomed = true
		c.setPace(f.MsgRate, f.MsgBurst)
		cn.markWelcomed()
		ev.Reconnect = c.markConnected()
		c.emitNow(ev) // the first frame: nothing is held before it
		return
	case "message":
		if !c.seen.add(f.ID) {
			c.cfg.Logger.Debug("dropped duplicate message", "id", f.ID)
			return
		}
	case "history":
		ev.Fresh = c.fresh(f.Messages)
		c.release(&ev) // shown before what was held back meanwhile
		return
	case "sent", "users":
		ev.Request = c.complete(refOf(f))
	case "error":
		if !c.errorEvent(cn, &ev) {
			return
		}
	}
	c.emit(ev)
}

// markConnected records a welcome and reports whether one came before.
func (c *Client) markConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.everConn
	if !before {
		c.everConn = true
		close(c.welcome)
	}
	c.settle()
	return before
}

// fresh returns the messages of a history answer not seen before, and
// records them as seen.
func (c *Client) fresh(msgs []wire.ServerFrame) []wire.ServerFrame {
	var out []wire.ServerFrame
	for _, m := range msgs {
		if c.seen.add(m.ID) {
			out = append(out, m)
		}
	}
	return out
}

// errorEvent completes the request an error refuses and reports whether the
// error is worth showing: a refused history request is not (an older server
// without history), nor a refusal for rate, which is sent again instead.
func (c *Client) errorEvent(cn *connection, ev *Event) bool {
	ref := refOf(ev.Frame)
	if ref != "" && ref == c.historyRef {
		c.cfg.Logger.Debug("history refused", "code", ev.Frame.Code, "message", ev.Frame.Message)
		c.release(nil)
		return false
	}
	if ev.Frame.Code == wire.CodeRateLimited && c.retry(cn, ref) {
		c.cfg.Logger.Debug("rate limited; sending again", "ref", ref)
		return false
	}
	switch ev.Frame.Code {
	case wire.CodeSessionReplaced:
		c.replaced = true
	case codeCredentialsRevoked:
		c.revoked = true
	}
	ev.Request = c.complete(ref)
	return true
}

// refOf is the frame's ref, empty when it has none.
func refOf(f wire.ServerFrame) string {
	if f.Ref == nil {
		return ""
	}
	return *f.Ref
}

// isClose reports whether err is a close frame with the given code.
func isClose(err error, code int) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == code
}

// describe explains why a connection ended, for the "connection lost"
// notice.
func describe(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return describeClose(ce)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "the server stopped answering"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the server closed the connection"
	}
	return err.Error()
}

// describeClose explains a close frame from the server.
func describeClose(ce *websocket.CloseError) string {
	why := map[int]string{
		websocket.CloseGoingAway:       "server shutting down",
		websocket.CloseNormalClosure:   "closed by the server",
		websocket.ClosePolicyViolation: "closed by the server for sending too fast",
		websocket.CloseAbnormalClosure: "the connection was cut",
		wire.CloseSlowConsumer:         "closed by the server: this client read too slowly",
	}[ce.Code]
	if why != "" {
		return why
	}
	why = fmt.Sprintf("closed by the server with code %d", ce.Code)
	if ce.Text != "" {
		why += ": " + escapeControls(ce.Text)
	}
	return why
}

// shortDialError keeps the useful end of a dial error: "connection
// refused" rather than "dial tcp 127.0.0.1:8000: connect: connection
// refused".
func shortDialError(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Name + ": " + dnsErr.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return err.Error()
}
