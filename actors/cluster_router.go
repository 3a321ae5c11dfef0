package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// router stands in the registry's place on a cluster node: user actors send
// it what they would send the registry (a route to a peer whose PID they do
// not know yet, a Passivate), and Chat sends it Revoke and the Disconnect
// that undoes a timed-out Connect. Names are placed by the cluster's
// identity lookup, not by the router, so it keeps no map: it finds the
// name's grain (on a goroutine of its own: finding one may wait for a
// remote member) and hands it what waited, in order. Messages for a name
// arrive in order, and leave in that order, which keeps one sender's
// private messages to one recipient in order, as the registry does.
type router struct {
	// set at construction
	deps *deps

	// owned by the actor
	waiting map[string][]held // names being looked up -> what waits for them, in order
}

// grainFound is posted to the router once a name's grain is found (pid),
// or was not found in time (nil).
type grainFound struct {
	name string
	pid  *actor.PID
}

func newRouter(d *deps) actor.Actor {
	return &router{deps: d, waiting: make(map[string][]held)}
}

// Receive handles one message.
func (r *router) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *chatpb.Route:
		r.hold(ctx, m.To)
	case *chatpb.Disconnect:
		r.hold(ctx, m.User)
	case *chatpb.Revoke:
		r.hold(ctx, m.User)
	case *chatpb.Passivate:
		// Nothing is forwarded but through this router, which forwards
		// in order: the grain has what came before, and may stop.
		ctx.Send(m.Pid, &chatpb.Holding{})
	case *grainFound:
		r.found(ctx, m)
	}
}

// hold queues the current message for name, and starts looking the name's
// grain up unless that is under way.
func (r *router) hold(ctx actor.Context, name string) {
	q, busy := r.waiting[name]
	r.waiting[name] = append(q, held{msg: ctx.Message(), sender: ctx.Sender()})
	if busy {
		return
	}
	self, root, node := ctx.Self(), ctx.ActorSystem().Root, r.deps.node
	until := time.Now().Add(node.cfg.ResolveTimeout)
	go func() {
		root.Send(self, &grainFound{name: name, pid: node.resolve(userKind, name, until)})
	}()
}

// found hands what waited for a name to its grain, in order, and tells the
// sender of each route where it went; or, when no grain was found in time,
// refuses the routes (never a silent drop).
func (r *router) found(ctx actor.Context, f *grainFound) {
	waiting := r.waiting[f.name]
	delete(r.waiting, f.name)
	for _, h := range waiting {
		rt, isRoute := h.msg.(*chatpb.Route)
		switch {
		case f.pid != nil:
			ctx.RequestWithCustomSender(f.pid, h.msg, h.sender)
		case isRoute:
			ctx.Send(rt.ReplyTo, routedRefusal(rt, chatpb.ErrorCode_ERROR_CODE_INTERNAL,
				"could not reach "+rt.To+"'s actor in the cluster; send again"))
		default:
			r.deps.logger.Warn("cluster: no member has the user's actor; dropping", "user", f.name,
				"message", messageName(h.msg))
		}
		if isRoute {
			ctx.Send(rt.ReplyTo, &chatpb.Resolved{Name: f.name, Pid: f.pid})
		}
	}
}
