package server

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server/transport"
)

// Config configures the edge. The zero value is usable: every field
// documents its default.
type Config struct {
	// Logger receives connection events. Default: discard.
	Logger *slog.Logger
	// Clock is used for deadlines. Default: time.Now.
	Clock func() time.Time

	// MaxMessage is the largest client message, in bytes (close 1009
	// past it). Default 16 KiB (transport.DefaultMaxMessage).
	MaxMessage int64
	// MaxText is the largest text of a say or dm, in bytes. Default 4096.
	MaxText int
	// OutboxMax is how many bytes of frames may wait for one slow client
	// before it is closed with 4001. Default 1 MiB
	// (transport.DefaultOutboxMax).
	OutboxMax int

	// MaxConns caps open TCP connections of every kind, WebSocket or not,
	// from accept to close (HTTP 503 past it); 0 is no cap. It is enforced
	// by the listener Server.Listener returns (listener.go).
	MaxConns int
	// MaxConnsPerIP caps connections from one client IP (HTTP 429 past
	// it), in the same way; 0 is no cap.
	MaxConnsPerIP int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client, for every limit per client IP (clientip.go). Default
	// none: the TCP peer is the client.
	TrustedProxies TrustedProxies
	// IPMsgRate is the say and dm a second that all the sessions of one
	// client IP may send together, with bursts of three seconds' worth;
	// past it they are refused with rate_limited (ipbudget.go). 0 is no
	// budget.
	IPMsgRate float64
	// ReplyRate is how many bytes of history and users frames a second
	// one connection may be sent, with bursts of one second's worth;
	// past it its history and who requests are refused with rate_limited
	// (replybudget.go). Default 256 KiB; negative: no limit.
	ReplyRate int
	// MaxPingRate is how many pings a second a client may send, sustained
	// (transport.Config.MaxPingRate); past it close 1008. Default 30;
	// negative: no limit.
	MaxPingRate float64
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may connect besides the server's own host. Requests without an Origin
	// header (non-browser clients) are always allowed.
	AllowedOrigins []string

	// ReadGoroutines gives each connection a goroutine blocked in Read,
	// instead of the shared epoll poller that starts a reader only when
	// data arrives (transport.Config.ReadGoroutines). It costs about 4 KiB
	// of stack per idle connection. Default false.
	ReadGoroutines bool

	// Timing, with the transport's defaults and invariants (see the
	// timing constants in package transport). Zero means the default.
	PingInterval     time.Duration
	PongWait         time.Duration
	WriteWait        time.Duration
	CloseGrace       time.Duration
	HandshakeTimeout time.Duration

	// ReadyCheck, when set, is asked by /readyz, with the request's
	// context: an error reports the server not ready (a store whose
	// database does not answer). nil: ready while the server runs.
	ReadyCheck func(ctx context.Context) error

	// HTTP timing of every request that is not a WebSocket (httpserver.go):
	// HeaderTimeout bounds reading a request's header (default 10 s),
	// IdleTimeout how long a keep-alive connection may wait for its next
	// request (default 60 s). Zero means the default.
	HeaderTimeout time.Duration
	IdleTimeout   time.Duration

	// Accounts, when set, serves the accounts API under /api/ (api.go):
	// the `accounts` auth mode. nil answers those paths 404 (the `jwt`
	// and `none` modes).
	Accounts *auth.Service
	// Verifier checks the token every WebSocket upgrade must present
	// (protocol version 2, credentials.go): a JWT verifier in the `jwt`
	// mode. Default: Accounts when it is set (the `accounts` mode), else
	// none, which is the `none` mode: version 1, where the user parameter
	// is trusted as is.
	Verifier auth.Verifier
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Verifier == nil && c.Accounts != nil {
		c.Verifier = c.Accounts
	}
	orDefault(&c.MaxMessage, transport.DefaultMaxMessage)
	orDefault(&c.MaxText, wire.DefaultMaxText)
	orDefault(&c.OutboxMax, transport.DefaultOutboxMax)
	orDefault(&c.ReplyRate, DefaultReplyRate)
	orDefault(&c.HeaderTimeout, DefaultHeaderTimeout)
	orDefault(&c.IdleTimeout, DefaultIdleTimeout)
	return c
}

// DefaultReplyRate is Config.ReplyRate's default: a user paging back
// through the whole history (1,000 messages) gets it within a second or
// two unless the messages are long, and one connection cannot make the
// server send more than a quarter of a megabyte a second of them.
const DefaultReplyRate = 256 << 10

func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// transportConfig is the transport's part of the server's configuration,
// with the server's answers to refused upgrades and its write metrics.
func (s *Server) transportConfig() transport.Config {
	c := s.cfg
	return transport.Config{
		Logger: c.Logger, Clock: c.Clock,
		MaxMessage: c.MaxMessage, OutboxMax: c.OutboxMax, MaxPingRate: c.MaxPingRate, ReadGoroutines: c.ReadGoroutines,
		PingInterval: c.PingInterval, PongWait: c.PongWait, WriteWait: c.WriteWait,
		CloseGrace: c.CloseGrace, HandshakeTimeout: c.HandshakeTimeout,
		CheckOrigin:  newOriginCheck(c.AllowedOrigins),
		UpgradeError: s.upgradeError,
		OnWrite:      s.metrics.countBatch,
	}
}
