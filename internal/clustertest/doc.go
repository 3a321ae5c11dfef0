// Package clustertest holds the cluster's end-to-end tests: throwaway etcd
// and PostgreSQL servers on loopback ports, and three chatd nodes, each a
// process of its own, with WebSocket clients spread over them. It has no
// code but its tests. They take a couple of minutes, so `make test` skips
// them and `make test-cluster` runs them (CHAT_CLUSTER_TESTS=1); they are
// skipped, saying why, when etcd or PostgreSQL is not installed, unless
// CHAT_REQUIRE_CLUSTER=1 (CI sets it, and runs both targets).
//
// # Concurrency contract
//
// Each test owns its servers and processes and stops them when it ends;
// tests that share nothing run in parallel. Every wait is bounded by a
// deadline.
package clustertest
