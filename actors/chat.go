package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/internal/workers"
	"github.com/actorchat/chat/proto/chatpb"
)

// deps is what every actor of one Chat shares. All of it is set at
// construction and safe for concurrent use.
type deps struct {
	cfg      Config
	store    store.Store
	logger   *slog.Logger
	ids      *idSource
	room     *actor.PID
	registry *actor.PID
	dispatch actor.PropsOption // every actor's mailboxes run on one pool
	node     *clusterNode      // cluster mode (cluster.go); nil on one node
	cells    cells             // cluster mode: the user grains' cells (cluster_user.go)

	inboxDepth atomic.Int64 // messages in all inboxes, for metrics
	held       atomic.Int64 // messages user actors hold in memory, for metrics
}

// Chat is one chat server's actor system: the registry of user actors and
// the public room. The edge (server/) attaches sessions with Connect and
// then talks to the user actor it gets back.
type Chat struct {
	// set at construction
	system *actor.ActorSystem
	deps   *deps
	unsub  func()
}

// Start builds the actor system and spawns the registry and the room.
func Start(cfg Config) (*Chat, error) {
	cfg = cfg.withDefaults()
	epoch, err := cfg.Store.NextEpoch()
	if err != nil {
		return nil, fmt.Errorf("actors: reading the id epoch: %w", err)
	}
	d := &deps{
		cfg: cfg, store: cfg.Store, logger: cfg.Logger, ids: newIDSource(epoch),
		dispatch: actor.WithDispatcher(dispatcher{pool: &workers.Pool{}}),
	}
	system := actor.NewActorSystemWithConfig(actor.Configure(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(quieter{cfg.Logger.Handler()}).With("lib", "protoactor")
		}),
	))
	c := &Chat{system: system, deps: d, unsub: logSupervision(system, cfg.Logger)}
	if cfg.Cluster != nil {
		if _, err := startCluster(system, d); err != nil {
			c.unsub()
			system.Shutdown()
			return nil, err
		}
		return c, nil
	}
	root := system.Root
	d.room, err = root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newRoom(d) }, d.dispatch), "room")
	if err != nil {
		return nil, fmt.Errorf("actors: spawning the room: %w", err)
	}
	regProps := actor.PropsFromProducer(func() actor.Actor { return newRegistry(d) }, d.dispatch)
	if d.registry, err = root.SpawnNamed(regProps, "registry"); err != nil {
		return nil, fmt.Errorf("actors: spawning the registry: %w", err)
	}
	return c, nil
}

// System returns the actor system, for the edge to register session
// processes in and send from.
func (c *Chat) System() *actor.ActorSystem { return c.system }

// quieter passes Proto.Actor's log records on at warning level and above.
// Its info records (dead letters at shutdown, "[ACTOR] Recovering" for what
// logSupervision already reports) are noise at the server's default level;
// at debug level everything passes.
type quieter struct{ slog.Handler }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.Handler.Enabled(ctx, l) && (l >= slog.LevelWarn || q.Handler.Enabled(ctx, slog.LevelDebug))
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.Handler.WithAttrs(as)} }
func (q quieter) WithGroup(name string) slog.Handler    { return quieter{q.Handler.WithGroup(name)} }

// Connect attaches session to the named user (a valid, folded name),
// replacing any session the user had, and returns the user actor's PID. It
// returns once the session has been sent its Welcome. It blocks the calling
// goroutine for one round trip, so it is for the edge, never for an actor.
// It is ConnectWithToken without a token id: a session opened with a
// credential nothing revokes one by one (version 1's name, a JWT), which
// only a Revoke of every token of the user (ALL, or ALL_BUT another) ends,
// as auth.Revocation.Covers has it.
func (c *Chat) Connect(user string, session *actor.PID) (*actor.PID, error) {
	return c.ConnectWithToken(user, "", session)
}

// ConnectWithToken is Connect for a session opened with the token whose id
// is tokenID: a Revoke that covers the token ends the session (Revoke).
func (c *Chat) ConnectWithToken(user, tokenID string, session *actor.PID) (*actor.PID, error) {
	if n := c.deps.node; n != nil {
		return n.connect(c.system.Root, c.deps.cfg.AskTimeout, &chatpb.Connect{User: user, Session: session, TokenId: tokenID})
	}
	res, err := c.system.Root.RequestFuture(c.deps.registry,
		&chatpb.Connect{User: user, Session: session, TokenId: tokenID}, c.deps.cfg.AskTimeout).Result()
	if err != nil {
		// The attach may still happen after the timeout; the registry
		// delivers this after it, so the user actor lets go again.
		c.system.Root.Send(c.deps.registry, &chatpb.Disconnect{Session: session, User: user})
		return nil, fmt.Errorf("actors: connecting %q: %w", user, err)
	}
	conn, ok := res.(*chatpb.Connected)
	if !ok {
		return nil, fmt.Errorf("actors: connecting %q: unexpected answer %T", user, res)
	}
	return conn.User, nil
}

// Revoke ends the user's session if it was opened with a token the
// revocation covers (scope and tokenID as in chatpb.Revoke): the client
// gets credentials_revoked and close 4003. It does not wait, so it may be
// called from anywhere, auth's revocation callback included, and it starts
// no actor: a user without a running one has no session to end. Call it
// once the revocation is durable, so that a session attached after it can
// find out by verifying its token again (see ConnectWithToken's callers).
func (c *Chat) Revoke(user string, scope chatpb.RevokeScope, tokenID string) {
	c.system.Root.Send(c.deps.registry, &chatpb.Revoke{User: user, Scope: scope, TokenId: tokenID})
}

// InboxDepth returns how many private messages wait (queued, or written
// but unconfirmed) in the inboxes of the user actors in memory. A user
// whose actor has passivated, or has not started since the server did, is
// not counted: that queue is in the store only, and counting it would cost
// memory per offline user.
func (c *Chat) InboxDepth() int64 { return c.deps.inboxDepth.Load() }

// HeldMessages returns how many private messages the user actors hold in
// memory: those of their delivery windows and read-aheads, for users with
// a live session. The rest of every inbox is in the store only, so this
// is bounded by the sessions, not by what waits.
func (c *Chat) HeldMessages() int64 { return c.deps.held.Load() }

// Stop stops the registry (and with it every user actor) and the room,
// waiting for each to finish what is in its mailbox, then closes the store.
func (c *Chat) Stop() error {
	if n := c.deps.node; n != nil {
		c.unsub()
		return errors.Join(n.stop(c.deps), c.deps.store.Close())
	}
	root := c.system.Root
	if err := root.PoisonFuture(c.deps.registry).Wait(); err != nil {
		c.deps.logger.Warn("stopping the registry", "err", err)
	}
	if err := root.PoisonFuture(c.deps.room).Wait(); err != nil {
		c.deps.logger.Warn("stopping the room", "err", err)
	}
	c.unsub()
	c.system.Shutdown()
	return c.deps.store.Close()
}

// Ready reports whether this server can serve: always on one node; in a
// cluster, while etcd answers and the node is in the member list (for
// /readyz).
func (c *Chat) Ready(ctx context.Context) error {
	if n := c.deps.node; n != nil {
		return n.ready(ctx)
	}
	return nil
}
