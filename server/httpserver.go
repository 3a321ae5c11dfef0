package server

import (
	"log"
	"net/http"
	"time"
)

// HTTP limits, on every address the server listens on, so that no request
// can hold memory or a connection for long by being slow or large:
//
//   - MaxHeaderBytes bounds a request's header: net/http reads at most
//     that plus 4 KiB, then answers 431 and closes, also for a header
//     line that never ends. The default, 1 MiB, let 1,000 unfinished
//     upgrade requests take 2.5 GB while the header timeout ran; at
//     16 KiB they take a few tens of MB. A WebSocket upgrade's header is
//     a few hundred bytes, a bearer token in it a few hundred more.
//   - HeaderTimeout (Config) bounds reading it: a client that trickles
//     its header is cut off (slowloris).
//   - requestTimeout bounds reading the rest of a request (its body) and
//     writing its answer, for every request that is not a WebSocket; an
//     upgrade's deadlines are cleared when it is hijacked (gorilla does).
//   - IdleTimeout (Config) closes a keep-alive connection that waits that
//     long for its next request: idle ones used to stay open for good.
//   - maxBody bounds every request body: the handlers that read one (the
//     accounts API) cap their own at the same size, and the others read
//     none, so net/http discards at most 256 KiB of an unread one before
//     it closes the connection instead.
//
// Every connection, whatever it carries, also counts against the
// connection limits from accept to close (listener.go).
const (
	MaxHeaderBytes       = 16 << 10
	DefaultHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
	requestTimeout       = 30 * time.Second
	maxBody              = maxAPIBody
)

// HTTPServer returns the http.Server to serve h with the limits above:
// the chat address (Routes, on Listener) and the operations address
// (OpsHandler, on OpsListener) alike. errorLog receives net/http's own
// complaints; nil is the standard logger.
func (s *Server) HTTPServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		ReadTimeout:       requestTimeout,
		WriteTimeout:      requestTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          errorLog,
	}
}
