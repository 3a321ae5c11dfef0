package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdMember is the node's membership: Proto.Actor's etcd cluster provider,
// wrapped to watch its health and to work around a bug in it.
//
// The bug (this version of Proto.Actor, an open upstream issue): when etcd
// has been out of reach for longer than the provider's lease (3 s), the
// lease expires and etcd deletes the node's key. Every node's provider sees
// the deletion; the others drop the node from their member lists, and
// Proto.Actor's member list blocks a member that left, by id, for good. The
// node's own provider drops itself as well, and ignores its own key when it
// puts it back with a new lease. So the node renews its lease but is never
// a member again, neither in its own list nor in anyone else's.
//
// The workaround: when the node is missing from its own member list while
// etcd answers, it leaves with that provider and joins again with a new
// one, under a new member id (the actor system's id with a generation
// number), which nobody has blocked. The address stays, so the PIDs of its
// actors and sessions stay valid; the others see a member leave and
// another join, and move grains accordingly.
type etcdMember struct {
	// set at construction
	cfg    ClusterConfig
	logger *slog.Logger
	client *clientv3.Client // our own, for health checks

	mu       sync.Mutex // guards the fields below
	provider *etcd.Provider
	cluster  *cluster.Cluster
	gen      int                 // the provider's generation: 1, then 1 per rejoin
	selfID   string              // this node's member id in the current generation
	members  []string            // member ids of the last topology
	owners   *cluster.Rendezvous // places identities by the last topology; nil before the first
	missing  time.Time           // since when selfID is not among members; zero if it is
	down     error               // the last health check's etcd error, if any
	stop     chan struct{}
	stopped  bool
}

var _ cluster.ClusterProvider = (*etcdMember)(nil)

// rejoinAfter is how long the node may be missing from its own member
// list, with etcd answering, before it joins again: longer than a topology
// change takes to settle after a start.
const rejoinAfter = 3 * time.Second

// healthEvery is how often the node looks at etcd and at its membership.
const healthEvery = time.Second

func newEtcdMember(cfg ClusterConfig, logger *slog.Logger) (*etcdMember, error) {
	if len(cfg.Etcd) == 0 {
		return nil, errors.New("actors: cluster mode needs etcd endpoints")
	}
	client, err := clientv3.New(etcdConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("actors: etcd client: %w", err)
	}
	return &etcdMember{cfg: cfg, logger: logger, client: client, stop: make(chan struct{})}, nil
}

// etcdConfig configures an etcd client. Its own logger is off: it logs
// every retry as JSON to stderr while etcd is away, which the node's health
// watch reports once, in the server's log.
func etcdConfig(cfg ClusterConfig) clientv3.Config {
	return clientv3.Config{Endpoints: cfg.Etcd, DialTimeout: cfg.EtcdTimeout, Logger: zap.NewNop()}
}

// reachable fails when etcd does not answer within the start timeout, so
// that a node started without etcd says so instead of waiting forever.
func (m *etcdMember) reachable() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.EtcdTimeout)
	defer cancel()
	if _, err := m.client.Get(ctx, "/protoactor", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("actors: etcd %v does not answer: %w", m.cfg.Etcd, err)
	}
	return nil
}

// StartMember joins the member list with a first provider and starts the
// health watch.
func (m *etcdMember) StartMember(c *cluster.Cluster) error {
	m.mu.Lock()
	m.cluster = c
	m.mu.Unlock()
	if err := m.join(); err != nil {
		return err
	}
	go m.watch()
	return nil
}

// StartClient is not used: every node is a member.
func (m *etcdMember) StartClient(*cluster.Cluster) error {
	return errors.New("actors: chat nodes are cluster members, not clients")
}

// Shutdown leaves the member list, waiting for etcd at most EtcdTimeout:
// the provider's own leaving waits for etcd without a deadline, and with
// etcd away the lease runs out by itself soon after.
func (m *etcdMember) Shutdown(graceful bool) error {
	m.mu.Lock()
	p := m.provider
	if !m.stopped {
		m.stopped = true
		close(m.stop)
	}
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	return m.bounded(func() error { return p.Shutdown(graceful) })
}

// bounded runs leave on a goroutine and waits for it at most EtcdTimeout.
func (m *etcdMember) bounded(leave func() error) error {
	done := make(chan error, 1)
	go func() { done <- leave() }()
	select {
	case err := <-done:
		return err
	case <-time.After(m.cfg.EtcdTimeout):
		return fmt.Errorf("actors: leaving the member list: etcd %v did not answer", m.cfg.Etcd)
	}
}

// close releases the health client; after Shutdown.
func (m *etcdMember) close() {
	_ = m.Shutdown(true)
	_ = m.client.Close()
}

