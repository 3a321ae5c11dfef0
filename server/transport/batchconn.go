package transport

import (
	"net"
	"sync"
	"time"
)

// batchConn is the network connection under a WebSocket, as gorilla sees
// it for writing. While the write loop has a batch open, the frames that
// gorilla/websocket writes (one Write each) collect in a buffer, and flush
// sends them with one syscall. Outside a batch it writes through (the
// upgrade response). Gorilla writes each message as its own frame, so
// messages stay one per frame; only the syscalls are joined. Reading goes
// through the yield reader (yield.go).
//
// Setting a socket deadline costs a runtime timer update; gorilla sets one
// for every frame. Inside a batch those calls are absorbed, and flush
// refreshes the socket's deadline only when it has come within slack of the
// batch's deadline (profiled: 5% of the server's CPU at 200 public messages
// a second to 1,000 clients went to runtime_pollSetDeadline).
type batchConn struct {
	net.Conn

	// set at construction
	pool *sync.Pool   // of *[]byte batch buffers, shared by all connections
	rd   *yieldReader // what Read reads through

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

// stopReading ends reading however the reader waits: a blocked read fails
// at once (the deadline), and the socket turns readable for the poller (the
// half-close). Bytes already buffered are still read; the peer is told
// nothing.
func (c *batchConn) stopReading() {
	_ = c.SetReadDeadline(time.Unix(1, 0))
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		_ = hc.CloseRead()
	}
}

// closeWrite sends FIN once the close frame is out, so that a peer that
// reads to the end of the stream sees it end there. The socket stays open
// for reading: the connection lingers (close.go).
func (c *batchConn) closeWrite() {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
}
