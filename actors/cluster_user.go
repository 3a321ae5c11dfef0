package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// userGrain is the user actor as a cluster grain: the same user, whose name
// is the grain's identity and whose cell (what outlives a restart) is kept
// by PID in deps.cells, since a grain is spawned by the cluster's
// placement actor, not by a registry that could give it one. Proto.Actor
// supervises it with its default strategy (restart, up to 10 times in 10 s,
// then stop), where the registry's budget does on one node.
type userGrain struct {
	// set at construction
	deps *deps

	// owned by the actor: set when the incarnation gets its first message
	user *user
}

// Receive hands every message to the user actor, making it first.
func (g *userGrain) Receive(ctx actor.Context) {
	if g.user == nil {
		name := cluster.GetClusterIdentity(ctx).Identity
		g.user = newUser(g.deps, name, g.deps.cells.get(ctx.Self().Id)).(*user)
	}
	g.user.Receive(ctx)
	if _, ok := ctx.Message().(*actor.Stopped); ok {
		g.deps.cells.drop(ctx.Self().Id)
	}
}

// cells keeps the userCell of each user grain running on this node, by
// PID id, so that a restarted incarnation finds its predecessor's.
type cells struct {
	mu sync.Mutex // guards m
	m  map[string]*userCell
}

// get returns the cell for a grain, making it on its first start.
func (c *cells) get(id string) *userCell {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cell, ok := c.m[id]; ok {
		return cell
	}
	cell := &userCell{}
	put(&c.m, id, cell)
	return cell
}

// drop forgets a grain that stopped.
func (c *cells) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
