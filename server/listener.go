package server

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// The listener: every TCP connection is counted from the moment it is
// accepted until it is closed, whatever it turns out to be (a WebSocket, an
// API call, a health check, a keep-alive connection left idle, or nothing
// at all), so that no kind of connection can take the descriptors the
// limits are there to keep. A connection past a limit is answered with a
// one-line HTTP 503 (server_full) or 429 (too_many_from_ip) and closed
// before anything of it is read but what lingering needs (below).
//
// Refusing happens off the accept loop, on a goroutine per refused
// connection, at most maxRefusing at a time; past that a refused
// connection is closed unanswered, so that a flood of them costs neither
// goroutines nor descriptors. Each refusal is written, the write side
// shut, and what the client sent read and discarded until it closes or
// refuseLinger passes: closing with its request unread would make the
// kernel reset the connection, and the reset can destroy the answer
// before the client reads it.

const (
	maxRefusing  = 32          // refused connections being answered at once
	refuseLinger = time.Second // how long a refused connection may take to be answered and go
	refuseDrain  = 64 << 10    // the most read from a refused connection
)

// limitListener counts the connections it accepts against limits.
type limitListener struct {
	net.Listener

	// set at construction
	limits   *connLimits
	proxies  TrustedProxies // their connections hold no per-IP slot
	tlsConf  *tls.Config    // refusals are answered over TLS when set
	refusing chan struct{}  // a token per refusal being answered
	onRefuse func(*refusal) // counts and logs a refusal
}

// Listener returns ln with every connection it accepts counted against
// Config.MaxConns and Config.MaxConnsPerIP (see above), served over TLS
// when tlsConf is set. The chat address must be served on it for those
// limits to hold.
func (s *Server) Listener(ln net.Listener, tlsConf *tls.Config) net.Listener {
	l := s.limitListener(ln, &s.limits, tlsConf)
	if tlsConf != nil {
		return tls.NewListener(l, tlsConf)
	}
	return l
}

// OpsListener returns ln with at most max connections open at once (0:
// no limit; past it 503 ops_full), for the operations address when it is
// separate: health checks and scrapes need few, and must not be able to
// take the descriptors the chat address counts on.
func (s *Server) OpsListener(ln net.Listener, max int) net.Listener {
	return s.limitListener(ln, &connLimits{max: max, full: errOpsFull}, nil)
}

func (s *Server) limitListener(ln net.Listener, limits *connLimits, tlsConf *tls.Config) *limitListener {
	return &limitListener{
		Listener: ln, limits: limits, proxies: s.cfg.TrustedProxies, tlsConf: tlsConf,
		refusing: make(chan struct{}, maxRefusing),
		onRefuse: func(no *refusal) { // at debug level: a flood of refusals must not flood the log
			s.metrics.refused.WithLabelValues(no.label).Inc()
			s.cfg.Logger.Debug("connection refused", "status", no.status, "reason", no.reason)
		},
	}
}

// Accept returns the next connection that has a slot, answering those
// that have none.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, viaProxy := l.proxies.clientIP(c.RemoteAddr().String(), nil)
		if no := l.limits.take(ip, true, !viaProxy); no != nil {
			l.refuse(c, no)
			continue
		}
		return countConn(c, slot{limits: l.limits, ip: ip, perIP: !viaProxy}), nil
	}
}

// refuse answers c on a goroutine of its own, or closes it at once when
// maxRefusing are being answered already.
func (l *limitListener) refuse(c net.Conn, no *refusal) {
	l.onRefuse(no)
	select {
	case l.refusing <- struct{}{}:
		go func() {
			answerRefused(c, no, l.tlsConf)
			<-l.refusing
		}()
	default:
		_ = c.Close()
	}
}

// answerRefused writes the refusal to c, lingers, and closes it.
func answerRefused(c net.Conn, no *refusal, tlsConf *tls.Config) {
	if tlsConf != nil {
		c = tls.Server(c, tlsConf)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(refuseLinger))
	if _, err := io.WriteString(c, refusalResponse(no)); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, refuseDrain))
}

// refusalResponse is the whole HTTP answer to a refused connection, in the
// form of the upgrade's own refusals (refuse): a one-line plain-text body.
func refusalResponse(no *refusal) string {
	body := no.reason + "\n"
	return "HTTP/1.1 " + strconv.Itoa(no.status) + " " + http.StatusText(no.status) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

// slot is what an accepted connection holds until it is closed.
type slot struct {
	limits *connLimits
	ip     string
	perIP  bool
}

func (s *slot) release() { s.limits.release(s.ip, true, s.perIP) }

// countConn wraps c so that closing it releases its slot, once. A TCP
// connection stays a *net.TCPConn underneath, with everything the
// transport uses of one (the descriptor for its poller, half-closing).
func countConn(c net.Conn, s slot) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		return &countedTCPConn{TCPConn: tc, heldSlot: heldSlot{slot: s}}
	}
	return &countedConn{Conn: c, heldSlot: heldSlot{slot: s}}
}

// countedTCPConn is an accepted TCP connection holding a slot.
type countedTCPConn struct {
	*net.TCPConn
	heldSlot
}

func (c *countedTCPConn) Close() error { return c.closed(c.TCPConn.Close()) }

// countedConn is any other accepted connection holding a slot.
type countedConn struct {
	net.Conn
	heldSlot
}

func (c *countedConn) Close() error { return c.closed(c.Conn.Close()) }

// heldSlot is a connection's slot, released by the first Close.
type heldSlot struct {
	slot slot
	done atomic.Bool
}

// closed releases the slot once the connection is closed, the first time
// only, and passes Close's error on.
func (h *heldSlot) closed(err error) error {
	if h.done.CompareAndSwap(false, true) {
		h.slot.release()
	}
	return err
}
