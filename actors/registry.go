package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// registry is the registry actor: it maps user names to user-actor PIDs,
// spawns user actors, supervises them (it is their SupervisorStrategy) and
// remembers which names are known. It is on the path of a connection and of
// a user's first private message to each peer; after that, user actors
// cache their peers' PIDs and talk directly.
type registry struct {
	// set at construction
	deps   *deps
	budget restartBudget

	// owned by the actor
	users    map[string]*actor.PID // running user actors
	names    map[string]string     // user-actor PID id -> name
	stopping map[string][]held     // names whose actor is being stopped -> what waits for the next one
	known    map[string]struct{}   // every name that ever connected
}

// held is a message that waits, with its sender, for a name's next actor.
type held struct {
	msg    any
	sender *actor.PID
}

func newRegistry(d *deps) actor.Actor {
	return &registry{
		deps:   d,
		budget: restartBudget{limit: d.cfg.RestartLimit, window: d.cfg.RestartWindow},
		users:  make(map[string]*actor.PID), names: make(map[string]string),
		stopping: make(map[string][]held), known: make(map[string]struct{}),
	}
}

// Receive handles one message.
func (r *registry) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.load()
	case *chatpb.Connect:
		r.connect(ctx, m)
	case *chatpb.Route:
		r.route(ctx, m)
	case *chatpb.Disconnect:
		r.forward(ctx, m.User)
	case *actor.Terminated:
		r.terminated(ctx, m)
	}
}

// load restores the known names, so unknown_user survives restarts.
func (r *registry) load() {
	names, err := r.deps.store.Users()
	if err != nil {
		r.deps.logger.Error("registry: loading known users", "err", err)
		return
	}
	for _, n := range names {
		r.known[n] = struct{}{}
	}
}

// connect hands the request, sender included, to the user's actor.
func (r *registry) connect(ctx actor.Context, m *chatpb.Connect) {
	if _, ok := r.known[m.User]; !ok {
		r.known[m.User] = struct{}{}
		user := m.User
		r.deps.store.AddUser(user, func(err error) {
			if err != nil {
				r.deps.logger.Error("registry: storing a new user", "user", user, "err", err)
			}
		})
	}
	r.forward(ctx, m.User)
}

// route hands a private message to its recipient's actor, or refuses a
// name that never connected; either way the sender learns where it went.
func (r *registry) route(ctx actor.Context, m *chatpb.Route) {
	if _, ok := r.known[m.To]; !ok {
		ctx.Send(m.ReplyTo, &chatpb.Resolved{Name: m.To})
		ctx.Send(m.ReplyTo, &chatpb.Routed{
			Ref: m.Ref, Key: m.Key, To: m.To, Session: m.Session, Seq: m.Seq,
			Code: chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, Message: "no user " + m.To,
		})
		return
	}
	if pid := r.forward(ctx, m.To); pid != nil {
		ctx.Send(m.ReplyTo, &chatpb.Resolved{Name: m.To, Pid: pid})
		return
	}
	// Held for the next actor: Resolved follows when it exists.
}

// forward passes the current message, sender included, to name's actor,
// spawning it if needed, and returns that actor; or holds the message while
// the name's previous actor is being stopped, and returns nil.
func (r *registry) forward(ctx actor.Context, name string) *actor.PID {
	if q, ok := r.stopping[name]; ok {
		r.stopping[name] = append(q, held{msg: ctx.Message(), sender: ctx.Sender()})
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
	return pid
}

// terminated handles a stopped user actor: if messages wait for its
// successor, it is spawned now (from the store) and given them, in order.
func (r *registry) terminated(ctx actor.Context, m *actor.Terminated) {
	name, ok := r.names[m.Who.Id]
	if !ok {
		return
	}
	delete(r.names, m.Who.Id)
	waiting, wasStopping := r.stopping[name]
	delete(r.stopping, name)
	if !wasStopping {
		delete(r.users, name) // stopped without a failure (shutdown)
		return
	}
	if len(waiting) == 0 {
		return
	}
	pid := r.user(ctx, name)
	for _, h := range waiting {
		ctx.RequestWithCustomSender(pid, h.msg, h.sender)
		if rt, ok := h.msg.(*chatpb.Route); ok {
			ctx.Send(rt.ReplyTo, &chatpb.Resolved{Name: name, Pid: pid})
		}
	}
}
