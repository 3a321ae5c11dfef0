package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchat/chat/actors"
)

// Cluster mode: -cluster NAME -cluster-addr HOST:PORT -etcd ENDPOINTS makes
// this server one node of a Proto.Actor cluster; see the README, "Running
// a cluster", and actors/doc.go, "Cluster".

// clusterOptions are the cluster flags.
type clusterOptions struct {
	name string // -cluster: empty is one node
	addr string // -cluster-addr
	etcd string // -etcd, comma-separated
}

func (c *clusterOptions) define(e *envFlags) {
	e.str(&c.name, "cluster", "", "run as a node of the cluster of this name (needs -store postgres, shared by all nodes, and -etcd)")
	e.str(&c.addr, "cluster-addr", "127.0.0.1:0", "this node's address for the other nodes (gRPC), host:port; port 0 picks one")
	e.str(&c.etcd, "etcd", "127.0.0.1:2379", "comma-separated etcd endpoints that keep the cluster's member list")
}

// validate refuses cluster mode without a store the nodes can share.
func (c clusterOptions) validate(storeKind string) error {
	switch {
	case c.name == "":
		return nil
	case storeKind != "postgres":
		return fmt.Errorf("-cluster needs -store postgres: a %s store belongs to one node", storeKind)
	case len(c.endpoints()) == 0:
		return errors.New("-cluster needs -etcd endpoints")
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("-cluster-addr: %w", err)
	}
	if host == "" {
		return fmt.Errorf("-cluster-addr %q: give the host the other nodes reach this one at", c.addr)
	}
	return nil
}

// config is the actors' cluster configuration, nil without -cluster.
func (c clusterOptions) config() *actors.ClusterConfig {
	if c.name == "" {
		return nil
	}
	return &actors.ClusterConfig{Name: c.name, Addr: c.addr, Etcd: c.endpoints()}
}

func (c clusterOptions) endpoints() []string {
	var out []string
	for _, e := range strings.Split(c.etcd, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// allReady is /readyz's check: every check that is set passes.
func allReady(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if c == nil {
				continue
			}
			if err := c(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// remoteSendsCollector exports actors.Chat.RemoteSends as
// chat_cluster_remote_sends_total{message}: what crosses the network, by
// actor message type.
type remoteSendsCollector struct{ chat *actors.Chat }

var remoteSendsDesc = prometheus.NewDesc("chat_cluster_remote_sends_total",
	"Actor messages this node sent to other cluster nodes, by message type.", []string{"message"}, nil)

// Describe implements prometheus.Collector.
func (c remoteSendsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- remoteSendsDesc }

// Collect implements prometheus.Collector.
func (c remoteSendsCollector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range c.chat.RemoteSends() {
		ch <- prometheus.MustNewConstMetric(remoteSendsDesc, prometheus.CounterValue, float64(n), name)
	}
}
