package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// The sender's side: what this user sends passes the rate limit and the
// idempotency keys here, then goes to the room (say) or to the recipient's
// user actor (dm). Receipts come back here and go on to the session that
// asked.

func (u *user) say(ctx actor.Context, m *chatpb.Say) {
	if !u.admit(ctx, m.Ref, m.Key) {
		return
	}
	u.publishing++
	ctx.Send(u.deps.room, &chatpb.Publish{
		From: u.name, Text: m.Text, Ref: m.Ref, Key: m.Key,
		ReplyTo: ctx.Self(), Session: ctx.Sender(),
	})
}

func (u *user) dm(ctx actor.Context, m *chatpb.Dm) {
	if !u.admit(ctx, m.Ref, m.Key) {
		return
	}
	u.routeSeq++
	r := &chatpb.Route{
		From: u.name, To: m.To, Text: m.Text, Ref: m.Ref, Key: m.Key,
		ReplyTo: ctx.Self(), Session: ctx.Sender(), Seq: u.routeSeq,
		Id: u.deps.ids.next(), TsUnixMs: u.deps.cfg.Clock().UTC().UnixMilli(),
	}
	u.pending = append(u.pending, r)
	u.sendRoute(ctx, r)
}

// sendRoute sends a private message towards its recipient: straight to
// the recipient's actor when its PID is known and nothing to it is still on
// the way through the registry (which keeps the order of one sender's
// messages to one recipient); through the registry otherwise.
func (u *user) sendRoute(ctx actor.Context, r *chatpb.Route) {
	if pid, ok := u.peers[r.To]; ok && u.viaRegistry[r.To] == 0 {
		ctx.Send(pid, r)
		return
	}
	put(&u.viaRegistry, r.To, u.viaRegistry[r.To]+1)
	ctx.Send(u.deps.registry, r)
}

// resolved learns where the registry sent a route. Once nothing to that
// name is on the way through the registry, later ones go direct.
func (u *user) resolved(ctx actor.Context, m *chatpb.Resolved) {
	if n := u.viaRegistry[m.Name] - 1; n > 0 {
		u.viaRegistry[m.Name] = n
	} else {
		delete(u.viaRegistry, m.Name) // also a Resolved for an earlier incarnation's route
	}
	if m.Pid == nil || m.Name == u.name {
		return
	}
	if _, ok := u.peers[m.Name]; !ok {
		put(&u.peers, m.Name, m.Pid)
		ctx.Watch(m.Pid) // a Terminated comes back even if it is gone already
	}
}

// peerStopped handles a watched recipient's actor that stopped: whatever
// was sent to it without an answer was lost with its mailbox, so it goes
// again, in order, through the registry, which has a fresh actor for the
// name by then.
func (u *user) peerStopped(ctx actor.Context, pid *actor.PID) {
	for name, p := range u.peers {
		if !samePID(p, pid) {
			continue
		}
		delete(u.peers, name)
		for i, r := range u.pending {
			if r.To == name {
				// A copy: the route sent before may still be read by its
				// receiver (the registry may hand it to the next actor).
				rr := proto.Clone(r).(*chatpb.Route)
				rr.Retry = true
				u.pending[i] = rr
				u.sendRoute(ctx, rr)
			}
		}
	}
}

// settle removes an answered route from the pending list. It returns
// false for a route answered already: a retry can be answered twice.
func (u *user) settle(seq uint64) bool {
	for i, r := range u.pending {
		if r.Seq == seq {
			u.pending = append(u.pending[:i], u.pending[i+1:]...)
			return true
		}
	}
	return false
}

// admit applies, in the protocol's order, the rate limit and then the
// idempotency key. It answers the request itself and returns false when the
// message must not go on.
func (u *user) admit(ctx actor.Context, ref *string, key string) bool {
	if !u.allow(ctx, ref) {
		return false
	}
	switch rec, state := u.keys.lookup(key); state {
	case keyDone:
		ctx.Respond(&chatpb.Sent{Ref: ref, Id: rec.Id, TsUnixMs: rec.TsUnixMs, Queued: rec.Queued})
		return false
	case keyPending:
		u.keys.wait(key, ctx.Sender(), ref)
		return false
	}
	u.keys.begin(key)
	return true
}

// allow charges one message to the rate limit. Over it, the request is
// refused; far over it for long, the connection is ended (1008).
func (u *user) allow(ctx actor.Context, ref *string) bool {
	return u.allowN(ctx, ref, 1)
}

// allowN is allow for a request that costs n tokens.
func (u *user) allowN(ctx actor.Context, ref *string, n int) bool {
	v := u.limit.take(u.deps.cfg.Clock(), n)
	if v == allowed {
		return true
	}
	ctx.Respond(refusal(ref, chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "slow down: too many messages"))
	if v == flooding {
		u.deps.logger.Warn("closing a flooding connection", "user", u.name)
		ctx.Respond(&chatpb.EndSession{
			Reason: chatpb.CloseReason_CLOSE_REASON_POLICY, Message: "sending far over the rate limit",
		})
	}
	return false
}

// historyPerToken is how many messages of history one token of the rate
// limit buys.
const historyPerToken = 50

// query hands a who or history request to the room once it is charged to
// the rate limit in proportion to what it can return: a who, one page of
// names, one token; a history one per historyPerToken messages it asks
// for (4 for the most, 200). Answers can be a thousand times the size of
// the request, so asking must cost what sending does.
func (u *user) query(ctx actor.Context, m any) {
	q := &chatpb.RoomQuery{ReplyTo: ctx.Sender()}
	var ref *string
	cost := 1
	switch m := m.(type) {
	case *chatpb.Who:
		q.Query, ref = &chatpb.RoomQuery_Who{Who: m}, m.Ref
	case *chatpb.History:
		q.Query, ref = &chatpb.RoomQuery_History{History: m}, m.Ref
		cost = max(1, (int(m.Limit)+historyPerToken-1)/historyPerToken)
	}
	if u.allowN(ctx, ref, cost) {
		ctx.Send(u.deps.room, q)
	}
}

// invalid answers a request the session could not decode, after charging
// it to the rate limit when it was a say or dm.
func (u *user) invalid(ctx actor.Context, m *chatpb.Invalid) {
	if m.Counts && !u.allow(ctx, m.Ref) {
		return
	}
	ctx.Respond(refusal(m.Ref, m.Code, m.Message))
}

func (u *user) published(ctx actor.Context, p *chatpb.Published) {
	u.publishing = max(0, u.publishing-1) // a restart may have reset the count
	if p.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		ctx.Send(p.Session, refusal(p.Ref, p.Code, p.Message))
		u.keys.abandon(ctx, p.Key, p.Code, p.Message)
		return
	}
	sent := &chatpb.Sent{Ref: p.Ref, Id: p.Id, TsUnixMs: p.TsUnixMs}
	ctx.Send(p.Session, sent)
	u.keys.finish(ctx, p.Key, sent)
}

func (u *user) routed(ctx actor.Context, r *chatpb.Routed) {
	if !u.settle(r.Seq) {
		return
	}
	if r.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		ctx.Send(r.Session, refusal(r.Ref, r.Code, r.Message))
		u.keys.abandon(ctx, r.Key, r.Code, r.Message)
		return
	}
	sent := &chatpb.Sent{Ref: r.Ref, Id: r.Id, TsUnixMs: r.TsUnixMs, Queued: r.Queued}
	ctx.Send(r.Session, sent)
	u.keys.finish(ctx, r.Key, sent)
}

// samePID is PID equality that also holds for nil.
func samePID(a, b *actor.PID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}
