package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// Passivation: a user actor that has had no connection, nothing in flight
// and no message for Config.UserIdle stops, so that an offline user costs
// no memory. Whatever it must not lose is in the store already (the inbox,
// the keys, the name), and the next message for the name starts a fresh
// actor from there.
//
// Proto.Actor drops what is in a stopped actor's mailbox, so stopping is a
// handshake with the registry, the only one that forwards Connects and
// first routes:
//
//  1. the idle actor sends the registry Passivate;
//  2. the registry starts holding back what arrives for the name and
//     answers Holding, which reaches the actor after everything the
//     registry forwarded to it before (one sender's messages keep their
//     order);
//  3. the actor checks again that it is idle: if so it stops, and the
//     registry, told by Proto.Actor (it is the parent), hands what it held
//     to a fresh actor; if not, it answers Stay and the registry hands the
//     held messages to it.
//
// Deciding on Holding needs no memory of having asked: an answer that
// reaches a restarted incarnation, or one that did not ask, is decided the
// same way, and the registry starts at most one round per name at a time.
// Private messages that peers send straight to the actor's PID and that
// reach it after it decided are covered by the senders, which watch the
// recipient and route again, through the registry, what it left
// unanswered.
//
// The idle clock is a timer of our own rather than Proto.Actor's receive
// timeout: that one stops and resets a runtime timer around every message,
// online or not, and its callback (receiveTimeoutHandler) writes the actor
// context's fields on the timer's goroutine, unsynchronised with the
// actor's own: a data race when a message arrives as the timer fires. Ours
// runs only while the user is offline, measures quiet time with the
// injected clock, and reaches the actor as a message like any other.

// idleTick is posted to the actor by its idle timer. Like the store's
// completions, it never leaves the actor, so it is a plain Go struct.
type idleTick struct{}

// userAdded is posted by the store's callback once the name is stored as
// known.
type userAdded struct{ err error }

// armIdle starts the idle clock: the user has no session now. Quiet time
// counts from here.
func (u *user) armIdle(ctx actor.Context) {
	u.lastActive = u.deps.cfg.Clock()
	if u.idleTimer != nil {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	u.idleTimer = time.AfterFunc(u.deps.cfg.UserIdle, func() { root.Send(self, &idleTick{}) })
}

// disarmIdle stops the idle clock: a session is attached, or this
// incarnation is going away.
func (u *user) disarmIdle() {
	if u.idleTimer != nil {
		u.idleTimer.Stop()
		u.idleTimer = nil
	}
}

// touch notes activity for the idle clock, when it runs.
func (u *user) touch() {
	if u.idleTimer != nil {
		u.lastActive = u.deps.cfg.Clock()
	}
}

// idleTick asks the registry to let this actor stop once it has been idle
// for UserIdle; until then the timer waits for the rest of that time. A
// tick from a timer of an earlier actor for this name finds no timer, or
// finds the state of this one: either way it decides nothing wrongly.
func (u *user) idleTick(ctx actor.Context) {
	if u.idleTimer == nil {
		return
	}
	idle := u.deps.cfg.UserIdle
	quiet := u.deps.cfg.Clock().Sub(u.lastActive)
	switch {
	case quiet < idle:
		u.idleTimer.Reset(idle - quiet)
	case !u.idle():
		u.idleTimer.Reset(idle) // what is in flight ends with a message, which counts as activity
	default:
		u.askToStop(ctx)
		u.idleTimer.Reset(idle) // should the registry not answer, ask again then
	}
}

// askToStop sends the registry Passivate; it answers Holding.
func (u *user) askToStop(ctx actor.Context) {
	u.asked = true
	ctx.Send(u.deps.registry, &chatpb.Passivate{User: u.name, Pid: ctx.Self()})
}

// holding is the registry's answer to Passivate: it holds back new messages
// for this name, and everything it forwarded before has been handled. The
// actor stops if it is still idle, or tells the registry it stays.
func (u *user) holding(ctx actor.Context) {
	u.asked = false
	if u.idle() {
		u.deps.logger.Debug("user actor passivating", "user", u.name, "queued", u.queued)
		ctx.Stop(ctx.Self())
		return
	}
	ctx.Send(u.deps.registry, &chatpb.Stay{User: u.name, Pid: ctx.Self()})
}

// idle reports whether the actor can stop without losing anything: no
// session, none joining, no store write outstanding, no route of its own
// or public message waiting for an answer, no idempotency key pending.
func (u *user) idle() bool {
	return u.cell.session == nil && u.cell.joining == nil &&
		u.writing == 0 && !u.adding && u.publishing == 0 &&
		len(u.pending) == 0 && len(u.viaRegistry) == 0 && len(u.keys.pending) == 0
}

// refuseUnknown answers a route to this name, which the store does not
// know, with unknown_user, and passivates at once: routes to invented
// names must not leave actors behind.
func (u *user) refuseUnknown(ctx actor.Context, r *chatpb.Route) {
	ctx.Send(r.ReplyTo, routedRefusal(r, chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, "no user "+r.To))
	if !u.asked && u.idle() {
		u.askToStop(ctx)
	}
}

// becomeKnown stores the name as known, once: its first connection.
func (u *user) becomeKnown(ctx actor.Context) {
	if u.cell.known {
		return
	}
	u.cell.known, u.adding = true, true
	self, root, name := ctx.Self(), ctx.ActorSystem().Root, u.name
	u.deps.store.AddUser(name, func(err error) { root.Send(self, &userAdded{err: err}) })
}

func (u *user) userAdded(m *userAdded) {
	u.adding = false
	if m.err != nil {
		u.deps.logger.Error("storing a new user", "user", u.name, "err", m.err)
	}
}

// unpinned is sent by a stopped actor to its own PID; see stopped.
type unpinned struct{}

// IgnoreDeadLetterLogging keeps it out of the dead-letter log.
func (unpinned) IgnoreDeadLetterLogging() {}

// stopped runs once the actor is out of Proto.Actor's process registry.
// A PID caches the process it names, and Proto.Actor's sets of PIDs (the
// registry's children, each actor's watchers) keep what they remove in the
// slots they vacate until those are reused. Through that cache, such a
// slot would keep the whole stopped actor alive: mailbox, context, props
// and state. A message to its own PID now finds the process dead (stopped
// through the PID, as passivation does), drops the cached reference, and
// goes to the dead letters, unlogged. BenchmarkOfflineUsers, 20,000 users:
// 1,750-1,870 heap bytes per passivated user left without it, 690-770
// with it (the rest is the high-water room of those sets and of the
// process registry, not users).
func (u *user) stopped(ctx actor.Context) {
	ctx.Send(ctx.Self(), unpinned{})
}

// unwatchPeers stops watching the recipients this actor cached: their
// actors would otherwise keep this one's PID in their watcher sets long
// after it has gone.
func (u *user) unwatchPeers(ctx actor.Context) {
	for _, pid := range u.peers {
		ctx.Unwatch(pid)
	}
	u.peers = nil
}
