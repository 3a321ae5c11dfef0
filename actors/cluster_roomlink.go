package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// roomLinkName is the name of every node's room link, so that the room
// grain can address the link of the node a session is on.
const roomLinkName = "roomlink"

// roomRelookPause is how long a link waits before looking for a room that
// stopped: long enough not to spin while member lists settle, short
// against the seconds a failover takes.
const roomRelookPause = 100 * time.Millisecond

// roomLinkQueue caps what waits for the room while no member has it.
const roomLinkQueue = 10_000

// roomLink is a cluster node's side of the public room, in two roles:
//
//   - towards the room: it stands where the room does on one node, so the
//     user actors of this node send it Join, Leave, Publish and RoomQuery,
//     and it passes them on to the room grain (found on a goroutine,
//     watched, found again when it stops) with their senders. It numbers
//     the Publishes in flight, so that those the room never answers,
//     because its node died, are refused rather than lost;
//   - from the room: the fan-out for the sessions of this node. The room
//     tells it which of them are members (RoomMember) and sends it each
//     public message and presence notice once; it hands the same message
//     to each local member. So a public message crosses the network once
//     per node, not once per member. It watches those sessions, and tells
//     the room when one ended that nobody else did (its user actor died
//     with its node); and when the room comes back on another node, it
//     tells the new room its members (RoomMembers).
type roomLink struct {
	// set at construction
	deps *deps

	// owned by the actor
	room     *actor.PID            // the room grain; nil while being looked up
	looking  bool                  // a look-up is under way
	queue    []held                // for the room, while room is nil
	local    map[string]*actor.PID // member name -> session, for sessions on this node
	inflight map[uint64]*chatpb.Publish
	seq      uint64
}

// roomFound is posted to the link when a look-up of the room ends: pid
// is nil when it did not find the room in time.
type roomFound struct{ pid *actor.PID }

func newRoomLink(d *deps) actor.Actor {
	return &roomLink{deps: d, local: make(map[string]*actor.PID), inflight: make(map[uint64]*chatpb.Publish)}
}

// Receive handles one message.
func (l *roomLink) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		l.lookUp(ctx, 0)
	case *roomFound:
		l.found(ctx, m.pid)
	case *actor.Terminated:
		l.terminated(ctx, m.Who)
	case *chatpb.Publish:
		l.publish(ctx, m)
	case *chatpb.Published:
		l.published(ctx, m)
	case *chatpb.Join, *chatpb.Leave, *chatpb.RoomQuery:
		l.toRoom(ctx, m, ctx.Sender())
	case *chatpb.RoomMember:
		l.member(ctx, m)
	case *chatpb.Deliver:
		for _, s := range l.local {
			ctx.Send(s, m)
		}
	case *chatpb.Presence:
		for name, s := range l.local {
			if name != m.User {
				ctx.Send(s, m)
			}
		}
	}
}

// lookUp finds the room grain on a goroutine of its own.
// It starts after pause, which is how a room that stopped (it moved, or
// was placed by a stale member list and stopped at once, cluster_owner.go)
// is not asked for again in a tight loop while the member lists settle.
func (l *roomLink) lookUp(ctx actor.Context, pause time.Duration) {
	if l.looking {
		return
	}
	l.looking = true
	self, root, node := ctx.Self(), ctx.ActorSystem().Root, l.deps.node
	go func() {
		time.Sleep(pause)
		until := time.Now().Add(node.cfg.ResolveTimeout)
		root.Send(self, &roomFound{pid: node.resolve(roomKind, roomName, until)})
	}()
}

// found takes the room that a look-up found: the link watches it, tells it
// this node's members (it may be a fresh room on another node), and passes
// on what waited. When none was found in time, what waited is refused and
// the look-up starts again.
func (l *roomLink) found(ctx actor.Context, pid *actor.PID) {
	l.looking = false
	if pid == nil {
		l.deps.logger.Warn("cluster: the public room could not be found; trying again", "waiting", len(l.queue))
		l.failQueue(ctx)
		l.lookUp(ctx, 0)
		return
	}
	l.room = pid
	ctx.Watch(pid)
	ctx.Send(pid, l.members())
	queue := l.queue
	l.queue = nil
	for _, h := range queue {
		ctx.RequestWithCustomSender(pid, h.msg, h.sender)
	}
}

// members lists this node's members for a room.
func (l *roomLink) members() *chatpb.RoomMembers {
	rm := &chatpb.RoomMembers{}
	for name, s := range l.local {
		rm.Members = append(rm.Members, &chatpb.RoomMember{User: name, Session: s, Online: true})
	}
	return rm
}

