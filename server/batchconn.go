package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// batchConn is the network connection under a WebSocket. While the write
// loop has a batch open, the frames that gorilla/websocket writes (one
// Write each) collect in a buffer, and Flush sends them with one syscall.
// Outside a batch it writes through (the upgrade response). Gorilla writes
// each message as its own frame, so the protocol's one-object-per-frame
// rule holds; only the syscalls are joined.
//
// Setting a socket deadline costs a runtime timer update; gorilla sets one
// for every frame. Inside a batch those calls are absorbed, and flush
// refreshes the socket's deadline only when it has come within slack of the
// batch's deadline (profiled: 5% of the server's CPU at 200 public messages
// a second to 1,000 clients went to runtime_pollSetDeadline).
type batchConn struct {
	net.Conn

	// set at construction
	pool *sync.Pool      // of *[]byte batch buffers, shared by all connections
	br   *bufio.Reader   // gorilla's reader over this connection
	raw  syscall.RawConn // for registering with the poller; nil without one

	// owned by the reader (see Read)
	received int64 // bytes handed to br so far
	yieldAt  int64 // a read may yield if br has consumed exactly this many; -1: no
	turnRead bool  // this turn of the reader has read from the socket
	yielded  bool  // the last read yielded

	mu       sync.Mutex // guards the fields below
	buf      *[]byte    // the open batch; nil outside one
	deadline time.Time  // the write deadline set on the socket
}

// SetWriteDeadline passes through outside a batch and is absorbed inside
// one, where flush bounds the single write that matters.
func (c *batchConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		return nil
	}
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// Read reads for gorilla's reader. Under a poller, once a turn of the
// reader has read from the socket, a read at a frame boundary between
// messages returns a yield frame instead of reading on: an empty, masked
// text frame, which gorilla's NextReader returns like any message and
// readFrames recognises by yielded. That is how the reader hands the
// connection back to the poller: gorilla has no way to wait for readiness,
// and an error from Read would end the connection, since gorilla keeps it.
//
// The boundary is a position in the stream (yieldAt, set by armYield):
// the read may yield only if gorilla has consumed exactly up to it and
// nothing is buffered, so never once it has taken any byte of the next
// frame. Whether more has arrived meanwhile is not asked (that would be a
// syscall): re-arming the poller asks, and the poller reports the
// connection again at once if so.
func (c *batchConn) Read(p []byte) (int, error) {
	if c.yieldAt == c.received && c.turnRead && c.br.Buffered() == 0 && len(p) >= len(yieldFrame) {
		n := copy(p, yieldFrame)
		c.received += int64(n)
		c.yieldAt, c.yielded = -1, true
		return n, nil
	}
	n, err := c.Conn.Read(p)
	c.received += int64(n)
	if n > 0 {
		c.turnRead = true
	}
	return n, err
}

// beginTurn starts a turn of the reader: the poller saw data, which must
// be read before the reader may yield.
func (c *batchConn) beginTurn() { c.turnRead = false }

// armYield marks the position gorilla has consumed up to as a frame
// boundary between messages.
func (c *batchConn) armYield() {
	if c.raw != nil {
		c.yieldAt = c.received - int64(c.br.Buffered())
	}
}

// disarmYield ends the boundary: a message has begun.
func (c *batchConn) disarmYield() { c.yieldAt = -1 }

// yieldFrame is a client frame (so masked, with a zero key) that carries an
// empty text message.
var yieldFrame = []byte{0x81, 0x80, 0, 0, 0, 0}

// stopReading ends reading however the reader waits: a blocked read fails
// at once (the deadline), and the socket turns readable for the poller (the
// half-close). Frames already buffered are still read; the peer is told
// nothing.
func (c *batchConn) stopReading() {
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		_ = hc.CloseRead()
	}
}

// begin opens a batch with a buffer from the pool.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.buf = c.pool.Get().(*[]byte)
	c.mu.Unlock()
}

// flush writes the batch, closes it and returns the buffer to the pool, so
// an idle connection holds no write memory. The write is bounded by a
// deadline between deadline-slack and deadline.
func (c *batchConn) flush(deadline time.Time, slack time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := c.buf
	c.buf = nil
	var err error
	if c.deadline.Before(deadline.Add(-slack)) {
		c.deadline = deadline
		err = c.Conn.SetWriteDeadline(deadline)
	}
	if len(*buf) > 0 && err == nil {
		_, err = c.Conn.Write(*buf)
	}
	if cap(*buf) <= maxPooledBatch {
		*buf = (*buf)[:0]
		c.pool.Put(buf)
	}
	return err
}

// maxPooledBatch is the largest batch buffer that goes back to the pool; a
// rare huge batch is left to the garbage collector.
const maxPooledBatch = 256 << 10

func newBatchPool() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}
}

// hijacker wraps the ResponseWriter given to the upgrader so that the
// connection it hijacks is a batchConn, read through a bufio.Reader the
// batchConn knows: the upgrader (with ReadBufferSize 0) reuses the reader it
// is handed.
type hijacker struct {
	http.ResponseWriter
	pool *sync.Pool
	poll bool // reads may yield to a poller
	conn *batchConn
}

// readBufferSize is each connection's read buffer. Chat frames are small;
// a larger one is read in more calls. It must exceed 256 bytes for the
// upgrader to reuse it.
const readBufferSize = 512

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: nc, pool: h.pool, yieldAt: -1}
	if brw.Reader.Buffered() > 0 {
		return h.conn, brw, nil // the upgrader refuses such a client
	}
	h.conn.br = bufio.NewReaderSize(h.conn, readBufferSize)
	if sc, ok := nc.(syscall.Conn); ok && h.poll {
		h.conn.raw, _ = sc.SyscallConn()
	}
	return h.conn, bufio.NewReadWriter(h.conn.br, brw.Writer), nil
}
