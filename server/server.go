package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/server/transport"
)

// Server is the chat server's edge: it accepts WebSocket connections on
// /chat, attaches each to its user actor and translates frames both ways.
// It holds no chat logic; the connections themselves are run by the
// transport.
type Server struct {
	// set at construction
	cfg       Config
	chat      *actors.Chat
	transport *transport.Transport
	metrics   *Metrics
	welcomes  welcomes
	fanouts   fanouts
	frameBufs frameBufs
	limits    connLimits // the chat address's connections (admission.go); safe on its own
	budget    *ipBudget  // say and dm per client IP (ipbudget.go); safe on its own
	epoch     time.Time  // what the reply meters count from (replybudget.go)

	mu       sync.Mutex // guards the fields below
	conns    map[*session]struct{}
	draining bool
	drained  chan struct{} // closed when draining and conns is empty
}

// New returns a server for chat. metrics may be nil (no metrics). It starts
// the transport's poller (one goroutine), which Shutdown stops.
func New(cfg Config, chat *actors.Chat, metrics *Metrics) *Server {
	cfg = cfg.withDefaults()
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	s := &Server{
		cfg: cfg, chat: chat, metrics: metrics,
		limits: connLimits{max: cfg.MaxConns, perIP: cfg.MaxConnsPerIP, full: errServerFull},
		budget: newIPBudget(cfg.IPMsgRate, cfg.Clock()), epoch: cfg.Clock(),
		conns: make(map[*session]struct{}), drained: make(chan struct{}),
	}
	s.transport = transport.New(s.transportConfig())
	return s
}

// ServeHTTP serves the WebSocket endpoint, /chat: who the request speaks
// for is settled first (credentials.go), then whether there is room for it
// (admission.go), and only then is it upgraded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cred, no := s.identify(r)
	if no != nil {
		s.refuse(w, no)
		return
	}
	ip, viaProxy := s.clientIP(r)
	if no := s.admit(ip, viaProxy); no != nil {
		s.refuse(w, no)
		return
	}
	tc, err := s.transport.Upgrade(w, r, nil)
	if err != nil {
		s.release(ip, viaProxy)
		return // the upgrader has answered
	}
	// Reading goes to the transport's poller (or a goroutine of its own)
	// and this handler returns, so that net/http lets go of its request,
	// buffers and deep stack (measured at 5,000 idle connections: 15 KiB
	// of each one's memory).
	s.attach(tc, cred, clientAddr{ip: ip, viaProxy: viaProxy})
}

// Shutdown stops accepting connections, closes every open one with 1001
// and waits until all have ended or ctx is done. Once all have ended it
// stops the transport.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	open := make([]*session, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.checkDrained()
	s.mu.Unlock()
	for _, ss := range open {
		ss.end(chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, nil)
	}
	select {
	case <-s.drained:
		_ = s.transport.Close()
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

func (s *Server) track(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[ss] = struct{}{}
	s.metrics.connsOpen.Inc()
	return true
}

// forget lets go of a connection that has ended for reason.
func (s *Server) forget(ss *session, reason chatpb.CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[ss]; ok {
		delete(s.conns, ss)
		s.metrics.connsOpen.Dec()
		s.metrics.closes.WithLabelValues(closeLabel(reason)).Inc()
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

// since is the time since the server's epoch, on its clock.
func (s *Server) since() time.Duration { return s.cfg.Clock().Sub(s.epoch) }

func (s *Server) system() *actor.ActorSystem { return s.chat.System() }
func (s *Server) root() *actor.RootContext   { return s.chat.System().Root }