// terminated handles a watched PID that stopped: the room (it moved, or
// its node died: the publishes it had not answered are refused, and it is
// looked up again), or a local member's session (the room is told, in
// case its user actor could not).
func (l *roomLink) terminated(ctx actor.Context, who *actor.PID) {
	if samePID(who, l.room) {
		l.room = nil
		l.failInflight(ctx)
		l.lookUp(ctx, roomRelookPause)
		return
	}
	for name, s := range l.local {
		if samePID(s, who) {
			delete(l.local, name)
			l.toRoom(ctx, &chatpb.Leave{User: name, Session: who}, ctx.Self())
			return
		}
	}
}

// toRoom passes msg on to the room with sender, or queues it while the
// room is being looked up.
func (l *roomLink) toRoom(ctx actor.Context, msg any, sender *actor.PID) {
	if l.room != nil {
		ctx.RequestWithCustomSender(l.room, msg, sender)
		return
	}
	if len(l.queue) >= roomLinkQueue {
		l.refuse(ctx, msg, "the public room is not reachable; send again")
		return
	}
	l.queue = append(l.queue, held{msg: msg, sender: sender})
	l.lookUp(ctx, 0)
}

// publish passes a public message on with this link as its reply-to,
// numbered, so that its answer comes back here (published) and a missing
// answer can be noticed.
func (l *roomLink) publish(ctx actor.Context, p *chatpb.Publish) {
	l.seq++
	l.inflight[l.seq] = p
	out := proto.Clone(p).(*chatpb.Publish)
	out.ReplyTo, out.Seq = ctx.Self(), l.seq
	l.toRoom(ctx, out, ctx.Sender())
}

// published hands the room's answer to the user actor that published.
func (l *roomLink) published(ctx actor.Context, p *chatpb.Published) {
	orig, ok := l.inflight[p.Seq]
	if !ok {
		return // refused already
	}
	delete(l.inflight, p.Seq)
	p.Seq = 0
	ctx.Send(orig.ReplyTo, p)
}

// failInflight refuses every publish the room took and never answered.
func (l *roomLink) failInflight(ctx actor.Context) {
	for seq, p := range l.inflight {
		delete(l.inflight, seq)
		ctx.Send(p.ReplyTo, publishRefusal(p, "the public room moved to another node; send again"))
	}
}

// failQueue refuses what waited for a room that could not be found.
func (l *roomLink) failQueue(ctx actor.Context) {
	queue := l.queue
	l.queue = nil
	for _, h := range queue {
		l.refuse(ctx, h.msg, "the public room is not reachable; send again")
	}
}

// refuse answers a message that cannot reach the room: a publish is
// refused to its sender; anything else is logged (its asker times out).
func (l *roomLink) refuse(ctx actor.Context, msg any, why string) {
	if p, ok := msg.(*chatpb.Publish); ok {
		if orig, ok := l.inflight[p.Seq]; ok {
			delete(l.inflight, p.Seq)
			ctx.Send(orig.ReplyTo, publishRefusal(orig, why))
		}
		return
	}
	l.deps.logger.Warn("cluster: the public room is not reachable; dropping", "message", messageName(msg))
}

func publishRefusal(p *chatpb.Publish, why string) *chatpb.Published {
	return &chatpb.Published{Ref: p.Ref, Key: p.Key, Session: p.Session,
		Code: chatpb.ErrorCode_ERROR_CODE_INTERNAL, Message: why}
}

// member records that a session of this node joined or left the room; a
// joining one gets its welcome here, and its user actor the Joined.
func (l *roomLink) member(ctx actor.Context, m *chatpb.RoomMember) {
	if m.Online {
		if old, ok := l.local[m.User]; ok && !samePID(old, m.Session) {
			ctx.Unwatch(old)
		}
		if m.Welcome != nil {
			ctx.Send(m.Session, m.Welcome)
		}
		l.local[m.User] = m.Session
		ctx.Watch(m.Session)
		if m.JoinedTo != nil {
			ctx.Send(m.JoinedTo, &chatpb.Joined{Session: m.Session})
		}
		return
	}
	if samePID(l.local[m.User], m.Session) {
		delete(l.local, m.User)
		ctx.Unwatch(m.Session)
	}
}

// messageName names a message's type for a log line.
func messageName(msg any) string { return fmt.Sprintf("%T", msg) }
