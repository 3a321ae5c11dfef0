// Command chatbench is the project's load tool: it drives a running chat
// server over real WebSocket connections (docs/protocol.md, or the plain-text
// lines of gorilla/websocket's examples/chat hub, the baseline) and reports
// offered and delivered rates, deliveries per second, loss, send-to-receive
// latency percentiles, its own CPU use and, given the server's PID, the
// server's CPU per delivery and memory per connection.
//
// It is a module of its own, github.com/actorchat/chat/bench, because users
// of the chat server never need it: the server's go build ./... and go install
// ./cmd/... do not reach it. It imports nothing of the server's (frames.go
// keeps its own view of the wire), so it depends only on gorilla/websocket.
// make bench builds it with chatd and gorilla's hub and runs the default set
// (scripts/bench.sh); make chatbench puts it in bin/ for runs by hand.
//
// Every connection the tool opens comes from one address, which chatd's
// limits per client IP would cut at 256 connections and 50 messages a
// second: run chatd for it with -max-conns-per-ip 0 -ip-msg-rate 0 (and
// -msg-rate 0 for the per-user limit), as scripts/bench-lib.sh does.
//
// Every message text carries its window's run id, the sender index, a
// per-sender sequence number and the send time in Unix nanoseconds; receivers
// recognise it by a marker without decoding the JSON, so the tool spends its
// core on the network, not on parsing.
//
// Concurrency: a crowd (client.go) owns one reader goroutine per connection;
// each reads until the connection ends, answers pings through gorilla's
// default handler, and hands every frame to the crowd's current handler, which
// must be safe for concurrent use across connections (a window counts with
// atomics; per-connection state in conn is touched only by its reader). Data
// frames on a connection are written by exactly one goroutine at a time: its
// sender in a traffic window, or the scenario code otherwise; gorilla allows
// close frames to be written concurrently. The runner goroutine owns the
// crowds, starts and stops every other goroutine, and reads results only after
// the goroutines it waits for have finished. Nothing blocks without a bound:
// dials have a timeout, writes a deadline, waits a deadline, and closing a
// crowd ends its readers.
package main
