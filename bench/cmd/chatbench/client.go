package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Protocols the tool speaks.
const (
	protoChat = "chat"        // docs/protocol.md: JSON frames, welcome first
	protoHub  = "gorilla-hub" // gorilla/websocket examples/chat: text lines
)

// frameHandler receives every data frame read on a crowd's connections, with
// the time it was read (Unix nanos). It is called from each connection's
// reader goroutine, so concurrently for different connections and
// sequentially for one; frame is only valid during the call.
type frameHandler interface {
	onFrame(c *conn, frame []byte, at int64)
}

// handlerRef boxes a frameHandler for atomic.Pointer.
type handlerRef struct{ h frameHandler }

// ignoreFrames is the handler of a crowd that only has to keep reading.
type ignoreFrames struct{}

func (ignoreFrames) onFrame(*conn, []byte, int64) {}

// conn is one client connection.
type conn struct {
	// Set at construction.
	ws       *websocket.Conn
	name     string
	done     chan struct{} // closed when the reader goroutine has ended
	welcomed time.Time     // when the welcome arrived (protoChat)

	// Owned by the reader goroutine.
	rbuf    []byte   // the frame being read, reused
	seqRun  uint32   // the run lastSeq belongs to
	lastSeq []uint32 // per sender index: highest seq seen + 1 (nil: not checked)

	// Owned by the one goroutine the scenario lets write data frames (gorilla
	// allows one writer; control frames may be written concurrently).
	wbuf []byte
}

// crowdConfig says how a crowd dials.
type crowdConfig struct {
	URL         *url.URL      // endpoint; for protoChat the user is added as ?user=
	More        []*url.URL    // further endpoints (Config.More)
	Protocol    string        // protoChat or protoHub
	Concurrency int           // dials in flight at once; zero means 64
	Timeout     time.Duration // per dial, handshake and welcome; zero means 10s
	SourceIPs   []net.IP      // local addresses to spread dials over; empty: the system's choice
}

// crowd is a set of client connections, each with its own reader goroutine
// that reads until the connection ends and hands frames to the current
// handler. Gorilla's default ping handler answers server pings from there.
type crowd struct {
	// Set at construction.
	cfg    crowdConfig
	dialer websocket.Dialer
	now    func() time.Time
	log    *slog.Logger

	// Shared with the reader goroutines.
	handler   atomic.Pointer[handlerRef]
	lastFrame atomic.Int64 // Unix nanos of the latest frame on any connection
	closing   atomic.Bool  // set by close: reader ends are then expected
	dropped   atomic.Int64 // readers that ended before close
	readers   sync.WaitGroup

	// Guarded by mu.
	mu         sync.Mutex
	closeCodes map[int]int // close codes of dropped connections (-1: no close frame)

	// Owned by the goroutine that calls dial and close.
	conns []*conn
}

// newCrowd returns an empty crowd whose frames go to h.
func newCrowd(cfg crowdConfig, h frameHandler, now func() time.Time, log *slog.Logger) *crowd {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	cr := &crowd{cfg: cfg, now: now, log: log, closeCodes: map[int]int{}}
	cr.dialer = websocket.Dialer{
		NetDialContext:   netDialer(cfg),
		HandshakeTimeout: cfg.Timeout,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{}, // idle connections hold no write buffer
	}
	cr.setHandler(h)
	return cr
}

// netDialer returns the TCP dial function: round robin over cfg.SourceIPs
// when given. Each source address has its own ephemeral ports, and Linux's
// search for a free port slows down sharply once one address uses more than
// about half of its range toward one server.
func netDialer(cfg crowdConfig) func(context.Context, string, string) (net.Conn, error) {
	if len(cfg.SourceIPs) == 0 {
		return (&net.Dialer{Timeout: cfg.Timeout}).DialContext
	}
	dialers := make([]*net.Dialer, len(cfg.SourceIPs))
	for i, ip := range cfg.SourceIPs {
		dialers[i] = &net.Dialer{Timeout: cfg.Timeout, LocalAddr: &net.TCPAddr{IP: ip}}
	}
	var next atomic.Uint64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialers[next.Add(1)%uint64(len(dialers))].DialContext(ctx, network, addr)
	}
}

// setHandler routes all further frames to h.
func (cr *crowd) setHandler(h frameHandler) { cr.handler.Store(&handlerRef{h}) }

// dialStats describes one dial wave.
type dialStats struct {
	connected, failed int
	elapsed           time.Duration
	firstErr          error
}

