// Package pgtest runs throwaway PostgreSQL servers for tests. New runs
// initdb into a temporary directory and starts the server on an ephemeral
// port of 127.0.0.1, with its Unix socket and log in that directory too;
// Close stops it and removes the directory. Nothing of the machine's own
// PostgreSQL (a system cluster, its configuration) is used or touched: only
// its binaries, Debian's /usr/lib/postgresql/N/bin by default.
//
// PostgreSQL refuses to run as root; when the tests are root, as in CI, the
// server's processes run as the postgres user (the package's owner on
// Debian), which owns the directory.
//
// Tests use it through Shared (one server per test binary, started on
// first use and stopped by Main from TestMain) or Fresh (a server of the
// test's own, for tests that stop and restart it), and Schema, which gives
// each test an empty schema of its own on a server. Without PostgreSQL
// installed both skip the test, unless CHAT_REQUIRE_POSTGRES=1 (CI sets it),
// which fails it instead.
//
// # Concurrency contract
//
// URL and Schema may be called from any goroutine, also while the server
// is stopped (Schema then fails). Start, Stop and Close change the
// server's process and are meant to be called in sequence by one test;
// Close may be called more than once. Shared may be called from parallel
// tests.
package pgtest