// join starts a provider of the next generation under its own member id.
func (m *etcdMember) join() error {
	m.mu.Lock()
	m.gen++
	view, id := m.view()
	m.selfID, m.missing = m.cfg.Name+"@"+id, time.Time{}
	m.mu.Unlock()
	p, err := etcd.NewWithConfig("/protoactor", etcdConfig(m.cfg))
	if err != nil {
		return fmt.Errorf("actors: etcd provider: %w", err)
	}
	if err := p.StartMember(view); err != nil {
		return fmt.Errorf("actors: joining the cluster: %w", err)
	}
	m.mu.Lock()
	m.provider = p
	m.mu.Unlock()
	return nil
}

// view is the cluster as the provider of the current generation sees it:
// the same cluster, whose actor system has the generation's id (the
// provider names the member after it). Everything else is shared. m.mu
// held.
func (m *etcdMember) view() (*cluster.Cluster, string) {
	if m.gen == 1 {
		return m.cluster, m.cluster.ActorSystem.ID
	}
	sys := *m.cluster.ActorSystem
	sys.ID = m.cluster.ActorSystem.ID + "." + strconv.Itoa(m.gen)
	view := *m.cluster
	view.ActorSystem = &sys
	return &view, sys.ID
}

// watchTopology records and logs each member list the cluster publishes.
func (m *etcdMember) watchTopology(system *actor.ActorSystem) {
	system.EventStream.Subscribe(func(evt any) {
		t, ok := evt.(*cluster.ClusterTopology)
		if !ok {
			return
		}
		ids := make([]string, 0, len(t.Members))
		for _, mb := range t.Members {
			ids = append(ids, mb.Id)
		}
		m.mu.Lock()
		m.members = ids
		m.setOwners(t.Members)
		self := m.inList()
		m.mu.Unlock()
		m.logger.Info("cluster: member list", "members", len(ids), "joined", len(t.Joined), "left", len(t.Left),
			"self", self)
	})
}

// watch looks at etcd and at the membership every healthEvery, logs what
// changes, and rejoins when the node has dropped out.
func (m *etcdMember) watch() {
	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.check()
		}
	}
}

// pingTimeout bounds one health check's look at etcd.
const pingTimeout = 2 * time.Second

// check is one look: etcd's health, then the membership.
func (m *etcdMember) check() {
	ctx, cancel := context.WithTimeout(context.Background(), min(pingTimeout, m.cfg.EtcdTimeout))
	defer cancel()
	err := m.ping(ctx)
	m.mu.Lock()
	was := m.down
	m.down = err
	dropped := err == nil && m.droppedOut(time.Now())
	m.mu.Unlock()
	switch {
	case err != nil && was == nil:
		m.logger.Warn("cluster: etcd does not answer; the member list cannot change meanwhile", "etcd", m.cfg.Etcd, "err", err)
	case err == nil && was != nil:
		m.logger.Info("cluster: etcd answers again", "etcd", m.cfg.Etcd)
	}
	if dropped {
		m.rejoin()
	}
}

func (m *etcdMember) ping(ctx context.Context) error {
	_, err := m.client.Get(ctx, "/protoactor", clientv3.WithCountOnly())
	return err
}

// droppedOut reports whether the node has been missing from its own member
// list for rejoinAfter. m.mu held.
func (m *etcdMember) droppedOut(now time.Time) bool {
	if m.inList() {
		m.missing = time.Time{}
		return false
	}
	if m.missing.IsZero() {
		m.missing = now
	}
	return now.Sub(m.missing) >= rejoinAfter
}

// inList reports whether the current member id is in the last member
// list. m.mu held.
func (m *etcdMember) inList() bool {
	for _, id := range m.members {
		if id == m.selfID {
			return true
		}
	}
	return false
}

// rejoin leaves with the current provider and joins with a new one.
func (m *etcdMember) rejoin() {
	m.mu.Lock()
	old, was := m.provider, m.selfID
	m.mu.Unlock()
	m.logger.Warn("cluster: this node dropped out of the member list (its etcd lease expired); joining again",
		"member", was)
	if old != nil {
		if err := m.bounded(func() error { return old.Shutdown(false) }); err != nil {
			m.logger.Warn("cluster: leaving with the old membership", "err", err)
		}
	}
	if err := m.join(); err != nil {
		m.logger.Error("cluster: joining again", "err", err)
		return
	}
	m.mu.Lock()
	now := m.selfID
	m.mu.Unlock()
	m.logger.Info("cluster: joined again", "member", now)
}

// healthy is the node's readiness: etcd answered the last health check,
// and the node is in its own member list. It does not wait for etcd: a
// probe is answered from what the health watch saw at most healthEvery
// plus pingTimeout ago.
func (m *etcdMember) healthy(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return fmt.Errorf("etcd unavailable: %w", m.down)
	}
	if !m.inList() {
		return errors.New("not in the cluster's member list (joining)")
	}
	return nil
}
