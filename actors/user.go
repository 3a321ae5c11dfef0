package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// userCell is the part of a user's state that outlives an actor
// incarnation: the registry creates it with the actor's props, and every
// incarnation that the supervisor restarts finds it again. It is owned by
// whichever incarnation is running; nothing else touches it.
type userCell struct {
	session *actor.PID // the current session, nil while offline
	token   string     // the id of the token session was opened with, or "" (user_revoke.go)
	live    bool       // session has its Welcome: deliveries may go to it
	joining *actor.PID // who asked to Connect, answered once the room Joined
	seq     uint64     // last delivery seq handed out, across sessions
	started bool       // an incarnation has started once
	known   bool       // the store knows the name: read at start, set by a Connect
	counted int        // this user's share of deps.inboxDepth
	heldNow int        // this user's share of deps.held
	reads   uint64     // the last inbox page read asked for (user_window.go)
	// bootLast is the position of the newest message in the inbox when
	// the cell's first actor started: what is at or before it was stored
	// before this cell existed (user_window.go, hold).
	bootLast uint64
	// marks remembers, per message id, the last session and seq a private
	// message was written with; it is what makes a later write a
	// redelivery and what a Confirm is matched against.
	marks map[string]mark
}

type mark struct {
	session *actor.PID
	seq     uint64
}

// user is the user actor: one per user name, supervised by the registry. It
// holds the user's session and inbox and is the only place that decides
// whether a private message to the user is delivered now or queued. It also
// applies the user's rate limit and idempotency keys to what the user sends.
type user struct {
	// set at construction
	deps *deps
	name string
	cell *userCell

	// owned by the actor (this incarnation)
	queued      int                   // messages in the inbox, as the store counts them
	writing     int                   // inbox writes not yet completed by the store
	startLast   uint64                // the inbox's newest position when this incarnation read its size
	peers       map[string]*actor.PID // recipients' user actors, by name (watched)
	viaRegistry map[string]int        // routes on their way through the registry, by recipient
	pending     []*chatpb.Route       // routes sent and not answered yet, oldest first
	routeSeq    uint64                // the last route's number
	publishing  int                   // public messages sent to the room, not yet answered
	adding      bool                  // the name is being stored as known
	keys        *keyCache
	limit       *limiter

	// the held part of the inbox and the delivery window (user_window.go)
	held            []*chatpb.Message   // the inbox's oldest messages, while a session is live
	heldBytes       int                 // their estimated frame bytes
	sent            int                 // held[:sent] is written to the session, unconfirmed
	sentBytes       int                 // their estimated frame bytes
	cursor          uint64              // the store position the next page starts after
	more            bool                // the store may hold messages after the held ones
	loaded          bool                // held has been read for this session
	reading         uint64              // the page read waited for, 0 when none
	ackedDuringRead map[string]struct{} // ids confirmed since that read was asked for

	// the idle clock (user_passivate.go)
	idleTimer  *time.Timer // runs only while the user has no session
	lastActive time.Time   // the last message handled while it runs
	asked      bool        // Passivate sent, Holding not received yet
}

func newUser(d *deps, name string, cell *userCell) actor.Actor {
	return &user{deps: d, name: name, cell: cell}
}

// Receive handles one message.
func (u *user) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*idleTick); ok {
		u.idleTick(ctx)
		return
	}
	u.touch()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		u.start(ctx)
	case *actor.Restarting:
		u.deps.logger.Info("user actor restarting", "user", u.name, "queued", u.queued)
		u.disarmIdle() // the next incarnation runs its own
	case *actor.Stopping:
		u.stopping(ctx)
	case *actor.Stopped:
		u.stopped(ctx)
	case *actor.Terminated:
		u.terminated(ctx, m.Who) // user_remote.go
	case *chatpb.Connect:
		u.connect(ctx, m)
	case *chatpb.Joined:
		u.joined(ctx, m)
	case *chatpb.Disconnect:
		u.disconnect(ctx, m)
	case *chatpb.Say:
		u.say(ctx, m)
	case *chatpb.Dm:
		u.dm(ctx, m)
	case *chatpb.Who, *chatpb.History:
		u.query(ctx, m)
	case *chatpb.Invalid:
		u.invalid(ctx, m)
	case *chatpb.DebugPanic:
		u.debugPanic(ctx)
	case *chatpb.Published:
		u.published(ctx, m)
	case *chatpb.Route:
		u.accept(ctx, m)
	case *enqueued:
		u.enqueued(ctx, m)
	case *paged:
		u.paged(ctx, m)
	case *chatpb.Routed:
		u.routed(ctx, m)
	case *chatpb.Resolved:
		u.resolved(ctx, m)
	case *chatpb.Confirm:
		u.confirm(ctx, m)
	case *chatpb.Holding:
		u.holding(ctx)
	case *chatpb.Revoke:
		u.revoke(ctx, m)
	case *userAdded:
		u.userAdded(m)
	}
}

