package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// The recipient's side of private messages: accept, store, confirm. A
// message is in the inbox from the moment the store has it until the
// client confirms it (a pong after the write). The inbox lives in the
// store; the actor holds only its count, and, while a session is live, its
// oldest messages, those being written (user_window.go). Everything in the
// inbox that is not confirmed is written again to the next session.

// enqueued is posted by the store's callback once an accepted private
// message is durable. It carries everything needed to finish the job, so
// that an incarnation started after a restart can finish it too.
type enqueued struct {
	msg   *chatpb.Message
	route *chatpb.Route
	at    store.Enqueued // where the store has it
	err   error
}

// accept takes a private message addressed to this user into the inbox:
// it writes it to the store, and delivery and the sender's receipt wait for
// the write (enqueued). A retry of a message the actor holds already (its
// first recipient actor stored it, then stopped before answering) is only
// answered; a name the store does not know refuses it.
func (u *user) accept(ctx actor.Context, r *chatpb.Route) {
	if !u.cell.known {
		u.refuseUnknown(ctx, r)
		return
	}
	if r.Retry {
		if m := u.find(r.Id); m != nil {
			ctx.Send(r.ReplyTo, routedAccepted(ctx, r, m))
			return
		}
	}
	if u.queued+u.writing >= u.deps.cfg.QueueMax {
		ctx.Send(r.ReplyTo, routedRefusal(r, chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL, r.To+"'s offline queue is full"))
		return
	}
	msg := &chatpb.Message{
		Id: r.Id, Kind: chatpb.Kind_KIND_DM,
		From: r.From, To: u.name, Text: r.Text, TsUnixMs: r.TsUnixMs,
		Offline: u.cell.session == nil, // not while a new session is being welcomed
	}
	if msg.Id == "" { // a sender that does not stamp: stamped on arrival
		msg.Id, msg.TsUnixMs = u.deps.ids.next(), u.deps.cfg.Clock().UTC().UnixMilli()
	}
	u.writing++
	self, root := ctx.Self(), ctx.ActorSystem().Root
	// The key rides in the message's own write, and is stored only if the
	// message is: the receipt waits for both (see writeKeyed).
	u.deps.store.EnqueueKeyed(msg, keyRecord(u.deps.cfg, r.Key, msg), func(at store.Enqueued, err error) {
		root.Send(self, &enqueued{msg: msg, route: r, at: at, err: err})
	})
}

func (u *user) enqueued(ctx actor.Context, e *enqueued) {
	u.writing = max(0, u.writing-1)
	r := e.route
	if e.err != nil {
		code, why := u.storeRefusal(e.err)
		ctx.Send(r.ReplyTo, routedRefusal(r, code, why))
		return
	}
	// A retry may find its message stored already (not new), and a write
	// an earlier actor for this name made (whose completion, posted to the
	// stopped actor's PID, reaches this one) may be in the size this one
	// read at start (at or before startLast): neither counts again.
	if e.at.New && e.at.Pos > u.startLast {
		u.queued++
		u.countInbox()
	}
	if e.at.New {
		u.take(ctx, e.msg, e.at.Pos)
	}
	ctx.Send(r.ReplyTo, routedAccepted(ctx, r, e.msg))
}

// storeRefusal is the answer to a sender whose message the store did not
// take: the caps' refusals (which are the sender's to act on, and logged
// only at debug level, since a flood of them is what they are for), or an
// internal error.
func (u *user) storeRefusal(err error) (chatpb.ErrorCode, string) {
	switch {
	case errors.Is(err, store.ErrSenderFull):
		u.deps.logger.Debug("refusing a private message: its sender's queued bytes are at their cap", "to", u.name)
		return chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL,
			"too many of your private messages wait for their recipients; send more once some are delivered"
	case errors.Is(err, store.ErrStorageFull):
		u.deps.logger.Debug("refusing a private message: the store's queued bytes are at their cap", "to", u.name)
		return chatpb.ErrorCode_ERROR_CODE_STORAGE_FULL,
			"the server has no room for more waiting private messages now; try again later"
	}
	u.deps.logger.Error("storing a private message", "to", u.name, "err", err)
	return chatpb.ErrorCode_ERROR_CODE_INTERNAL, "the message could not be stored"
}

// find returns the held message with the given id, or nil.
func (u *user) find(id string) *chatpb.Message {
	for i := len(u.held) - 1; i >= 0; i-- {
		if u.held[i].Id == id {
			return u.held[i]
		}
	}
	return nil
}

// countInbox brings the server-wide inbox depth up to date with this
// inbox's count.
func (u *user) countInbox() {
	u.deps.inboxDepth.Add(int64(u.queued - u.cell.counted))
	u.cell.counted = u.queued
}

// countHeld brings the server-wide count of held messages up to date
// with this actor's.
func (u *user) countHeld() {
	u.deps.held.Add(int64(len(u.held) - u.cell.heldNow))
	u.cell.heldNow = len(u.held)
}

func routedAccepted(ctx actor.Context, r *chatpb.Route, m *chatpb.Message) *chatpb.Routed {
	return &chatpb.Routed{
		Ref: r.Ref, Key: r.Key, To: m.To, Recipient: ctx.Self(), Session: r.Session, Seq: r.Seq,
		Id: m.Id, TsUnixMs: m.TsUnixMs, Queued: m.Offline,
	}
}

// confirm acks every message that c.Session wrote with a seq up to
// c.UpTo: its client has received them. The marks say which (held or
// not: after a restart, a confirm may come before the window is read
// again, and after a disconnect, once the window is dropped). They are
// acked in the store before anything more is read from it, so that a
// later page cannot bring them back; a page on its way skips them. Then
// the window has room for more.
func (u *user) confirm(ctx actor.Context, c *chatpb.Confirm) {
	var done []string
	for id, mk := range u.cell.marks {
		if mk.seq <= c.UpTo && samePID(mk.session, c.Session) {
			done = append(done, id)
			delete(u.cell.marks, id)
		}
	}
	if len(done) == 0 {
		return
	}
	name := u.name
	u.deps.store.Ack(name, done, func(err error) {
		if err != nil { // the messages will be delivered again: at least once
			u.deps.logger.Error("removing confirmed messages", "user", name, "err", err)
		}
	})
	u.release(done)
	u.queued = max(0, u.queued-len(done))
	u.countInbox()
	u.resetWindow()
	u.pump(ctx)
	u.refill(ctx)
}

// release lets go of the held messages with the given ids, which are
// confirmed, and notes them for the page on its way, if one is.
func (u *user) release(ids []string) {
	gone := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		gone[id] = struct{}{}
		if u.reading != 0 {
			put(&u.ackedDuringRead, id, struct{}{})
		}
	}
	kept := u.held[:0]
	for _, m := range u.held {
		if _, ok := gone[m.Id]; ok {
			u.heldBytes -= frameCost(m)
			continue
		}
		kept = append(kept, m)
	}
	clear(u.held[len(kept):])
	u.held = kept
	u.countHeld()
}

func routedRefusal(r *chatpb.Route, code chatpb.ErrorCode, msg string) *chatpb.Routed {
	return &chatpb.Routed{Ref: r.Ref, Key: r.Key, To: r.To, Session: r.Session, Seq: r.Seq, Code: code, Message: msg}
}
