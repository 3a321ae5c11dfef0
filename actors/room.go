package actors

import (
	"math"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// room is the public-room actor: the set of online members and the one
// place where public messages are ordered, stamped and fanned out. Being a
// single actor is what gives every member the same order.
type room struct {
	// set at construction
	deps *deps

	// owned by the actor
	members map[string]*actor.PID // user name -> current session
	names   *roster               // member names, sorted, for welcome and who
	lastTS  int64                 // newest public stamp: stamps never go back
	writing int                   // public messages stamped, not yet stored
	held    []*chatpb.Presence    // notices stamped after those, waiting for them
	recent  []*chatpb.Message     // newest HistoryLimit public messages, oldest first
	nodes   *roomNodes            // as a cluster grain: the nodes members are on (cluster_room.go); nil on one node
}

// stored is posted by the store's callback once a public message is
// durable; only then is it fanned out and confirmed.
type stored struct {
	msg *chatpb.Message
	req *chatpb.Publish
	err error
}

func newRoom(d *deps) actor.Actor {
	return &room{deps: d, members: make(map[string]*actor.PID), names: newRoster()}
}

// Receive handles one message.
func (r *room) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.load()
	case *chatpb.Join:
		r.join(ctx, m)
	case *chatpb.Leave:
		r.leave(ctx, m)
	case *chatpb.Publish:
		r.publish(ctx, m)
	case *stored:
		r.stored(ctx, m)
	case *chatpb.RoomQuery:
		r.query(ctx, m)
	case *chatpb.RoomMembers:
		r.rejoin(ctx, m)
	case *actor.Terminated:
		r.linkGone(ctx, m.Who)
	}
}

// load restores the recent public messages, so history survives restarts of
// the room and of the server.
func (r *room) load() {
	msgs, err := r.deps.store.Recent()
	if err != nil {
		r.deps.logger.Error("room: loading public history", "err", err)
		return
	}
	r.recent = msgs
	if n := len(msgs); n > 0 {
		r.lastTS = msgs[n-1].GetTsUnixMs()
	}
}

func (r *room) join(ctx actor.Context, m *chatpb.Join) {
	_, takeover := r.members[m.User]
	if !takeover {
		r.names.add(m.User)
	}
	old := r.members[m.User]
	r.members[m.User] = m.Session
	w := r.welcome(m.User)
	viaLink := r.nodes.joined(ctx, &chatpb.RoomMember{User: m.User, Session: m.Session, Welcome: w, JoinedTo: ctx.Sender()}, old)
	if !viaLink {
		ctx.Send(m.Session, w)
	}
	if !takeover {
		r.presence(ctx, m.User, true)
	}
	if !viaLink {
		ctx.Respond(&chatpb.Joined{Session: m.Session})
	}
}

func (r *room) leave(ctx actor.Context, m *chatpb.Leave) {
	cur, ok := r.members[m.User]
	if !ok || !cur.Equal(m.Session) {
		return // a session that was already replaced
	}
	delete(r.members, m.User)
	r.names.remove(m.User)
	r.nodes.left(ctx, m.User, m.Session)
	r.presence(ctx, m.User, false)
}

// welcome greets a new member with who is online and the rate limit it
// will be held to (none when limiting is off).
func (r *room) welcome(user string) *chatpb.Welcome {
	w := &chatpb.Welcome{
		User:     user,
		Users:    r.names.page(""),
		Online:   int32(r.names.len()),
		TsUnixMs: r.now(),
	}
	if cfg := r.deps.cfg; cfg.MsgRate > 0 {
		w.MsgRate, w.MsgBurst = cfg.MsgRate, int32(min(cfg.MsgBurst, math.MaxInt32))
	}
	return w
}

// presence tells every other member that user came or went, while the crowd
// is small enough for that to be cheap (Config.PresenceLimit). A notice
// waits for the public messages stamped before it, which wait for the
// store: members see a message and its sender leaving in that order.
func (r *room) presence(ctx actor.Context, user string, online bool) {
	if len(r.members) > r.deps.cfg.PresenceLimit {
		return
	}
	p := &chatpb.Presence{User: user, Online: online, TsUnixMs: r.now()}
	if r.writing > 0 {
		r.held = append(r.held, p)
		return
	}
	r.announce(ctx, p)
}

