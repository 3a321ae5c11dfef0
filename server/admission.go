package server

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Connection admission: the refusals that happen before the upgrade, as
// plain HTTP answers with a one-line reason.
//
// Every TCP connection, WebSocket or not, holds a slot from the moment it
// is accepted until it is closed (listener.go): one of Config.MaxConns,
// and one of Config.MaxConnsPerIP for its client IP. A connection from a
// trusted proxy carries many clients, so it holds no per-IP slot itself;
// a WebSocket upgraded through it holds one for the client the proxy names
// (clientip.go), taken here and released when the session ends.

// The refusals of connection admission.
var (
	errServerFull    = &refusal{http.StatusServiceUnavailable, "server_full", "server_full"}
	errTooManyFromIP = &refusal{http.StatusTooManyRequests, "too_many_from_ip", "too_many_from_ip"}
	errShuttingDown  = &refusal{http.StatusServiceUnavailable, "shutting_down", "shutting_down"}
	errOpsFull       = &refusal{http.StatusServiceUnavailable, "ops_full", "ops_full"}
)

// connLimits counts connections against a cap in all and a cap per client
// IP (0: none). Its methods are safe for concurrent use.
type connLimits struct {
	// set at construction
	max, perIP int
	full       *refusal // the refusal past max

	mu    sync.Mutex     // guards the fields below
	total int            // slots held in all
	byIP  map[string]int // slots held per client IP
}

// take takes a slot for a connection from ip, in all (total) and for the
// IP (perIP), or returns why not: l.full or errTooManyFromIP.
func (l *connLimits) take(ip string, total, perIP bool) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case total && l.max > 0 && l.total >= l.max:
		return l.full
	case perIP && l.perIP > 0 && l.byIP[ip] >= l.perIP:
		return errTooManyFromIP
	}
	if total {
		l.total++
	}
	if perIP {
		if l.byIP == nil {
			l.byIP = make(map[string]int)
		}
		l.byIP[ip]++
	}
	return nil
}

// release gives back what take took.
func (l *connLimits) release(ip string, total, perIP bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if total {
		l.total--
	}
	if perIP {
		if l.byIP[ip]--; l.byIP[ip] <= 0 {
			delete(l.byIP, ip)
		}
	}
}

// admit decides whether a WebSocket upgrade from ip may go on: not while
// shutting down, and through a trusted proxy only if the client it names
// has a per-IP slot left, which it then holds (release). A direct
// connection's slots were taken when it was accepted.
func (s *Server) admit(ip string, viaProxy bool) *refusal {
	if !s.Ready() {
		return errShuttingDown
	}
	if viaProxy {
		return s.limits.take(ip, false, true)
	}
	return nil
}

// release gives back the per-IP slot admit took for an upgrade through a
// trusted proxy.
func (s *Server) release(ip string, viaProxy bool) {
	if viaProxy {
		s.limits.release(ip, false, true)
	}
}

// refuse answers a request that will not be upgraded.
func (s *Server) refuse(w http.ResponseWriter, no *refusal) {
	s.metrics.refused.WithLabelValues(no.label).Inc()
	s.cfg.Logger.Info("connection refused", "status", no.status, "reason", no.reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if no.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chat"`) // as HTTP asks of a 401
	}
	w.WriteHeader(no.status)
	_, _ = w.Write([]byte(no.reason + "\n"))
}

// upgradeError answers a failed upgrade (not a WebSocket request, bad
// origin, ...) in the same one-line form.
func (s *Server) upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	label := "bad_upgrade"
	if status == http.StatusForbidden {
		label = "bad_origin"
	}
	s.refuse(w, &refusal{status: status, label: label, reason: reason.Error()})
}

// newOriginCheck allows requests without an Origin header (non-browser
// clients), same-host origins, and the listed ones.
func newOriginCheck(allowed []string) func(*http.Request) bool {
	set := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		set[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		if set["*"] || set[strings.ToLower(origin)] {
			return true
		}
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
}
