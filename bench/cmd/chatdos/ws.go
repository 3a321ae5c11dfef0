package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// ioTimeout bounds every dial, handshake and request/answer exchange that
// has no deadline of its own.
const ioTimeout = 10 * time.Second

// maxPayload is the largest server frame the tool reads (a history page is
// under 1 MB).
const maxPayload = 16 << 20

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// wsConn is an upgraded connection spoken to with frames made by hand, so
// that the tool can do what a well-behaved client library would refuse to:
// write without ever reading, for one.
type wsConn struct {
	net.Conn
	br  *bufio.Reader
	wmu sync.Mutex // one frame written at a time
}

// statusError is an HTTP answer other than the one asked for.
type statusError struct{ code int }

// Error implements error.
func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

// closedError is a close frame from the server.
type closedError struct{ code int }

// Error implements error.
func (e *closedError) Error() string { return fmt.Sprintf("close %d", e.code) }

// reply is what the tool reads of a server's JSON frame.
type reply struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Ref  string `json:"ref"`
}

// dial opens a TCP connection to addr within ioTimeout.
func dial(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, ioTimeout)
}

// upgrade opens a WebSocket connection to addr's /chat as user (the server
// must run with -auth none) within ioTimeout.
func upgrade(addr, user string) (*wsConn, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	_, err = fmt.Fprintf(c, "GET /chat?user=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", url.QueryEscape(user), addr)
	br := bufio.NewReader(c)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = c.Close()
		return nil, &statusError{resp.StatusCode}
	}
	_ = c.SetDeadline(time.Time{})
	return &wsConn{Conn: c, br: br}, nil
}

// frame returns a masked client frame of opcode op carrying payload.
func frame(op byte, payload []byte) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// send writes one frame by the deadline.
func (c *wsConn) send(op byte, payload []byte, deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.SetWriteDeadline(deadline)
	_, err := c.Write(frame(op, payload))
	return err
}

// readFrame reads one server frame (unmasked; the server does not fragment
// the frames this tool reads) by the deadline.
func (c *wsConn) readFrame(deadline time.Time) (op byte, payload []byte, err error) {
	_ = c.SetReadDeadline(deadline)
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxPayload {
		return 0, nil, fmt.Errorf("a frame of %d bytes, more than the tool reads", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, payload, nil
}

// next reads until the server's next JSON frame and returns it with its
// size, answering pings and skipping pongs on the way; a close frame ends
// it with a *closedError.
func (c *wsConn) next(deadline time.Time) (reply, int, error) {
	for {
		op, p, err := c.readFrame(deadline)
		if err != nil {
			return reply{}, 0, err
		}
		switch op {
		case opClose:
			code := 1005 // no status code
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			return reply{}, 0, &closedError{code}
		case opPing:
			if err := c.send(opPong, p, time.Now().Add(ioTimeout)); err != nil {
				return reply{}, 0, err
			}
		case opText:
			var r reply
			if json.Unmarshal(p, &r) == nil {
				return r, len(p), nil
			}
		}
	}
}

// ending reads whatever the server sends until it closes the connection or
// the deadline passes, and says which: "close CODE", another outcome, or
// "open".
func (c *wsConn) ending(deadline time.Time) string {
	for {
		if _, _, err := c.next(deadline); err != nil {
			if isTimeout(err) {
				return "open"
			}
			return outcome(err)
		}
	}
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// outcome names what an error says the server did, short enough to count:
// "close 1008", "HTTP 429", "reset", "EOF", "timeout", and so on.
func outcome(err error) string {
	var ce *closedError
	var se *statusError
	switch {
	case errors.As(err, &ce), errors.As(err, &se):
		return err.Error()
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EMFILE):
		return "EMFILE (the tool's own limit)"
	}
	return err.Error()
}

// openUsers upgrades o.conns connections named prefix0, prefix1, ...
// within ioTimeout each, and counts the refusals; it stops opening once
// o.dur has passed.
func openUsers(o options) ([]*wsConn, *tally) {
	refused := &tally{}
	var cs []*wsConn
	by := time.Now().Add(o.dur)
	for i := range o.conns {
		if time.Now().After(by) {
			refused.add("not tried: -dur passed")
			continue
		}
		c, err := upgrade(o.addr, fmt.Sprintf("%s%d", o.prefix, i))
		if err != nil {
			refused.add(outcome(err))
			continue
		}
		cs = append(cs, c)
	}
	return cs, refused
}

// closeAll closes every connection.
func closeAll(cs []*wsConn) {
	for _, c := range cs {
		_ = c.Close()
	}
}
