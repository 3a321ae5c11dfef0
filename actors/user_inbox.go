package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// The recipient's side of private messages: accept, store, deliver, confirm.
// A message is in the inbox from the moment the store has it until the
// client confirms it (a pong after the write). Everything in the inbox that
// is not confirmed is written again to the next session.

// enqueued is posted by the store's callback once an accepted private
// message is durable. It carries everything needed to finish the job, so
// that an incarnation started after a restart can finish it too.
type enqueued struct {
	msg   *chatpb.Message
	route *chatpb.Route
	cell  *userCell // of the actor that wrote it
	err   error
}

// accept takes a private message addressed to this user into the inbox:
// it writes it to the store, and delivery and the sender's receipt wait for
// the write (enqueued). A retry of a message the inbox holds already (its
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
	if len(u.inbox)+u.writing >= u.deps.cfg.QueueMax {
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
	self, root, cell := ctx.Self(), ctx.ActorSystem().Root, u.cell
	write := func(done func(error)) { u.deps.store.Enqueue(msg, done) }
	u.deps.writeKeyed(write, r.From, keyRecord(u.deps.cfg, r.Key, msg), func(err error) {
		root.Send(self, &enqueued{msg: msg, route: r, cell: cell, err: err})
	})
}

func (u *user) enqueued(ctx actor.Context, e *enqueued) {
	u.writing = max(0, u.writing-1)
	r := e.route
	if e.err != nil {
		u.deps.logger.Error("storing a private message", "to", u.name, "err", e.err)
		ctx.Send(r.ReplyTo, routedRefusal(r, chatpb.ErrorCode_ERROR_CODE_INTERNAL, "the message could not be stored"))
		return
	}
	// The inbox can hold it already only if start() may have loaded it:
	// after a restart, for a retry, or when the write was made by an
	// earlier actor for this name (a completion posted to a stopped
	// actor's PID reaches the next one).
	mayHold := u.reloaded || r.Retry || e.cell != u.cell
	if !mayHold || u.find(e.msg.Id) == nil {
		u.inbox = append(u.inbox, e.msg)
		u.countInbox()
		u.pump(ctx)
	}
	ctx.Send(r.ReplyTo, routedAccepted(ctx, r, e.msg))
}

// find returns the inbox message with the given id, or nil.
func (u *user) find(id string) *chatpb.Message {
	for i := len(u.inbox) - 1; i >= 0; i-- {
		if u.inbox[i].Id == id {
			return u.inbox[i]
		}
	}
	return nil
}

func routedAccepted(ctx actor.Context, r *chatpb.Route, m *chatpb.Message) *chatpb.Routed {
	return &chatpb.Routed{
		Ref: r.Ref, Key: r.Key, To: m.To, Recipient: ctx.Self(), Session: r.Session, Seq: r.Seq,
		Id: m.Id, TsUnixMs: m.TsUnixMs, Queued: m.Offline,
	}
}

// The delivery window. Messages are written to the live session in inbox
// order, so the ones written and not yet confirmed are a prefix,
// inbox[:sent]. pump writes more while that prefix is under the window;
// each Confirm shortens it and pumps again. A long inbox thus drains at the
// pace the client confirms, without ever flooding the connection's outbox.

// pump writes inbox messages to the live session while the window allows.
func (u *user) pump(ctx actor.Context) {
	if !u.cell.live {
		return
	}
	cfg := u.deps.cfg
	for u.sent < len(u.inbox) && u.sent < cfg.DeliveryWindow && u.sentBytes < windowBytes {
		m := u.inbox[u.sent]
		u.deliver(ctx, m)
		u.sent++
		u.sentBytes += frameCost(m)
	}
}

// windowBytes caps the estimated frame bytes in the window: a quarter of
// the default outbox, leaving room for the public traffic that shares it.
const windowBytes = 256 << 10

// frameCost estimates a message's frame size: its text and names plus the
// JSON around them.
func frameCost(m *chatpb.Message) int {
	return len(m.Text) + len(m.From) + len(m.To) + 160
}

// resetWindow recomputes the window for the current session: the prefix of
// the inbox already written to it (after a restart, from the marks).
func (u *user) resetWindow() {
	u.sent, u.sentBytes = 0, 0
	for _, m := range u.inbox {
		mk, ok := u.cell.marks[m.Id]
		if !ok || u.cell.session == nil || !samePID(mk.session, u.cell.session) {
			return
		}
		u.sent++
		u.sentBytes += frameCost(m)
	}
}

// deliver writes one inbox message to the session under a fresh seq, which
// a later Confirm from the same session refers to.
func (u *user) deliver(ctx actor.Context, m *chatpb.Message) {
	u.cell.seq++
	_, before := u.cell.marks[m.Id]
	put(&u.cell.marks, m.Id, mark{session: u.cell.session, seq: u.cell.seq})
	ctx.Send(u.cell.session, &chatpb.Deliver{Message: m, Redelivered: before, Seq: u.cell.seq})
}

// confirm drops from the inbox every message that c.Session wrote with a
// seq up to c.UpTo: its client has received them. Then the window has room
// for more.
func (u *user) confirm(ctx actor.Context, c *chatpb.Confirm) {
	var done []string
	kept := u.inbox[:0]
	for _, m := range u.inbox {
		mk, ok := u.cell.marks[m.Id]
		if ok && mk.seq <= c.UpTo && samePID(mk.session, c.Session) {
			done = append(done, m.Id)
			delete(u.cell.marks, m.Id)
			continue
		}
		kept = append(kept, m)
	}
	clear(u.inbox[len(kept):])
	u.inbox = kept
	if len(done) == 0 {
		return
	}
	u.countInbox()
	u.resetWindow()
	u.pump(ctx)
	name := u.name
	u.deps.store.Ack(name, done, func(err error) {
		if err != nil { // the messages will be delivered again: at least once
			u.deps.logger.Error("removing confirmed messages", "user", name, "err", err)
		}
	})
}

func routedRefusal(r *chatpb.Route, code chatpb.ErrorCode, msg string) *chatpb.Routed {
	return &chatpb.Routed{Ref: r.Ref, Key: r.Key, To: r.To, Session: r.Session, Seq: r.Seq, Code: code, Message: msg}
}
