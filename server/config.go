package server

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
)

// Connection timing. The invariants are what keep a live peer connected and
// notice a dead one:
//
//   - PingInterval < PongWait: a peer that answers every ping is heard
//     from before PongWait passes (keepalive.go). The defaults (30 s, 60 s) give a peer
//     one missed ping of slack and notice a dead one within a minute.
//   - WriteWait bounds every write (a batch of frames, a ping, a close):
//     a peer that stops reading cannot hold a writer forever.
//   - CloseGrace is how long a connection that we closed waits for the
//     peer's close frame before the TCP connection is dropped. Dropping it
//     while the peer still sends makes the kernel reset the connection,
//     which can destroy the close frame before the peer reads it; 3 s
//     leaves a busy client time to answer.
//   - HandshakeTimeout bounds the WebSocket upgrade.
//   - Private messages are confirmed by the pong to a ping written after
//     them. That ping goes out at once, unless one went out less than
//     confirmDelay ago; then it waits for the rest of confirmDelay, or for
//     confirmBurst messages, whichever comes first. confirmBurst is below
//     the actors' delivery window (512), so a draining inbox never waits for
//     the delay; confirmDelay is far below PongWait.
//   - Presence notices are lazy: one that finds the connection idle waits
//     up to lingerDelay for other frames, so that a wave of connections,
//     which costs every member a notice per newcomer, costs each member a
//     write per lingerDelay instead of a write per newcomer.
const (
	confirmDelay = 50 * time.Millisecond
	confirmBurst = 128
	lingerDelay  = 20 * time.Millisecond
)

// Defaults of Config's timing fields, with the invariants above.
const (
	DefaultPingInterval     = 30 * time.Second
	DefaultPongWait         = 60 * time.Second
	DefaultWriteWait        = 10 * time.Second
	DefaultCloseGrace       = 3 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

// Limits from docs/protocol.md, as defaults.
const (
	DefaultMaxMessage = 16 << 10 // bytes in one client message, after reassembly
	DefaultOutboxMax  = 1 << 20  // bytes of frames waiting to be written to one client
)

// Config configures the edge. The zero value is usable: every field
// documents its default.
type Config struct {
	// Logger receives connection events. Default: discard.
	Logger *slog.Logger
	// Clock is used for deadlines. Default: time.Now.
	Clock func() time.Time

	// MaxMessage is the largest client message, in bytes (close 1009
	// past it). Default 16 KiB.
	MaxMessage int64
	// MaxText is the largest text of a say or dm, in bytes. Default 4096.
	MaxText int
	// OutboxMax is how many bytes of frames may wait for one slow client
	// before it is closed with 4001. Default 1 MiB.
	OutboxMax int

	// MaxConns caps open connections (HTTP 503 past it); 0 is no cap.
	MaxConns int
	// MaxConnsPerIP caps connections from one client IP (HTTP 429 past
	// it); 0 is no cap.
	MaxConnsPerIP int
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may connect besides the server's own host. Requests without an Origin
	// header (non-browser clients) are always allowed.
	AllowedOrigins []string

	// ReadGoroutines gives each connection a goroutine blocked in Read,
	// instead of the shared epoll poller that starts a reader only when
	// data arrives. Without epoll (outside Linux) it is always so. It costs
	// about 4 KiB of stack per idle connection. Default false.
	ReadGoroutines bool

	// Timing; see the constants above. Zero means the default.
	PingInterval     time.Duration
	PongWait         time.Duration
	WriteWait        time.Duration
	CloseGrace       time.Duration
	HandshakeTimeout time.Duration

	// ReadyCheck, when set, is asked by /readyz, with the request's
	// context: an error reports the server not ready (a store whose
	// database does not answer). nil: ready while the server runs.
	ReadyCheck func(ctx context.Context) error

	// Accounts, when set, serves the accounts API under /api/ (api.go):
	// the `accounts` auth mode. nil answers those paths 404 (the `jwt`
	// and `none` modes).
	Accounts *auth.Service
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	orDefault(&c.MaxMessage, DefaultMaxMessage)
	orDefault(&c.MaxText, wire.DefaultMaxText)
	orDefault(&c.OutboxMax, DefaultOutboxMax)
	orDefault(&c.PingInterval, DefaultPingInterval)
	orDefault(&c.PongWait, DefaultPongWait)
	orDefault(&c.WriteWait, DefaultWriteWait)
	orDefault(&c.CloseGrace, DefaultCloseGrace)
	orDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	return c
}

func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
