package transport

// The yield: how a reader hands an idle connection back to the poller.
//
// gorilla/websocket has no way to ask whether a frame is waiting, and a
// read error is permanent (NextReader keeps returning it), so a reader
// cannot return to the poller by failing a read. Instead, at a message
// boundary with nothing buffered, the reader's next read from the socket
// returns a fake frame: an empty, masked text message, which NextReader
// returns like any other and nextMessage recognises. Everything that
// relies on gorilla's internals is in this file, and each reliance is an
// assumption below, checked by checkYield (once per process, at New: if
// one fails, connections get a reading goroutine each instead) and pinned
// by yield_test.go against gorillaChecked:
//
//   - readsThroughOurReader: with Upgrader.ReadBufferSize 0, the upgrader
//     reuses the bufio.Reader that Hijack returns (when it holds more than
//     256 bytes), reset onto the net.Conn that Hijack returns, and gorilla
//     reads the connection only through it; so with the yield in that
//     net.Conn's Read (batchConn.Read), the yield reader sees every byte
//     and Buffered tells what gorilla has not consumed.
//   - emptyFrameIsEmptyMessage: a zero-length masked text frame is read
//     by NextReader as an empty text message, consuming exactly its 6
//     bytes and leaving gorilla's state as after any complete message.
//   - controlHandlersRunInNextReader: the ping, pong and close handlers
//     run inside NextReader, synchronously, before it reads the next
//     frame; so the position right after a control frame read there is a
//     message boundary too (afterControl).
//   - noReadAhead: gorilla consumes nothing past the message it returns,
//     so with bytes of the next frame buffered, the boundary does not
//     yield, and they are read in the same turn.
//   - fragmentControlsInMessageReader: control frames between the
//     fragments of a message are read by the message's reader, not by
//     NextReader, so a yield is never armed mid-message (a text frame
//     there would break the stream: "data before FIN"). A message left
//     unread is the exception, which leftUnread covers: NextReader skips
//     its rest, control frames included.
//
// Why not a goroutine per connection: an idle connection would hold one,
// blocked in Read with its stack. Measured at 15,000 idle connections, the
// poller took the server from 15.6 to 11.5-11.8 KiB per connection (the
// 4 KiB read-goroutine stack), which is why the trick is kept rather than
// a goroutine per connection, fenced here instead.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// gorillaChecked is the gorilla/websocket version whose code the
// assumptions above were checked against, by reading it. yield_test.go
// fails when go.mod requires another, so that an upgrade forces a new look.
const gorillaChecked = "v1.5.3"

// Read buffering. upgraderReadBufferSize 0 makes the upgrader reuse the
// reader Hijack returns (readsThroughOurReader), which is readBufferSize:
// chat frames are small, and a larger buffer is read in more calls. It
// must exceed 256 bytes for the upgrader to reuse it.
const (
	upgraderReadBufferSize = 0
	readBufferSize         = 512
)

// yieldFrame is a client frame (so masked, with a zero key) that carries an
// empty text message.
var yieldFrame = []byte{0x81, 0x80, 0, 0, 0, 0}

// yieldReader is what gorilla's bufio.Reader reads from: the socket, but
// with the yield. The boundary is a position in the stream (yieldAt, set by
// arm): a read may yield only if gorilla has consumed exactly up to it and
// nothing is buffered, so never once it has taken any byte of the next
// frame. Whether more has arrived meanwhile is asked only when the
// poller would not tell (Read).
type yieldReader struct {
	// set at construction
	conn    net.Conn
	raw     syscall.RawConn // conn's descriptor, for reads that must not wait; nil: none
	br      *bufio.Reader   // gorilla's reader over this one
	enabled bool            // a poller waits for this connection: reads may yield (set by Start)

	// owned by the reader
	received int64 // bytes handed to br so far
	yieldAt  int64 // a read may yield if br has consumed exactly this many; -1: no
	turnRead bool  // this turn of the reader has read from the socket
	full     bool  // the last read from the socket filled its buffer: more may wait
	yielded  bool  // the last read yielded
	between  bool  // NextReader runs: frames read now are between messages
	unread   bool  // the last message was left unread: NextReader skips its rest
}

// init sets y up to read conn for bc, the net.Conn that Hijack returns,
// and returns the reader gorilla must use.
func (y *yieldReader) init(conn net.Conn, raw syscall.RawConn, bc *batchConn) *bufio.Reader {
	y.conn, y.raw, y.yieldAt = conn, raw, -1
	bc.rd = y
	y.br = bufio.NewReaderSize(bc, readBufferSize)
	return y.br
}

// Read is how gorilla reads the socket: through the yield. It is here, on
// the net.Conn that Hijack returns, because the upgrader resets the
// reader it reuses onto that conn (readsThroughOurReader).
func (c *batchConn) Read(p []byte) (int, error) { return c.rd.Read(p) }

