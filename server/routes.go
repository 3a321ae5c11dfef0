package server

import "net/http"

// Routes returns the server's HTTP handler: the WebSocket endpoint /chat
// and, when ops is non-nil, the operations endpoints it serves (health,
// readiness, metrics; see OpsHandler). cmd/chatd may serve ops on a
// separate address instead. A panic in any of them is logged without its
// value, which could quote a token (panics.go). No request body is read
// past maxBody (httpserver.go).
func (s *Server) Routes(ops http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/chat", s)
	mux.Handle("/api/", newAPI(s.cfg.Accounts, s.cfg.Logger, s.cfg.TrustedProxies)) // accounts API, 404 without Config.Accounts (api.go)
	if ops != nil {
		mux.Handle("/", ops)
	}
	return http.MaxBytesHandler(quietPanics(mux, s.cfg.Logger), maxBody)
}

// OpsHandler serves /healthz (the process is up), /readyz (the actor system
// and store are up, Config.ReadyCheck passes, and the server is not
// shutting down) and, when metrics is non-nil, /metrics. None of them reads
// a request body.
func (s *Server) OpsHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() || s.system().IsStopped() {
			plain(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		if check := s.cfg.ReadyCheck; check != nil {
			if err := check(r.Context()); err != nil {
				plain(w, http.StatusServiceUnavailable, "unavailable: "+err.Error())
				return
			}
		}
		plain(w, http.StatusOK, "ready")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return http.MaxBytesHandler(mux, maxBody)
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
