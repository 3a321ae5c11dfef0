package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/internal/workers"
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// Server is the chat server's edge: it accepts WebSocket connections on
// /chat, attaches each to its user actor and translates frames both ways.
// It holds no chat logic.
type Server struct {
	// set at construction
	cfg      Config
	chat     *actors.Chat
	upgrader websocket.Upgrader
	batches  *sync.Pool
	metrics  *Metrics
	poller   *poller // nil: each connection reads on a goroutine of its own
	workers  *workers.Pool
	welcomes welcomes
	fanouts  fanouts
	nextID   atomic.Uint64

	mu       sync.Mutex // guards the fields below
	conns    map[*conn]struct{}
	perIP    map[string]int // connection slots held per client IP
	slots    int            // connection slots held in all, upgraded or not
	draining bool
	drained  chan struct{} // closed when draining and conns is empty
}

// New returns a server for chat. metrics may be nil (no metrics). It starts
// the server's poller (one goroutine), which Shutdown stops.
func New(cfg Config, chat *actors.Chat, metrics *Metrics) *Server {
	cfg = cfg.withDefaults()
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	s := &Server{
		cfg: cfg, chat: chat, metrics: metrics, batches: newBatchPool(),
		conns: make(map[*conn]struct{}), perIP: make(map[string]int),
		drained: make(chan struct{}), workers: &workers.Pool{},
	}
	if !cfg.ReadGoroutines {
		p, err := newPoller(func(c *conn) { s.workers.Do(c.readReady) })
		if err != nil {
			cfg.Logger.Info("no poller; each connection reads on a goroutine", "err", err)
		}
		s.poller = p
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		ReadBufferSize:   0,            // reuse the reader hijacker makes, of readBufferSize
		WriteBufferPool:  &sync.Pool{}, // frames are assembled in pooled buffers
		CheckOrigin:      newOriginCheck(cfg.AllowedOrigins),
		Error:            s.upgradeError,
	}
	return s
}

// ServeHTTP serves the WebSocket endpoint, /chat.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, reason := userName(r.URL)
	if reason != "" {
		s.refuse(w, http.StatusBadRequest, "bad_name", reason)
		return
	}
	ip := clientIP(r)
	if status, why := s.admit(ip); status != 0 {
		s.refuse(w, status, why, why)
		return
	}
	h := &hijacker{ResponseWriter: w, pool: s.batches, poll: s.poller != nil}
	ws, err := s.upgrader.Upgrade(h, r, nil)
	if err != nil {
		s.release(ip)
		return // the upgrader has answered
	}
	if c := s.attach(ws, h.conn, name, ip); c != nil {
		// Reading goes to the poller (or a goroutine of its own) and this
		// handler returns, so that net/http lets go of its request, buffers
		// and deep stack (measured at 5,000 idle connections: 15 KiB of
		// each one's memory).
		c.startReading()
	}
}

// attach registers an upgraded connection as a session and attaches it to
// its user. It returns nil, having closed the connection, when that fails.
func (s *Server) attach(ws *websocket.Conn, bc *batchConn, name, ip string) *conn {
	c := &conn{id: s.nextID.Add(1), srv: s, ws: ws, net: bc, user: name, remote: ip, closeWritten: make(chan struct{})}
	c.out.max = s.cfg.OutboxMax
	c.self, _ = s.system().ProcessRegistry.Add(c, "session/"+name+"/"+strconv.FormatUint(c.id, 36))
	if !s.track(c) {
		s.abort(c, chatpb.CloseReason_CLOSE_REASON_SHUTDOWN)
		return nil
	}
	userPID, err := s.chat.Connect(name, c.self)
	if err != nil {
		c.log(slog.LevelError, "attaching a connection", "err", err)
		s.abort(c, chatpb.CloseReason_CLOSE_REASON_INTERNAL)
		return nil
	}
	c.userPID = userPID
	c.log(slog.LevelDebug, "connection opened")
	return c
}

// abort closes a connection that never started reading.
func (s *Server) abort(c *conn, reason chatpb.CloseReason) {
	defer s.release(c.remote)
	s.system().ProcessRegistry.Remove(c.self)
	_ = c.ws.WriteControl(websocket.CloseMessage, closePayload(reason), s.cfg.Clock().Add(s.cfg.WriteWait))
	_ = c.ws.Close()
	s.forget(c)
}

// Shutdown stops accepting connections, closes every open one with 1001
// and waits until all have ended or ctx is done. Once all have ended it
// stops the poller.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.checkDrained()
	s.mu.Unlock()
	for _, c := range open {
		c.end(chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, nil)
	}
	select {
	case <-s.drained:
		if s.poller != nil {
			_ = s.poller.close()
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("server: %d connections still open: %w", s.Open(), ctx.Err())
	}
}

// Ready reports whether the server accepts connections (not shutting down).
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.draining
}

// Open returns the number of open connections.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = struct{}{}
	s.metrics.connsOpen.Inc()
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.metrics.connsOpen.Dec()
		s.metrics.closes.WithLabelValues(closeLabel(chatpb.CloseReason(c.reason.Load()))).Inc()
	}
	s.checkDrained()
}

// checkDrained closes drained once draining leaves no connection. s.mu held.
func (s *Server) checkDrained() {
	if s.draining && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

func (s *Server) system() *actor.ActorSystem { return s.chat.System() }
func (s *Server) root() *actor.RootContext   { return s.chat.System().Root }

// userName reads the one user name from the query. A missing, repeated or
// invalid name is refused with a one-line reason.
func userName(u *url.URL) (name, reason string) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "malformed query string"
	}
	switch v := q["user"]; len(v) {
	case 0:
		return "", "missing user name: connect to /chat?user=NAME"
	case 1:
		if name, ok := wire.FoldName(v[0]); ok {
			return name, ""
		}
		return "", "invalid user name: 1 to 32 of a-z 0-9 _ . -, starting with a letter, digit or _"
	default:
		return "", "repeated user parameter: give one user name"
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
