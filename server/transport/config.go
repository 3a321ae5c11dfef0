package transport

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/actorchat/chat/internal/workers"
)

// Connection timing, all in one place. The invariants are what keep a live
// peer connected, notice a dead one, and get every close frame to the peer:
//
//   - PingInterval < PongWait: a peer that answers every ping is heard from
//     before PongWait passes (keepalive.go). The defaults (30 s, 60 s) give
//     a peer one missed ping of slack and notice a dead one within a minute.
//   - WriteWait bounds every write (a batch of frames, a ping, a close): a
//     peer that stops reading cannot hold a write loop forever. A slow
//     consumer's close frame waits behind its full socket for at most this.
//   - CloseGrace is how long a connection lingers after its close frame is
//     out: it keeps reading and discarding what the peer sends, until the
//     peer's close frame or EOF, and only then closes the socket (close.go).
//     Closing with the peer's data unread makes the kernel reset the
//     connection, which can destroy the close frame before the peer reads
//     it; 3 s leaves a busy peer time to answer, and bounds a peer that
//     never does. CloseGrace < WriteWait is not required: the lingering
//     starts once the close frame is written.
//   - HandshakeTimeout bounds the WebSocket upgrade.
//   - Frames with a Seq are confirmed by the pong to a ping written after
//     them. That ping goes out at once, unless one went out less than
//     confirmDelay ago; then it waits for the rest of confirmDelay, or for
//     confirmBurst frames, whichever comes first (write.go). A lone frame
//     is confirmed within a round trip; a stream costs a pong per
//     confirmDelay. confirmBurst is below the chat's delivery window (512
//     unconfirmed messages), so a draining queue never waits for the delay;
//     confirmDelay is far below PongWait.
//   - Lazy frames that find the connection idle wait up to lazyDelay for
//     other frames (outbox.go), so that a wave of them (presence notices
//     while many connect) costs a write per lazyDelay instead of one each.
//     It is far below anything a person notices.
const (
	DefaultPingInterval     = 30 * time.Second
	DefaultPongWait         = 60 * time.Second
	DefaultWriteWait        = 10 * time.Second
	DefaultCloseGrace       = 3 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second

	confirmDelay = 50 * time.Millisecond
	confirmBurst = 128
	lazyDelay    = 20 * time.Millisecond
)

// Default limits.
const (
	DefaultMaxMessage  = 16 << 10 // bytes in one inbound message, after reassembly
	DefaultOutboxMax   = 1 << 20  // bytes of text frames waiting to be written to one peer
	DefaultMaxPingRate = 30       // pings a second a peer may send, sustained (peerpings.go)
)

// Config configures a Transport. The zero value is usable: every field
// documents its default.
type Config struct {
	// Logger receives connection events (debug for the everyday ones).
	// Default: discard.
	Logger *slog.Logger
	// Clock is used for deadlines and the keep-alive. Default: time.Now.
	Clock func() time.Time

	// MaxMessage is the largest inbound message, in bytes, after
	// reassembly; past it the connection is closed with 1009. Default 16 KiB.
	MaxMessage int64
	// OutboxMax is how many bytes of text frames may wait for one peer;
	// past it Send fails with ErrOverflow. Default 1 MiB.
	OutboxMax int
	// MaxPingRate is how many pings a second a peer may send, sustained,
	// with bursts of two seconds' worth; past it the connection is closed
	// with 1008 (peerpings.go). A keep-alive needs one every few seconds;
	// the limit is for a peer that makes the server answer pings as fast
	// as it can send them. Default 30; negative: no limit.
	MaxPingRate float64

	// ReadGoroutines gives each connection a goroutine blocked in Read,
	// instead of the shared epoll poller that starts a reader only when
	// data arrives. Without epoll (outside Linux), or when the yield the
	// poller needs fails its self-check (yield.go), it is always so. It
	// costs about 4 KiB of stack per idle connection. Default false.
	ReadGoroutines bool

	// Timing; see the constants above. Zero means the default.
	PingInterval     time.Duration
	PongWait         time.Duration
	WriteWait        time.Duration
	CloseGrace       time.Duration
	HandshakeTimeout time.Duration

	// CheckOrigin decides whether a request's Origin may upgrade (see
	// websocket.Upgrader). Default: gorilla's same-origin check.
	CheckOrigin func(r *http.Request) bool
	// UpgradeError answers a request that cannot be upgraded. Default:
	// gorilla's plain http.Error.
	UpgradeError func(w http.ResponseWriter, r *http.Request, status int, reason error)
	// OnWrite is called once per written batch with what it held, for
	// metrics; on the connection's write loop, so it must be quick and
	// never block. Default: nothing.
	OnWrite func(Tally)
	// Workers runs reader turns and write loops. Default: a pool of the
	// Transport's own.
	Workers *workers.Pool
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Workers == nil {
		c.Workers = &workers.Pool{}
	}
	if c.OnWrite == nil {
		c.OnWrite = func(Tally) {}
	}
	orDefault(&c.MaxMessage, DefaultMaxMessage)
	orDefault(&c.OutboxMax, DefaultOutboxMax)
	orDefault(&c.MaxPingRate, DefaultMaxPingRate)
	orDefault(&c.PingInterval, DefaultPingInterval)
	orDefault(&c.PongWait, DefaultPongWait)
	orDefault(&c.WriteWait, DefaultWriteWait)
	orDefault(&c.CloseGrace, DefaultCloseGrace)
	orDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	return c
}

func orDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
