package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/actorchat/chat/proto/chatpb"
)

// Cluster mode: the same actors as on one node, as the members of a
// Proto.Actor cluster (see doc.go, "Cluster"). This file starts a node and
// holds what Chat does differently there; cluster_*.go are the pieces.

// ClusterConfig turns cluster mode on (Config.Cluster). Every node of one
// cluster has the same Name and Etcd, and shares one PostgreSQL store.
type ClusterConfig struct {
	// Name is the cluster's name: nodes with the same name in the same
	// etcd form one cluster.
	Name string
	// Addr is the node's remote address, host:port, which the other nodes
	// dial (gRPC). Port 0 picks a free one.
	Addr string
	// Etcd lists the etcd endpoints (host:port) that keep the member list.
	Etcd []string
	// EtcdTimeout bounds reaching etcd when the node starts, and each
	// health look at it. Default 5 s.
	EtcdTimeout time.Duration
	// ResolveTimeout bounds finding a grain (a user's or the room's) while
	// members come and go, before what waits for it is refused. Default
	// 20 s: longer than a dead member's lease (3 s) and the topology
	// change that follows.
	ResolveTimeout time.Duration
}

// The grain kinds, and the room's identity.
const (
	userKind = "user"
	roomKind = "room"
	roomName = "public"
)

// clusterNode is what a Chat in cluster mode has besides the actors: the
// Proto.Actor cluster and its membership in etcd.
type clusterNode struct {
	// set at construction
	cfg     ClusterConfig
	cluster *cluster.Cluster
	member  *etcdMember
	logger  *slog.Logger
	sends   remoteSends // messages sent to other nodes (cluster_metrics.go)
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	setDefault(&c.EtcdTimeout, 5*time.Second)
	setDefault(&c.ResolveTimeout, 20*time.Second)
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	return c
}

// startCluster makes system a cluster member with the user and room kinds,
// and spawns this node's router (in the registry's place) and room link
// (in the room's). The node is in the member list when it returns.
func startCluster(system *actor.ActorSystem, d *deps) (*clusterNode, error) {
	ccfg := d.cfg.Cluster.withDefaults()
	d.cfg.Cluster = &ccfg
	host, port, err := splitAddr(ccfg.Addr)
	if err != nil {
		return nil, err
	}
	member, err := newEtcdMember(ccfg, d.logger)
	if err != nil {
		return nil, err
	}
	n := &clusterNode{cfg: ccfg, member: member, logger: d.logger}
	counted := actor.WithSenderMiddleware(n.sends.middleware)
	d.dispatch = chainProps(d.dispatch, counted)
	conf := cluster.Configure(ccfg.Name, member, disthash.New(), remote.Configure(host, port),
		cluster.WithKinds(n.kinds(d)...), cluster.WithRequestTimeout(d.cfg.AskTimeout))
	n.cluster = cluster.New(system, conf)
	member.watchTopology(system)
	if err := n.startMember(); err != nil {
		member.close()
		return nil, err
	}
	d.node = n
	if err := n.spawnLocal(system, d); err != nil {
		return nil, errors.Join(err, n.stop(d))
	}
	return n, nil
}

// kinds are the grains: a user actor per name, and the one public room.
func (n *clusterNode) kinds(d *deps) []*cluster.Kind {
	user := actor.PropsFromProducer(n.owned(func() actor.Actor { return &userGrain{deps: d} }), d.dispatch)
	room := actor.PropsFromProducer(n.owned(func() actor.Actor { return newRoomGrain(d) }), d.dispatch)
	return []*cluster.Kind{cluster.NewKind(userKind, user), cluster.NewKind(roomKind, room)}
}

// chainProps is one props option that applies each of opts.
func chainProps(opts ...actor.PropsOption) actor.PropsOption {
	return func(p *actor.Props) {
		for _, o := range opts {
			o(p)
		}
	}
}

// startMember starts remote and joins the member list. Proto.Actor panics
// on what it cannot do there (a port taken, etcd gone); that is an error
// here.
func (n *clusterNode) startMember() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("actors: starting the cluster member: %v", r)
		}
	}()
	if err := n.member.reachable(); err != nil {
		return err
	}
	n.cluster.StartMember()
	n.logger.Info("cluster: member started", "cluster", n.cfg.Name, "addr", n.cluster.ActorSystem.Address(),
		"etcd", n.cfg.Etcd)
	return nil
}

