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
// translate.go is pure functions, safe for concurrent use.
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
package server
