package transport

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/gorilla/websocket"
)

// Upgrade upgrades an HTTP request to a WebSocket connection. On failure
// the request has been answered (Config.UpgradeError) and err says why.
// The connection can Send at once; it reads nothing until Start.
func (t *Transport) Upgrade(w http.ResponseWriter, r *http.Request, hdr http.Header) (*Conn, error) {
	h := &hijacker{ResponseWriter: w, pool: t.batches, poll: t.poller != nil}
	ws, err := t.upgrader.Upgrade(h, r, hdr)
	if err != nil {
		return nil, err
	}
	c := h.conn
	c.id, c.t, c.ws = t.nextID.Add(1), t, ws
	c.out.max = t.cfg.OutboxMax
	c.closeWritten = make(chan struct{})
	return c, nil
}

// newUpgrader returns the upgrader for cfg: no compression, frames
// assembled in pooled buffers (the write loop's batch), and reading
// through the hijacker's reader (yield.go).
func newUpgrader(cfg Config) websocket.Upgrader {
	return websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		ReadBufferSize:   upgraderReadBufferSize,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      cfg.CheckOrigin,
		Error:            cfg.UpgradeError,
	}
}

// hijacker wraps the ResponseWriter given to the upgrader so that the
// connection it hijacks becomes a Conn: written through a batchConn, and
// read through a bufio.Reader over the yield reader, which the upgrader
// reuses (yield.go).
type hijacker struct {
	http.ResponseWriter
	pool *sync.Pool
	poll bool // the transport has a poller: keep what registering needs
	conn *Conn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &Conn{}
	h.conn.net = batchConn{Conn: nc, pool: h.pool}
	if brw.Reader.Buffered() > 0 {
		return &h.conn.net, brw, nil // the upgrader refuses such a client
	}
	if sc, ok := nc.(syscall.Conn); ok && h.poll {
		h.conn.raw, _ = sc.SyscallConn()
	}
	br := h.conn.rd.init(nc, h.conn.raw, &h.conn.net)
	return &h.conn.net, bufio.NewReadWriter(br, brw.Writer), nil
}
