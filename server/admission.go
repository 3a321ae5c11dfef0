package server

import (
	"net/http"
	"net/url"
	"strings"
)

// Connection admission: the refusals that happen before the upgrade, as
// plain HTTP answers with a one-line reason.

// admit takes a connection slot for ip, or returns the HTTP status and
// reason that refuse it: 503 when the server is full or shutting down, 429
// when this IP has too many connections.
func (s *Server) admit(ip string) (status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.draining:
		return http.StatusServiceUnavailable, "shutting_down"
	case s.cfg.MaxConns > 0 && s.slots >= s.cfg.MaxConns:
		return http.StatusServiceUnavailable, "server_full"
	case s.cfg.MaxConnsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnsPerIP:
		return http.StatusTooManyRequests, "too_many_from_ip"
	}
	s.perIP[ip]++
	s.slots++
	return 0, ""
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// refuse answers a request that will not be upgraded.
func (s *Server) refuse(w http.ResponseWriter, status int, label, reason string) {
	s.metrics.refused.WithLabelValues(label).Inc()
	s.cfg.Logger.Info("connection refused", "status", status, "reason", reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chat"`) // as HTTP asks of a 401
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}

// upgradeError answers a failed upgrade (not a WebSocket request, bad
// origin, ...) in the same one-line form.
func (s *Server) upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	label := "bad_upgrade"
	if status == http.StatusForbidden {
		label = "bad_origin"
	}
	s.refuse(w, status, label, reason.Error())
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
