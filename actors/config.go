package actors

import (
	"io"
	"log/slog"
	"time"

	"github.com/actorchat/chat/actors/store"
)

// NoRateLimit, as Config.MsgRate, turns per-user rate limiting off.
const NoRateLimit = -1

// Config configures the actor system of one chat server. The zero value is
// usable: every field documents its default.
type Config struct {
	// Store keeps inboxes, known users, history and keys. Default: a fresh
	// in-memory store (nothing survives the process).
	Store store.Store
	// Logger receives connection-independent events: supervision, store
	// errors, faults. Default: discard.
	Logger *slog.Logger
	// Clock stamps messages. Default: time.Now.
	Clock func() time.Time

	// QueueMax is the most unconfirmed private messages one user's inbox
	// holds before senders get queue_full. Default 10,000. The store's
	// caps on bytes (store.Config) bound all inboxes and each sender.
	QueueMax int
	// MsgRate is the sustained say+dm rate per user, in messages a second;
	// who costs one message and history one per 50 it asks for
	// (user_send.go).
	// Default 10; NoRateLimit turns limiting off.
	MsgRate float64
	// MsgBurst is the burst the rate limit allows. Default 30.
	MsgBurst int
	// FloodFactor and FloodWindow decide when a rate-limited user is cut
	// off (close 1008): when refused messages within FloodWindow exceed
	// (FloodFactor-1) x MsgRate x FloodWindow, i.e. the client keeps sending
	// at FloodFactor times the limit. Defaults 3 and 10 s.
	FloodFactor float64
	FloodWindow time.Duration
	// DeliveryWindow caps the private messages written to a session and
	// not yet confirmed; the rest of a long inbox follows as confirmations
	// come back, so draining it never overflows the connection's outbox.
	// The user actor holds that window and a read-ahead of a quarter of it
	// in memory, and reads the rest from the store a page at a time.
	// Default 512.
	DeliveryWindow int
	// PresenceLimit is the largest online count at which presence notices
	// are still sent. Default 1000.
	PresenceLimit int
	// HistoryLimit is how many recent public messages the room keeps for
	// history requests. Default 1000.
	HistoryLimit int
	// KeyTTL is how long an idempotency key is remembered. Default 10 min.
	KeyTTL time.Duration
	// UserIdle is how long a user actor with no connection and nothing in
	// flight lives on before it stops (passivates), so that offline users
	// cost no memory; the next message for the name starts a fresh actor
	// from the store. Default 5 min.
	UserIdle time.Duration

	// RestartLimit user-actor restarts within RestartWindow are tolerated;
	// one more and the supervisor stops the actor and its connection is
	// closed. Defaults 5 and 1 minute.
	RestartLimit  int
	RestartWindow time.Duration
	// DebugFaults enables the "/debug panic" fault-injection command.
	DebugFaults bool
	// AskTimeout bounds Chat.Connect. Default 5 s.
	AskTimeout time.Duration

	// Cluster, when set, makes this server one node of a cluster (see
	// doc.go, "Cluster"); Store must then be one the nodes share.
	Cluster *ClusterConfig
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Store == nil {
		c.Store = store.NewMemory(store.Config{})
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	setDefault(&c.QueueMax, 10_000)
	setDefault(&c.MsgRate, 10)
	setDefault(&c.MsgBurst, 30)
	setDefault(&c.FloodFactor, 3)
	setDefault(&c.FloodWindow, 10*time.Second)
	setDefault(&c.DeliveryWindow, 512)
	setDefault(&c.PresenceLimit, 1000)
	setDefault(&c.HistoryLimit, 1000)
	setDefault(&c.KeyTTL, 10*time.Minute)
	setDefault(&c.UserIdle, 5*time.Minute)
	setDefault(&c.RestartLimit, 5)
	setDefault(&c.RestartWindow, time.Minute)
	setDefault(&c.AskTimeout, 5*time.Second)
	return c
}

func setDefault[T int | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