// spawnLocal spawns this node's router and room link: the router stands
// where the registry does on one node, the link where the room does.
func (n *clusterNode) spawnLocal(system *actor.ActorSystem, d *deps) error {
	var err error
	routerProps := actor.PropsFromProducer(func() actor.Actor { return newRouter(d) }, d.dispatch)
	if d.registry, err = system.Root.SpawnNamed(routerProps, "registry"); err != nil {
		return fmt.Errorf("actors: spawning the router: %w", err)
	}
	linkProps := actor.PropsFromProducer(func() actor.Actor { return newRoomLink(d) }, d.dispatch)
	if d.room, err = system.Root.SpawnNamed(linkProps, roomLinkName); err != nil {
		return fmt.Errorf("actors: spawning the room link: %w", err)
	}
	return nil
}

// connect is Chat.ConnectWithToken on a cluster: the user's grain, on
// whichever node it lives, gets the Connect. A grain that stopped (it
// passivated) between being found and being asked is found again.
func (n *clusterNode) connect(root *actor.RootContext, ask time.Duration, m *chatpb.Connect) (*actor.PID, error) {
	until := time.Now().Add(n.cfg.ResolveTimeout)
	for {
		pid := n.resolve(userKind, m.User, until)
		if pid == nil {
			return nil, fmt.Errorf("actors: connecting %q: no cluster member has its actor", m.User)
		}
		res, err := root.RequestFuture(pid, m, ask).Result()
		if errors.Is(err, actor.ErrDeadLetter) && time.Now().Before(until) {
			time.Sleep(connectRetryPause) // see connectRetryPause
			continue
		}
		if err != nil {
			root.Send(pid, &chatpb.Disconnect{Session: m.Session, User: m.User}) // undo a late attach
			return nil, fmt.Errorf("actors: connecting %q: %w", m.User, err)
		}
		conn, ok := res.(*chatpb.Connected)
		if !ok {
			return nil, fmt.Errorf("actors: connecting %q: unexpected answer %T", m.User, res)
		}
		return conn.User, nil
	}
}

// connectRetryPause is how long connect waits before looking again for a
// user's grain that was gone when asked: it passivated, or it was placed
// by a stale member list and stopped at once (cluster_owner.go), in which
// case asking again at once would only repeat that until the lists agree.
const connectRetryPause = 20 * time.Millisecond

// resolve finds the grain kind/name, activating it if needed, trying again
// with backoff until until: while members come and go, the identity lookup
// may name a member that is gone, and answer nothing. It blocks, so it is
// for the edge and for goroutines of its own, never for an actor's
// Receive. Nil when until passed first.
func (n *clusterNode) resolve(kind, name string, until time.Time) *actor.PID {
	wait := 20 * time.Millisecond
	for {
		if pid := n.cluster.Get(name, kind); pid != nil {
			return pid
		}
		if time.Now().Add(wait).After(until) {
			return nil
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}

// ready reports whether this node can serve: etcd answers and the node is
// in its own member list (etcdMember.healthy).
func (n *clusterNode) ready(ctx context.Context) error {
	return n.member.healthy(ctx)
}

// stop leaves the cluster: the member list first, so that the others stop
// placing grains here; then the grains (each finishes its mailbox, and a
// user's ends its session: its client reconnects to the grain's next
// home), this node's router and room link, remote and the actor system.
// Proto.Actor's Cluster.Shutdown does much the same, but sleeps, stops the
// placement actor twice and waits up to 10 s for the other nodes' streams
// to close: 20 s in all where this takes well under one.
func (n *clusterNode) stop(d *deps) error {
	err := n.member.Shutdown(true)
	system := n.cluster.ActorSystem
	root := system.Root
	placement := system.NewLocalPID(disthash.PartitionActivatorActorName)
	for _, pid := range []*actor.PID{placement, d.registry, d.room} {
		if pid != nil {
			_ = root.PoisonFuture(pid).Wait()
		}
	}
	n.cluster.Remote.Shutdown(false)
	system.Shutdown()
	n.member.close()
	return err
}

// splitAddr splits a node's remote address into host and port.
func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("actors: cluster address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("actors: cluster address %q: bad port", addr)
	}
	if host == "" {
		return "", 0, fmt.Errorf("actors: cluster address %q: the other nodes need a host to dial", addr)
	}
	return host, port, nil
}
