package actors

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// remoteSends counts the messages this node's actors send to other nodes,
// by message type: what a public or private message costs in network
// crossings (Chat.RemoteSends). It is a sender middleware on the cluster's
// actors. What sessions send from the root context (a client's request to
// its user actor on another node: one message per request) is not
// counted: a middleware on the root context would also wrap what
// Proto.Actor's remote sends its endpoint writers from there, which then
// fail on the envelope.
type remoteSends struct {
	counts sync.Map // message name -> *atomic.Uint64
}

// middleware counts each send whose target is on another node.
func (r *remoteSends) middleware(next actor.SenderFunc) actor.SenderFunc {
	return func(c actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
		if target.Address != c.ActorSystem().Address() {
			r.add(env.Message)
		}
		next(c, target, env)
	}
}

func (r *remoteSends) add(msg any) {
	name := "other"
	if m, ok := msg.(proto.Message); ok {
		name = string(m.ProtoReflect().Descriptor().Name())
	}
	n, ok := r.counts.Load(name)
	if !ok {
		n, _ = r.counts.LoadOrStore(name, new(atomic.Uint64))
	}
	n.(*atomic.Uint64).Add(1)
}

// snapshot returns the counts so far.
func (r *remoteSends) snapshot() map[string]uint64 {
	out := map[string]uint64{}
	r.counts.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}

// RemoteSends returns how many messages of each type this node has sent to
// other nodes since it started (nil on one node): for /metrics, and for
// measuring what crosses the network per chat message.
func (c *Chat) RemoteSends() map[string]uint64 {
	if c.deps.node == nil {
		return nil
	}
	return c.deps.node.sends.snapshot()
}
