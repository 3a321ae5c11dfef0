// Command chatdos sends one kind of hostile input to a chat server and
// prints one line saying what the server did: cheap inputs that once
// exhausted a server's memory, descriptors or CPU, which it now bounds (docs/protocol.md, "Limits" and "Close
// codes"). scripts/bench-dos.sh (make bench-dos) runs every mode against
// fresh servers and adds the server's memory and CPU; docs/performance.md,
// "Hostile input", gives the figures.
//
// Modes (-mode), with the defaults a flag left at 0 takes:
//
//   - pings (-conns 1, -dur 10s): each connection writes WebSocket pings
//     of 125 bytes, in bursts of 1,000, for -dur and never reads, so that
//     every pong the server queues stays queued. Reports the pings the
//     kernel accepted, when the last write failed (the server closed), and
//     how each connection ended, read afterwards for up to 5 s: "close
//     CODE", "reset", "EOF" or "open".
//   - headers (-conns 1000, -size 1 MiB, -dur 15s): opens -conns
//     connections one after another and on each writes an upgrade request
//     whose last header line has -size bytes and no end. Reports the
//     answers by status ("HTTP 431") or how connections ended without one,
//     waiting at most -dur.
//   - names (-conns 200, -rate 10, -dur 10s): -conns users from one
//     address each send a public message -rate times a second for -dur,
//     reading everything sent to them. Reports upgrades refused, receipts
//     (accepted/s) and rate_limited refusals a second, other errors, and
//     connections the server closed.
//   - fill (-conns 10, -n 20, -size 4096, -dur 1m): -conns users each store
//     -n public messages of -size bytes, one at a time, sending a
//     rate_limited one again 200 ms later, so that the history holds full
//     pages for the history mode. Reports the messages stored and retried,
//     giving up at -dur.
//   - history (-n 200, -dur 10s): one user asks for -n messages of history,
//     again as soon as each answer (or refusal) arrives, for -dur. Reports
//     the requests, the pages and their size and rate, the rate_limited
//     refusals, and whether (and when) the server closed the connection.
//   - keepalive (-conns 2000, -dur 70s): opens -conns connections one
//     after another, each with one GET /healthz, and leaves them idle.
//     Reports the answers, and of the connections left open how many the
//     server closed (and after how long idle) and how many were still open
//     after -dur.
//   - fds (-conns 11000, -dur 20s): opens connections one after another,
//     each with one GET /healthz, keeping those not refused, until -conns
//     tries or 20 in a row refused or failed; prints the count held and the
//     answers, then holds them for -dur. Two such processes with distinct
//     -prefix values exceed a server's descriptors (the tool raises its own
//     open-file limit to the hard limit).
//
// Every connection comes from one address: the server's limits per client
// address (256 connections, 50 messages a second) apply to all of them
// together, as they would to one attacking host. Users are named -prefix
// and a number, through ?user= (run chatd with -auth none).
//
// Bounds: -addr must be a loopback address unless -remote is given; every
// dial, handshake and request has a 10 s deadline, every write and read a
// deadline, and each mode stops at -dur or after -conns connections.
// WebSocket frames are written and read by hand (ws.go), not through a
// library, so that the tool can do what a client library would not: write
// without reading. The exit status is 0 when the mode ran, whatever the
// server did; 1 when it could not (a one-line message on stderr); 2 for a
// bad command line.
//
// Concurrency: each mode owns its connections; where a connection has a
// reader and a writer goroutine (names), frames are written under the
// connection's mutex, and the mode reads its counters only after waiting
// for the goroutines that write them.
package main