// Read reads from the socket, or returns yieldFrame at an armed boundary
// when nothing more can have arrived unannounced. The poller is
// edge-triggered (poller_linux.go): it reports data that arrives after a
// read, not data a read left behind. So the reader yields without asking
// only once this turn has read and its last read came back short, which
// means it took all the socket held; otherwise (a turn's first read, or
// the last one filled its buffer) it asks with a read that does not wait,
// and yields if nothing is there. That read is the only syscall a turn
// spends on the question, and the common turn (one short read) asks none.
func (y *yieldReader) Read(p []byte) (int, error) {
	if y.yieldAt == y.received && y.br.Buffered() == 0 && len(p) >= len(yieldFrame) {
		switch {
		case y.turnRead && (!y.full || y.raw == nil):
			return y.yield(p), nil
		case y.raw != nil:
			n, err := y.tryRead(p)
			if errors.Is(err, syscall.EAGAIN) {
				return y.yield(p), nil
			}
			return y.took(p, n, err)
		}
	}
	n, err := y.conn.Read(p)
	return y.took(p, n, err)
}

// yield hands gorilla the yield frame instead of the socket's bytes.
func (y *yieldReader) yield(p []byte) int {
	n := copy(p, yieldFrame)
	y.received += int64(n)
	y.yieldAt, y.yielded = -1, true
	return n
}

// took accounts for a read from the socket of n bytes into p.
func (y *yieldReader) took(p []byte, n int, err error) (int, error) {
	y.received += int64(n)
	if n > 0 {
		y.turnRead = true
	}
	y.full = n == len(p)
	return n, err
}

// tryRead reads the socket once without waiting: EAGAIN when it holds
// nothing, io.EOF once the peer has shut its side.
func (y *yieldReader) tryRead(p []byte) (n int, err error) {
	cerr := y.raw.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Read(int(fd), p)
			if err != syscall.EINTR {
				return true // done either way: never wait in the netpoller
			}
		}
	})
	switch {
	case cerr != nil:
		return 0, cerr
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// beginTurn starts a turn of the reader: the poller saw data arrive, which
// the turn's first read looks for.
func (y *yieldReader) beginTurn() { y.turnRead = false }

// arm marks the position gorilla has consumed up to as a boundary.
func (y *yieldReader) arm() {
	if y.enabled {
		y.yieldAt = y.received - int64(y.br.Buffered())
	}
}

// afterControl is called by the control-frame handlers: inside NextReader
// the position after a control frame is a boundary between messages
// (controlHandlersRunInNextReader); inside a message it is not.
func (y *yieldReader) afterControl() {
	if y.between {
		y.arm()
	}
}

// leftUnread records that the current message was not read to its end.
// The next NextReader skips the rest of it (gorilla discards an unread
// message without unmasking it, cheaper than reading it), and the control
// frames it meets on the way are inside that message, not between
// messages: no boundary until the next message begins.
func (y *yieldReader) leftUnread() { y.unread = true }

// next is NextReader with the yield: yielded reports that the reader
// should hand the connection back to the poller. The previous message
// must have been read to its end, or marked with leftUnread.
func (y *yieldReader) next(ws *websocket.Conn) (op int, r io.Reader, yielded bool, err error) {
	y.between = !y.unread
	if y.between {
		y.arm()
	}
	op, r, err = ws.NextReader()
	y.between, y.unread, y.yieldAt = false, false, -1
	if y.yielded {
		y.yielded = false
		return 0, nil, true, nil
	}
	return op, r, false, err
}

// checkYield runs every assumption once per process and returns the first
// that failed, or nil.
var checkYield = sync.OnceValue(func() error {
	for _, a := range yieldAssumptions {
		if err := runAssumption(a); err != nil {
			return err
		}
	}
	return nil
})

// assumption is one thing the yield relies on, with a check that fails
// when gorilla no longer behaves so.
type assumption struct {
	name  string
	check func(p *yieldProbe) error
}

var yieldAssumptions = []assumption{
	{"readsThroughOurReader", func(p *yieldProbe) error {
		p.send(clientFrame(websocket.TextMessage, true, []byte("a")))
		if err := p.expect("a"); err != nil {
			return err
		}
		if p.y.received == 0 {
			return errors.New("gorilla read a message without reading through the hijacked bufio.Reader")
		}
		return nil
	}},
	{"emptyFrameIsEmptyMessage", func(p *yieldProbe) error {
		p.send(clientFrame(websocket.TextMessage, true, []byte("a")))
		if err := p.expect("a"); err != nil {
			return err
		}
		if err := p.expectYield(); err != nil {
			return err
		}
		if p.y.br.Buffered() != 0 {
			return fmt.Errorf("%d bytes of the yield frame left unread", p.y.br.Buffered())
		}
		p.turn()
		p.send(clientFrame(websocket.TextMessage, true, []byte("after")))
		return p.expect("after")
	}},
	{"controlHandlersRunInNextReader", func(p *yieldProbe) error {
		p.send(clientFrame(websocket.PingMessage, true, []byte("p")))
		if err := p.expectYield(); err != nil {
			return fmt.Errorf("after a ping read by NextReader: %w", err)
		}
		return p.expectPings("p between")
	}},
	{"noReadAhead", func(p *yieldProbe) error {
		p.send(append(clientFrame(websocket.TextMessage, true, []byte("c")), clientFrame(websocket.TextMessage, true, []byte("d"))...))
		if err := p.expect("c"); err != nil {
			return err
		}
		if err := p.expect("d"); err != nil {
			return fmt.Errorf("with the next message buffered: %w", err)
		}
		return p.expectYield()
	}},
	{"fragmentControlsInMessageReader", func(p *yieldProbe) error {
		var b []byte
		b = append(b, clientFrame(websocket.TextMessage, false, []byte("he"))...)
		b = append(b, clientFrame(websocket.PingMessage, true, []byte("q"))...)
		b = append(b, clientFrame(0, true, []byte("llo"))...) // continuation
		p.send(b)
		if err := p.expect("hello"); err != nil {
			return err
		}
		if err := p.expectPings("q inside"); err != nil {
			return err
		}
		return p.expectYield()
	}},
}

// runAssumption checks one assumption on a fresh probe.
func runAssumption(a assumption) error {
	p, err := newYieldProbe()
	if err != nil {
		return fmt.Errorf("yield assumption %s: %w", a.name, err)
	}
	defer p.close()
	if err := a.check(p); err != nil {
		return fmt.Errorf("yield assumption %s: %w", a.name, err)
	}
	return nil
}

// probeWait bounds a probe: a check that hangs has failed.
const probeWait = 2 * time.Second

// yieldProbe is a server connection upgraded by the transport's own
// hijacker over an in-memory pipe, with the yield enabled, and the
// client's end of the pipe. It drives the reading by hand.
type yieldProbe struct {
	ws    *websocket.Conn
	y     *yieldReader
	cli   net.Conn
	pings []string // each ping's payload, and "between" or "inside" NextReader
}

func newYieldProbe() (*yieldProbe, error) {
	srv, cli := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, cli) }() // the 101 response and anything written
	h := &hijacker{ResponseWriter: &pipeResponse{conn: srv}, pool: newBatchPool()}
	up := websocket.Upgrader{ReadBufferSize: upgraderReadBufferSize, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(h, probeRequest(), nil)
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("upgrade over a pipe: %w", err)
	}
	_ = srv.SetDeadline(time.Now().Add(probeWait)) // after the upgrade, which clears deadlines
	p := &yieldProbe{ws: ws, y: &h.conn.rd, cli: cli}
	p.y.enabled = true
	ws.SetPingHandler(func(data string) error {
		where := map[bool]string{true: "between", false: "inside"}[p.y.between]
		p.pings = append(p.pings, data+" "+where)
		p.y.afterControl()
		return nil
	})
	p.turn()
	return p, nil
}

