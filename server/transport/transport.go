package transport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Transport upgrades HTTP requests to WebSocket connections and runs them:
// the poller that starts readers when data arrives, the workers that run
// reader turns and write loops, and the buffers they share. Close stops
// it.
type Transport struct {
	// set at construction
	cfg       Config
	upgrader  websocket.Upgrader
	batches   *sync.Pool    // write batches (batchConn)
	reads     bufPool       // messages being read (read.go)
	poller    *poller       // nil: each connection reads on a goroutine of its own
	epoch     time.Time     // what meters measure time from (Config.Clock at New)
	pingEvery time.Duration // the interval MaxPingRate allows between a peer's pings; 0: no limit
	nextID    atomic.Uint64
}

// New returns a transport for cfg. Unless cfg.ReadGoroutines, it starts a
// poller (one goroutine), after checking once per process that the
// reader's yield works with the gorilla/websocket linked in (yield.go); if
// either fails it logs why, and connections read on goroutines of their
// own.
func New(cfg Config) *Transport {
	return newTransport(cfg, checkYield)
}

// newTransport is New with the yield's check given, so that tests can
// fail it.
func newTransport(cfg Config, check func() error) *Transport {
	cfg = cfg.withDefaults()
	t := &Transport{cfg: cfg, upgrader: newUpgrader(cfg), batches: newBatchPool(),
		epoch: cfg.Clock(), pingEvery: pingInterval(cfg.MaxPingRate)}
	if !cfg.ReadGoroutines {
		t.poller = t.startPoller(check)
	}
	return t
}

// startPoller returns a running poller, or nil when the yield or epoll
// is not available.
func (t *Transport) startPoller(check func() error) *poller {
	if err := check(); err != nil {
		t.cfg.Logger.Warn("the reader cannot yield to a poller; each connection reads on a goroutine", "err", err)
		return nil
	}
	p, err := newPoller((*Conn).readable)
	if err != nil {
		t.cfg.Logger.Info("no poller; each connection reads on a goroutine", "err", err)
		return nil
	}
	return p
}

// Polling reports whether idle connections wait in the poller, holding no
// goroutine, rather than each in a reading goroutine.
func (t *Transport) Polling() bool { return t.poller != nil }

// Close stops the poller. Connections still open get no more reader turns:
// close them first.
func (t *Transport) Close() error {
	if t.poller != nil {
		return t.poller.close()
	}
	return nil
}

// bufPool holds the buffers messages are read into. A buffer goes back
// once Handler.Message has returned, so reading a message allocates
// nothing in the steady state.
type bufPool struct{ p sync.Pool }

// Read buffer sizes: a new one fits most chat messages; the largest kept
// for reuse fits the default MaxMessage with room to spare, and a larger
// one (a very large MaxMessage) is left to the garbage collector.
const (
	newReadBuf    = 512
	maxPooledRead = 64 << 10
)

func (b *bufPool) get() *[]byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return buf
	}
	buf := make([]byte, 0, newReadBuf)
	return &buf
}

func (b *bufPool) put(buf *[]byte) {
	if cap(*buf) <= maxPooledRead {
		*buf = (*buf)[:0]
		b.p.Put(buf)
	}
}
