// Package server is the chat server's edge: HTTP, WebSocket upgrades and the
// translation between frames and actor messages. It holds no chat logic;
// every decision is made by the actors it talks to.
//
// # Concurrency contract
//
// Each connection (conn) has:
//
//   - a reader, the only one (read.go): it decodes each frame (proto/wire)
//     into an actor message and sends it to the user actor with the
//     connection's PID as sender, and it handles pongs, which confirm
//     delivered private messages. On Linux the server's poller (one epoll
//     instance, one goroutine) starts a reader turn on a worker when data
//     arrives, and the turn ends at the first message boundary with nothing
//     more buffered, so an idle connection has no goroutine at all; readMu
//     passes the reader's state from one turn to the next. Elsewhere, or
//     with Config.ReadGoroutines, a goroutine per connection reads;
//   - a keep-alive timer (not a goroutine) that pings and ends a peer
//     silent for PongWait;
//   - a write loop, started on a worker when the outbox gets work and gone
//     when it is empty, the only writer: it writes everything queued as separate frames
//     with one flush (one syscall) per batch. Control frames (pings, pongs,
//     close) are queued too, never written from elsewhere;
//   - an outbox, guarded by its mutex, that actors push to through the
//     connection's actor.Process methods. A push never blocks: past the
//     byte limit the connection is closed with 4001.
//
// Workers (workers.go) are goroutines reused from task to task; a task
// never waits for one. Server-wide state (open connections, per-IP counts,
// draining) is guarded by Server.mu. Nothing here blocks an actor.
//
// The fan-out memo (memo.go) is shared by all sessions and safe for
// concurrent use; translate.go is pure functions.
//
// # Translation
//
// proto/wire knows the protocol and nothing of actors; proto/chatpb knows
// the actors' messages and nothing of the protocol. translate.go maps one
// to the other, each mapping once: requests, events to frames, error codes
// and close reasons to close codes and texts.
//
// # Two error vocabularies
//
// A refused request is a chatpb.Refused from an actor, written as an
// "error" frame with the protocol's code; the connection stays. A
// connection that must end gets a chatpb.CloseReason (from an actor's
// EndSession, or from the reader for binary, non-UTF-8 or oversize frames),
// mapped to its close code and text by translate.go. Both are counted in
// Metrics and logged.
//
// # Rendering a fan-out once
//
// A public message goes to every member, and its frame is the same for
// all: it is rendered once per fan-out, not once per recipient. The actors
// used to do that, rendering the frame into the Deliver they fanned out;
// since the wire format is the edge's, the edge does it now. The room hands
// one Deliver (or Presence) to every member's session, one after the other
// on its goroutine, so the first session renders it and the rest find the
// frame in a one-entry memo keyed by the message's pointer (memo.go).
// Private messages, one recipient each, are rendered past the memo. The
// actors' messages thus carry no wire bytes, and the fan-out costs what it
// did. Measured on a shared two-core machine, room rendering (before)
// against the memo (after), runs interleaved:
//
//   - BenchmarkSessionFanout, 1,000 sessions (go test -run '^$' -bench
//     SessionFanout -benchmem ./server/), six runs each: 62.1 ns per
//     delivery before, 60.6 after (medians); one allocation more per
//     message (the memo entry), none per recipient either way.
//   - BenchmarkRoomFanout, 1,000 members (./actors/), three runs each:
//     23.0 ns per delivery before, 20.1 after (the Deliver is smaller).
//   - chatd -store memory -msg-rate 0 pinned to one core, chatbench
//     -scenario fanout -n 1000 -rate 40 to the other, nine runs each:
//     server CPU per delivery 7.8-18.3 µs before (median 13.0), 9.2-18.3
//     after (median 12.2), with the machine's load average at 3 to 7 from
//     other work; no difference stands out of that noise, and the
//     in-process figures above show none to find.
package server