// send writes b as the client, in one write, in the background: a pipe
// write waits for the reads that take it.
func (p *yieldProbe) send(b []byte) {
	go func() { _, _ = p.cli.Write(b) }()
}

// turn starts a reader turn, as the poller would on data arriving.
func (p *yieldProbe) turn() { p.y.beginTurn() }

// expect reads the next message, which must be text and want.
func (p *yieldProbe) expect(want string) error {
	op, r, yielded, err := p.y.next(p.ws)
	switch {
	case err != nil:
		return fmt.Errorf("reading %q: %w", want, err)
	case yielded:
		return fmt.Errorf("yielded where %q was due", want)
	}
	data, err := io.ReadAll(r)
	if err != nil || op != websocket.TextMessage || !bytes.Equal(data, []byte(want)) {
		return fmt.Errorf("read opcode %d %q (%v), want text %q", op, data, err, want)
	}
	return nil
}

// expectYield reads on, which must yield.
func (p *yieldProbe) expectYield() error {
	op, r, yielded, err := p.y.next(p.ws)
	if err != nil || !yielded {
		var data []byte
		if r != nil {
			data, _ = io.ReadAll(r)
		}
		return fmt.Errorf("no yield at a boundary with nothing buffered: opcode %d %q, %v", op, data, err)
	}
	return nil
}

// expectPings checks the pings seen so far.
func (p *yieldProbe) expectPings(want ...string) error {
	if fmt.Sprint(p.pings) != fmt.Sprint(want) {
		return fmt.Errorf("ping handler calls %q, want %q", p.pings, want)
	}
	return nil
}

func (p *yieldProbe) close() {
	_ = p.ws.Close()
	_ = p.cli.Close()
}

// probeRequest is a client's upgrade request.
func probeRequest() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://probe/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

// pipeResponse is the http.ResponseWriter of a probe: hijacking it yields
// the server's end of the pipe.
type pipeResponse struct {
	conn   net.Conn
	header http.Header
}

func (w *pipeResponse) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *pipeResponse) Write(b []byte) (int, error) { return len(b), nil }
func (w *pipeResponse) WriteHeader(int)             {}

func (w *pipeResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// clientFrame builds a client frame (masked, as clients must) with a
// payload of up to 125 bytes.
func clientFrame(op int, fin bool, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := append([]byte{b0, 0x80 | byte(len(payload))}, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}
