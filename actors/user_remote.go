package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// A session on another node. In a cluster a user actor may live on one
// node and its session on another; that node can die without its session
// saying goodbye (the Disconnect is never sent). So the actor watches a
// session that is not local, and a Terminated for the current session is
// handled as its Disconnect. A local session always sends its Disconnect,
// and on one node every session is local: nothing changes there.

// watchSession watches session when it is on another node.
func (u *user) watchSession(ctx actor.Context, session *actor.PID) {
	if session.Address != ctx.Self().Address {
		ctx.Watch(session)
	}
}

// terminated handles a watched PID that stopped: the current session
// (its node died, or it ended), or a peer's actor (peerStopped).
func (u *user) terminated(ctx actor.Context, who *actor.PID) {
	if samePID(who, u.cell.session) {
		u.disconnect(ctx, &chatpb.Disconnect{Session: who})
		return
	}
	u.peerStopped(ctx, who)
}
