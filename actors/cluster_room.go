package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// The room as a cluster grain: the same room, still the one place where
// public messages are ordered and stamped, with its fan-out going through
// the room link of each node that has members (cluster_roomlink.go) rather
// than to each member's session. roomNodes is that difference; a room on
// one node has none (nil), and its methods do nothing on nil.

// roomNodes is the room grain's view of the nodes its members are on.
type roomNodes struct {
	count   map[string]int      // node address -> members whose session is there
	watched map[string]struct{} // node addresses whose room link the room watches
}

// newRoomGrain makes the room for the room grain kind.
func newRoomGrain(d *deps) actor.Actor {
	r := newRoom(d).(*room)
	r.nodes = &roomNodes{count: make(map[string]int), watched: make(map[string]struct{})}
	return r
}

// linkOf is the room link of the node a session is on.
func linkOf(session *actor.PID) *actor.PID {
	return actor.NewPID(session.Address, roomLinkName)
}

// joined records a member's session m.Session (replacing old, if set): its
// node's link fans out to it from now on, and for a Join (m.Welcome set)
// welcomes it and answers the user actor (see chatpb.RoomMember). It
// reports whether it did (false on one node: the room does it itself).
func (n *roomNodes) joined(ctx actor.Context, m *chatpb.RoomMember, old *actor.PID) bool {
	if n == nil {
		return false
	}
	if old != nil {
		n.left(ctx, m.User, old)
	}
	addr := m.Session.Address
	n.count[addr]++
	if _, ok := n.watched[addr]; !ok {
		n.watched[addr] = struct{}{}
		ctx.Watch(linkOf(m.Session))
	}
	m.Online = true
	ctx.Send(linkOf(m.Session), m)
	return true
}

// left records that a member's session is gone.
func (n *roomNodes) left(ctx actor.Context, user string, session *actor.PID) {
	if n == nil {
		return
	}
	if n.count[session.Address]--; n.count[session.Address] <= 0 {
		delete(n.count, session.Address)
	}
	ctx.Send(linkOf(session), &chatpb.RoomMember{User: user, Session: session, Online: false})
}

// broadcast sends msg once to each node with members, and reports whether
// it did (false on one node: the room fans out itself).
func (n *roomNodes) broadcast(ctx actor.Context, msg any) bool {
	if n == nil {
		return false
	}
	for addr := range n.count {
		ctx.Send(actor.NewPID(addr, roomLinkName), msg)
	}
	return true
}

// rejoin adds the members a node's link lists, without a welcome or a
// presence notice: they were members of the room before it came back here.
func (r *room) rejoin(ctx actor.Context, m *chatpb.RoomMembers) {
	for _, mb := range m.Members {
		old, ok := r.members[mb.User]
		if ok && samePID(old, mb.Session) {
			continue
		}
		if !ok {
			r.names.add(mb.User)
			old = nil
		}
		r.nodes.joined(ctx, &chatpb.RoomMember{User: mb.User, Session: mb.Session}, old)
		r.members[mb.User] = mb.Session
	}
}

// linkGone handles a watched room link that stopped: its node is gone, and
// with it every session there. Those members leave (presence included).
func (r *room) linkGone(ctx actor.Context, link *actor.PID) {
	if r.nodes == nil || link.Id != roomLinkName {
		return
	}
	delete(r.nodes.watched, link.Address)
	for name, s := range r.members {
		if s.Address == link.Address {
			r.leave(ctx, &chatpb.Leave{User: name, Session: s})
		}
	}
	delete(r.nodes.count, link.Address)
}
