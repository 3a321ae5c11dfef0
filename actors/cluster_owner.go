package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// ownedGrain wraps a grain so that it runs only on the node the identity
// lookup places it on, by this node's member list.
//
// Why: Proto.Actor's distributed-hash lookup asks the owner of an identity,
// by the asking node's member list, to activate it, and the owner's
// placement actor activates whatever it is asked for. While member lists
// differ (a node joined or left and not every node has seen it yet), a
// node with a stale list can have a grain activated on a node that, by its
// own, newer list, does not own it; the placement actor moves grains only
// when its own list changes, so that activation stays. Two rooms then
// each order and fan out part of the public chat, and two actors for one
// user each hold part of the user's sessions. A grain that starts where
// this node's list says it does not belong stops at once: whoever holds
// its PID sees it stop (Terminated, or a dead letter) and looks it up
// again, which lands on the owner once the lists agree.
type ownedGrain struct {
	node  *clusterNode
	inner actor.Actor
}

// owned makes a producer of grains that check their placement.
func (n *clusterNode) owned(grain func() actor.Actor) actor.Producer {
	return func() actor.Actor { return &ownedGrain{node: n, inner: grain()} }
}

// Receive checks the placement on Started, then hands every message to the
// grain; one that stops here still sees its Started, then its Stopping.
func (g *ownedGrain) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		g.checkPlacement(ctx)
	}
	g.inner.Receive(ctx)
}

// checkPlacement stops the grain when this node does not own it.
func (g *ownedGrain) checkPlacement(ctx actor.Context) {
	ci := cluster.GetClusterIdentity(ctx)
	if ci == nil || g.node.member.owns(ci, ctx.ActorSystem().Address()) {
		return
	}
	g.node.logger.Info("cluster: a grain was activated on a node that does not own it (member lists differ); stopping it",
		"kind", ci.Kind, "identity", ci.Identity)
	ctx.Stop(ctx.Self())
}

// setOwners makes the placement owns answers from: the same hash over the
// same members as the identity lookup's. m.mu held.
func (m *etcdMember) setOwners(members cluster.Members) {
	rdv := cluster.NewRendezvous()
	rdv.UpdateMembers(members)
	m.owners = rdv
}

// owns reports whether, by the last member list, self is the address the
// identity lookup places ci on. Before the first list, it does not know,
// and says yes.
func (m *etcdMember) owns(ci *cluster.ClusterIdentity, self string) bool {
	m.mu.Lock()
	owners := m.owners
	m.mu.Unlock()
	return owners == nil || owners.GetByClusterIdentity(ci) == self
}