// dial connects one client per name, at most cfg.Concurrency at a time, and
// appends the connections that succeeded to cr.conns in name order.
func (cr *crowd) dial(ctx context.Context, names []string) dialStats {
	start := cr.now()
	got := make([]*conn, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cr.cfg.Concurrency, len(names)) {
		wg.Go(func() {
			for i := range next {
				got[i], errs[i] = cr.dialOne(ctx, names[i])
			}
		})
	}
feed:
	for i := range names {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return cr.collect(got, errs, start)
}

// collect keeps the dialled connections and counts the failures.
func (cr *crowd) collect(got []*conn, errs []error, start time.Time) dialStats {
	st := dialStats{elapsed: cr.now().Sub(start)}
	for i, c := range got {
		if c != nil {
			cr.conns = append(cr.conns, c)
			st.connected++
			continue
		}
		st.failed++
		if st.firstErr == nil {
			st.firstErr = errs[i]
			if st.firstErr == nil {
				st.firstErr = context.Canceled
			}
		}
	}
	return st
}

// dialOne opens one connection, waits for the welcome when the protocol has
// one, and starts its reader.
func (cr *crowd) dialOne(ctx context.Context, name string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cr.cfg.Timeout)
	defer cancel()
	ws, resp, err := cr.dialer.DialContext(ctx, cr.endpoint(name), nil)
	if err != nil {
		return nil, describeDialError(name, resp, err)
	}
	c := &conn{ws: ws, name: name, done: make(chan struct{})}
	if cr.cfg.Protocol == protoChat {
		if err := cr.awaitWelcome(c); err != nil {
			_ = ws.Close()
			return nil, err
		}
	}
	cr.readers.Add(1)
	go cr.read(c)
	return c, nil
}

// endpoint is the URL a client named name dials: with several endpoints,
// PREFIX-i gets endpoint i modulo their number.
func (cr *crowd) endpoint(name string) string {
	u := *cr.cfg.URL
	if n := len(cr.cfg.More); n > 0 {
		i, _ := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
		if k := i % (n + 1); k > 0 {
			u = *cr.cfg.More[k-1]
		}
	}
	if cr.cfg.Protocol == protoChat {
		q := u.Query()
		q.Set("user", name)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// describeDialError adds the HTTP refusal (status and reason line) to err.
func describeDialError(name string, resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("dial %s: %w", name, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_ = resp.Body.Close()
	return fmt.Errorf("dial %s: %s %q: %w", name, resp.Status, body, err)
}

// awaitWelcome reads the first frame, which docs/protocol.md says is the
// welcome.
func (cr *crowd) awaitWelcome(c *conn) error {
	_ = c.ws.SetReadDeadline(cr.now().Add(cr.cfg.Timeout))
	defer func() { _ = c.ws.SetReadDeadline(time.Time{}) }()
	_, r, err := c.ws.NextReader()
	if err == nil {
		c.rbuf, err = readAll(c.rbuf[:0], r)
	}
	if err != nil {
		return fmt.Errorf("welcome for %s: %w", c.name, err)
	}
	if kind, f := classify(c.rbuf); kind != kindWelcome {
		return fmt.Errorf("welcome for %s: got %q frame (code %q)", c.name, f.Type, f.Code)
	}
	c.welcomed = cr.now()
	c.rbuf = nil // welcomes list up to 1000 names; do not keep that much per idle client
	return nil
}

// read is a connection's reader goroutine.
func (cr *crowd) read(c *conn) {
	defer cr.readers.Done()
	defer close(c.done)
	for {
		_, r, err := c.ws.NextReader()
		if err == nil {
			c.rbuf, err = readAll(c.rbuf[:0], r)
		}
		if err != nil {
			cr.ended(err)
			return
		}
		at := cr.now().UnixNano()
		cr.lastFrame.Store(at)
		cr.handler.Load().h.onFrame(c, c.rbuf, at)
		if cap(c.rbuf) > 8192 {
			c.rbuf = nil
		}
	}
}

// ended records why a reader stopped, unless the tool itself closed it.
func (cr *crowd) ended(err error) {
	if cr.closing.Load() {
		return
	}
	cr.dropped.Add(1)
	code := -1
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	cr.mu.Lock()
	cr.closeCodes[code]++
	cr.mu.Unlock()
}

// drops returns how many connections ended on the server's side, by close code.
func (cr *crowd) drops() (int64, map[int]int) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	codes := make(map[int]int, len(cr.closeCodes))
	for k, v := range cr.closeCodes {
		codes[k] = v
	}
	return cr.dropped.Load(), codes
}

// readAll appends everything r yields to b, reusing b's capacity.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	if b == nil {
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// settle waits until no frame has arrived for quiet (the presence notices and
// welcomes of a connection wave have passed), or until limit has passed. It
// always waits at least quiet: a server without welcomes (gorilla's hub)
// may register a client only after its upgrade completed.
func (cr *crowd) settle(ctx context.Context, quiet, limit time.Duration) {
	start := cr.now()
	deadline := start.Add(limit)
	tick := time.NewTicker(quiet / 4)
	defer tick.Stop()
	for {
		last := time.Unix(0, max(cr.lastFrame.Load(), start.UnixNano()))
		now := cr.now()
		if now.Sub(last) >= quiet || now.After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// close sends each connection a normal close frame, closes it, and waits
// (bounded) for the readers to end.
func (cr *crowd) close() {
	cr.closing.Store(true)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	// One deadline for all: a server that stopped reading costs one second,
	// not one per connection.
	deadline := cr.now().Add(time.Second)
	for _, c := range cr.conns {
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, deadline) // best effort: closed next
		_ = c.ws.Close()
	}
	done := make(chan struct{})
	go func() { cr.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cr.log.Warn("some readers did not end after close")
	}
	cr.conns = nil
}