// start (re)loads what the store keeps. After a restart the cell still has
// the session, so its window is read again, and messages that were never
// written to it go out then. Without a session, the idle clock starts.
func (u *user) start(ctx actor.Context) {
	u.limit = newLimiter(u.deps.cfg)
	u.load()
	u.cell.started = true
	u.countInbox()
	u.countHeld() // an incarnation that failed may have held some
	u.refill(ctx)
	if u.cell.session == nil {
		u.armIdle(ctx)
	}
}

// load reads what the store keeps of this user: whether the name is known
// and, if it is, the idempotency keys and the size of the inbox (not the
// inbox: that is read a page at a time while a session is live). A name
// the store does not know has nothing else there, so a route to an
// invented name costs one read. Failing to read panics: the supervisor
// retries, and gives up after the restart limit, which is better than
// running with a silently empty inbox.
func (u *user) load() {
	if !u.cell.known {
		known, err := u.deps.store.Known(u.name)
		if err != nil {
			panic("reading whether " + u.name + " is known: " + err.Error())
		}
		u.cell.known = known
	}
	if !u.cell.known {
		u.keys = &keyCache{deps: u.deps, user: u.name}
		return
	}
	u.keys = newKeyCache(u.deps, u.name)
	st, err := u.deps.store.InboxStats(u.name)
	if err != nil {
		panic("reading the inbox size of " + u.name + ": " + err.Error())
	}
	u.queued, u.startLast = st.Messages, st.Last
	if !u.cell.started {
		u.cell.bootLast = st.Last
	}
}

// stopping runs when the actor passivates, when the supervisor gives up on
// it, or at shutdown. A connection, if there is one, cannot be served any
// more, so it is closed with a reason (a passivating actor has none).
func (u *user) stopping(ctx actor.Context) {
	u.disarmIdle()
	u.unwatchPeers(ctx)
	u.dropHeld()
	u.queued = 0 // the next actor for this name counts its own
	u.countInbox()
	if u.cell.session == nil {
		return
	}
	ctx.Send(u.cell.session, &chatpb.EndSession{
		Reason:  chatpb.CloseReason_CLOSE_REASON_INTERNAL,
		Code:    chatpb.ErrorCode_ERROR_CODE_INTERNAL,
		Message: "the server could not keep serving this user; reconnect",
	})
	ctx.Send(u.deps.room, &chatpb.Leave{User: u.name, Session: u.cell.session})
}

// connect makes m.Session the user's session, ending the one it replaces.
// The requester is answered once the room has welcomed the new session.
func (u *user) connect(ctx actor.Context, m *chatpb.Connect) {
	if old := u.cell.session; old != nil && !samePID(old, m.Session) {
		ctx.Send(old, &chatpb.EndSession{
			Reason:  chatpb.CloseReason_CLOSE_REASON_REPLACED,
			Code:    chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED,
			Message: "a newer connection for " + u.name + " took over",
		})
	}
	u.cell.session, u.cell.live, u.cell.joining = m.Session, false, ctx.Sender()
	u.cell.token = m.TokenId
	u.watchSession(ctx, m.Session)
	u.disarmIdle()
	u.becomeKnown(ctx)
	ctx.Request(u.deps.room, &chatpb.Join{User: u.name, Session: m.Session})
}

// joined makes the session live: first everything in the inbox, oldest
// first, a window at a time, then whatever arrives later. The inbox's
// first page is asked for before the requester is answered, so that with
// a store that reads at once (Memory) it is in the mailbox ahead of
// anything the attached session sends.
func (u *user) joined(ctx actor.Context, m *chatpb.Joined) {
	if !samePID(m.Session, u.cell.session) {
		return // replaced while joining
	}
	u.cell.live = true
	u.refill(ctx)
	if u.cell.joining != nil {
		ctx.Send(u.cell.joining, &chatpb.Connected{User: ctx.Self()})
		u.cell.joining = nil
	}
	u.resetWindow()
	u.pump(ctx)
}

func (u *user) disconnect(ctx actor.Context, m *chatpb.Disconnect) {
	if !samePID(m.Session, u.cell.session) {
		return // an old session, already replaced
	}
	u.cell.session, u.cell.live, u.cell.joining = nil, false, nil
	u.dropHeld()
	ctx.Send(u.deps.room, &chatpb.Leave{User: u.name, Session: m.Session})
	u.armIdle(ctx)
}

// debugPanic is the fault-injection command: it lets a person watch the
// supervisor restart this actor with its queue and connection intact.
func (u *user) debugPanic(ctx actor.Context) {
	if !u.deps.cfg.DebugFaults {
		ctx.Respond(refusal(nil, chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND, "unknown command"))
		return
	}
	panic("debug: fault injected by " + u.name)
}

// put sets m[k] = v, making the map on first use: most users never need
// most of their maps, and an idle connection should cost little (each
// empty map is an allocation).
func put[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] = v
}
