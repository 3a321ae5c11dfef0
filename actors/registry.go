package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// registry is the registry actor: it maps the names of running user actors
// to their PIDs, spawns user actors and supervises them (it is their
// SupervisorStrategy). It is on the path of a connection and of a user's
// first private message to each peer; after that, user actors cache their
// peers' PIDs and talk directly. It keeps nothing for a name without a
// running actor: whether a name is known is the store's to say, and the
// name's actor reads it when it starts.
type registry struct {
	// set at construction
	deps   *deps
	budget restartBudget

	// owned by the actor
	users   map[string]*actor.PID // running user actors
	names   map[string]string     // user-actor PID id -> name
	holding map[string][]held     // names whose actor stops or may stop -> what waits for it
	peak    int                   // the most running user actors since the maps were last made
}

// held is a message that waits, with its sender, until the registry knows
// which actor gets it.
type held struct {
	msg    any
	sender *actor.PID
}

func newRegistry(d *deps) actor.Actor {
	return &registry{
		deps:   d,
		budget: restartBudget{limit: d.cfg.RestartLimit, window: d.cfg.RestartWindow},
		users:  make(map[string]*actor.PID), names: make(map[string]string),
		holding: make(map[string][]held),
	}
}

// Receive handles one message.
func (r *registry) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *chatpb.Connect:
		r.forward(ctx, m.User)
	case *chatpb.Route:
		r.route(ctx, m)
	case *chatpb.Disconnect:
		r.disconnect(ctx, m)
	case *chatpb.Revoke:
		r.revoke(ctx, m)
	case *chatpb.Passivate:
		r.passivate(ctx, m)
	case *chatpb.Stay:
		r.stay(ctx, m)
	case *actor.Terminated:
		r.terminated(ctx, m)
	}
}

// route hands a private message to its recipient's actor, spawning it if
// needed (an actor for a name the store does not know refuses it), and
// tells the sender where it went.
func (r *registry) route(ctx actor.Context, m *chatpb.Route) {
	if pid := r.forward(ctx, m.To); pid != nil {
		ctx.Send(m.ReplyTo, &chatpb.Resolved{Name: m.To, Pid: pid})
	}
	// Held for the next actor: Resolved follows when it gets the route.
}

// disconnect hands a Disconnect to the user's actor. Without one there is
// nothing to undo (an actor that passivated had no session), and spawning
// one would only cost.
func (r *registry) disconnect(ctx actor.Context, m *chatpb.Disconnect) {
	_, live := r.users[m.User]
	if _, waits := r.holding[m.User]; live || waits {
		r.forward(ctx, m.User)
	}
}

// revoke hands a Revoke to the user's actor. Without one the user has no
// session to end, and a fresh actor would have none either.
func (r *registry) revoke(ctx actor.Context, m *chatpb.Revoke) {
	_, live := r.users[m.User]
	if _, waits := r.holding[m.User]; live || waits {
		r.forward(ctx, m.User)
	}
}

// forward passes the current message, sender included, to name's actor,
// spawning it if needed, and returns that actor; or holds the message while
// the name's actor stops or may stop, and returns nil.
func (r *registry) forward(ctx actor.Context, name string) *actor.PID {
	if q, ok := r.holding[name]; ok {
		r.holding[name] = append(q, held{msg: ctx.Message(), sender: ctx.Sender()})
		return nil
	}
	pid := r.user(ctx, name)
	ctx.Forward(pid)
	return pid
}

// user returns the running actor for a name, spawning it if needed.
func (r *registry) user(ctx actor.Context, name string) *actor.PID {
	if pid, ok := r.users[name]; ok {
		return pid
	}
	cell := &userCell{}
	props := actor.PropsFromProducer(func() actor.Actor { return newUser(r.deps, name, cell) }, r.deps.dispatch)
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil { // cannot happen: a name's actor is respawned only once the old one is gone
		r.deps.logger.Error("registry: spawning a user actor", "user", name, "err", err)
		pid = ctx.Spawn(props)
	}
	r.users[name], r.names[pid.Id] = pid, name
	r.peak = max(r.peak, len(r.users))
	return pid
}

// compactAt is the fewest running user actors at which compact may copy the
// maps: below it, what the maps keep is too little to matter.
const compactAt = 1024

// compact replaces the registry's maps with right-sized copies once they
// hold a quarter of their peak of running actors: Go maps never give back
// the room they grew to, and after a wave of users has passivated that room
// would be a cost of users who are gone, about 100 bytes each
// (BenchmarkOfflineUsers). Copying len entries when len has fallen to a
// quarter of the peak costs O(1) per stopped actor, amortized.
func (r *registry) compact() {
	if r.peak < compactAt || len(r.users) > r.peak/4 {
		return
	}
	r.users, r.names, r.holding = resized(r.users), resized(r.names), resized(r.holding)
	r.peak = len(r.users)
}

// resized returns a copy of m made for its current size. (maps.Clone keeps
// the room m grew to.)
func resized[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// hold starts holding back what arrives for name, unless it does already.
func (r *registry) hold(name string) {
	if _, ok := r.holding[name]; !ok {
		r.holding[name] = nil
	}
}

// passivate answers an idle user actor's request to stop (user_passivate.go):
// from now on what arrives for the name is held, and Holding tells the actor
// so, behind everything forwarded to it before. A request from an actor
// that is being stopped already, or during a round under way, is ignored:
// one round per name at a time.
func (r *registry) passivate(ctx actor.Context, m *chatpb.Passivate) {
	pid, live := r.users[m.User]
	if _, busy := r.holding[m.User]; !live || busy || !samePID(pid, m.Pid) {
		return
	}
	r.hold(m.User)
	ctx.Send(pid, &chatpb.Holding{})
}

// stay ends a passivation round in which the actor did not stop: it gets
// what was held, in order. If its supervisor stopped it meanwhile, the
// messages stay held for the next actor.
func (r *registry) stay(ctx actor.Context, m *chatpb.Stay) {
	pid, live := r.users[m.User]
	waiting, waits := r.holding[m.User]
	if !live || !waits || !samePID(pid, m.Pid) {
		return
	}
	delete(r.holding, m.User)
	r.release(ctx, m.User, pid, waiting)
}

// terminated handles a stopped user actor (passivated, given up on by its
// supervisor, or at shutdown): the name has no actor any more, unless
// messages wait for one; then a fresh one is spawned now (from the store)
// and given them, in order.
func (r *registry) terminated(ctx actor.Context, m *actor.Terminated) {
	name, ok := r.names[m.Who.Id]
	if !ok {
		return
	}
	delete(r.names, m.Who.Id)
	delete(r.users, name)
	waiting := r.holding[name]
	delete(r.holding, name)
	if len(waiting) > 0 {
		r.release(ctx, name, r.user(ctx, name), waiting)
	}
	r.compact()
}

// release hands held messages, senders included, to pid in the order they
// came, and tells the sender of each held route where it went.
func (r *registry) release(ctx actor.Context, name string, pid *actor.PID, waiting []held) {
	for _, h := range waiting {
		ctx.RequestWithCustomSender(pid, h.msg, h.sender)
		if rt, ok := h.msg.(*chatpb.Route); ok {
			ctx.Send(rt.ReplyTo, &chatpb.Resolved{Name: name, Pid: pid})
		}
	}
}