func (r *room) announce(ctx actor.Context, p *chatpb.Presence) {
	if r.nodes.broadcast(ctx, p) {
		return
	}
	for name, s := range r.members {
		if name != p.User {
			ctx.Send(s, p)
		}
	}
}

// publish stamps a public message and writes it to the store; fan-out waits
// for the write (see stored), and the store completes writes in order, so
// the order of stamps is the order of delivery.
func (r *room) publish(ctx actor.Context, p *chatpb.Publish) {
	ts := max(r.now(), r.lastTS)
	r.lastTS = ts
	msg := &chatpb.Message{
		Id: r.deps.ids.next(), Kind: chatpb.Kind_KIND_PUBLIC,
		From: p.From, Text: p.Text, TsUnixMs: ts,
	}
	r.writing++
	self, root := ctx.Self(), ctx.ActorSystem().Root
	write := func(done func(error)) { r.deps.store.AppendPublic(msg, done) }
	r.deps.writeKeyed(write, p.From, keyRecord(r.deps.cfg, p.Key, msg), func(err error) {
		root.Send(self, &stored{msg: msg, req: p, err: err})
	})
}

func (r *room) stored(ctx actor.Context, s *stored) {
	r.writing--
	defer r.release(ctx)
	if s.err != nil {
		r.deps.logger.Error("room: storing public message", "id", s.msg.Id, "err", s.err)
		ctx.Send(s.req.ReplyTo, &chatpb.Published{Ref: s.req.Ref, Key: s.req.Key, Session: s.req.Session,
			Code: chatpb.ErrorCode_ERROR_CODE_INTERNAL, Message: "the message could not be stored", Seq: s.req.Seq})
		return
	}
	r.remember(s.msg)
	d := &chatpb.Deliver{Message: s.msg} // one for all: see chatpb.Deliver
	if !r.nodes.broadcast(ctx, d) {
		for _, session := range r.members {
			ctx.Send(session, d)
		}
	}
	ctx.Send(s.req.ReplyTo, &chatpb.Published{
		Ref: s.req.Ref, Key: s.req.Key, Id: s.msg.Id,
		TsUnixMs: s.msg.TsUnixMs, Session: s.req.Session, Seq: s.req.Seq,
	})
}

// release announces the held presence notices once no public message
// stamped before them is still being written.
func (r *room) release(ctx actor.Context) {
	if r.writing > 0 {
		return
	}
	for _, p := range r.held {
		r.announce(ctx, p)
	}
	r.held = nil
}

// remember keeps msg in the in-memory history window.
func (r *room) remember(msg *chatpb.Message) {
	if len(r.recent) >= r.deps.cfg.HistoryLimit {
		n := copy(r.recent, r.recent[len(r.recent)-r.deps.cfg.HistoryLimit+1:])
		r.recent = r.recent[:n]
	}
	r.recent = append(r.recent, msg)
}

func (r *room) query(ctx actor.Context, q *chatpb.RoomQuery) {
	switch {
	case q.GetWho() != nil:
		w := q.GetWho()
		ctx.Send(q.ReplyTo, &chatpb.Users{Ref: w.Ref, Users: r.names.page(w.After), Online: int32(r.names.len())})
	case q.GetHistory() != nil:
		h := q.GetHistory()
		ctx.Send(q.ReplyTo, &chatpb.HistoryPage{Ref: h.Ref, Messages: r.history(h)})
	}
}

// history returns up to h.Limit messages older than h.Before (or the newest
// ones), oldest first. An unknown Before yields an empty page.
func (r *room) history(h *chatpb.History) []*chatpb.Message {
	end := len(r.recent)
	if h.Before != "" {
		end = r.indexOf(h.Before)
	}
	start := max(0, end-int(h.Limit))
	return append([]*chatpb.Message{}, r.recent[start:end]...)
}

func (r *room) indexOf(id string) int {
	for i := len(r.recent) - 1; i >= 0; i-- {
		if r.recent[i].Id == id {
			return i
		}
	}
	return 0
}

func (r *room) now() int64 { return r.deps.cfg.Clock().UTC().UnixMilli() }

// refusal builds the error answer to a request.
func refusal(ref *string, code chatpb.ErrorCode, msg string) *chatpb.Refused {
	return &chatpb.Refused{Ref: ref, Code: code, Message: msg}
}
