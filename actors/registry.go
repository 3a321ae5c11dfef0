package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// registry is the registry actor: it maps user names to user-actor PIDs,
// spawns user actors (it is their supervisor, see supervision.go) and
// remembers which names are known. It is on the path of a connection and of
// a user's first private message to each peer; after that, user actors
// cache their peers' PIDs and talk directly.
type registry struct {
	// set at construction
	deps *deps

	// owned by the actor
	users map[string]*actor.PID // running user actors
	known map[string]struct{}   // every name that ever connected
}

func newRegistry(d *deps) actor.Actor {
	return &registry{deps: d, users: make(map[string]*actor.PID), known: make(map[string]struct{})}
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
	case *actor.Terminated:
		r.terminated(m)
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
	ctx.Forward(r.user(ctx, m.User))
}

// route hands a private message to its recipient's actor, or refuses a
// name that never connected.
func (r *registry) route(ctx actor.Context, m *chatpb.Route) {
	if _, ok := r.known[m.To]; !ok {
		ctx.Send(m.ReplyTo, &chatpb.Routed{
			Ref: m.Ref, Key: m.Key, To: m.To, Session: m.Session,
			Code: chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, Message: "no user " + m.To,
		})
		return
	}
	ctx.Send(r.user(ctx, m.To), m)
}

// user returns the running actor for a name, spawning it if needed.
func (r *registry) user(ctx actor.Context, name string) *actor.PID {
	if pid, ok := r.users[name]; ok {
		return pid
	}
	cell := &userCell{}
	props := actor.PropsFromProducer(func() actor.Actor { return newUser(r.deps, name, cell) })
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil { // the name is taken only if a stopped actor is not yet gone
		pid = ctx.Spawn(props)
	}
	r.users[name] = pid
	return pid
}

// terminated forgets a user actor that stopped (its supervisor gave up);
// the next message for the name spawns a fresh one from the store.
func (r *registry) terminated(m *actor.Terminated) {
	for name, pid := range r.users {
		if pid.Equal(m.Who) {
			delete(r.users, name)
			return
		}
	}
}
