// Package server is the chat server's edge: HTTP, admission, WebSocket
// upgrades, and the translation between frames and actor messages. It
// holds no chat logic; every decision is made by the actors it talks to.
// The connections themselves (reading, writing, keep-alive, the close
// handshake) are run by package transport, which knows nothing of chat.
//
// # Concurrency contract
//
// Each connection is a session (session.go), which is two things at once:
//
//   - an actor.Process that actors send to (outbound.go): each message is
//     translated into a frame (proto/wire) and queued with the
//     transport's Conn.Send on the sender's goroutine, with no mailbox in
//     between. Sending never blocks: a full outbox closes the connection
//     with 4001 (CloseNow). System messages are how a session is watched
//     (watch.go): watchers get actor.Terminated when it ends;
//   - the transport's Handler (inbound.go): the connection's single reader
//     calls Message for each client message, which is decoded (proto/wire)
//     and sent to the user actor with the session as sender; Confirmed
//     when a pong confirms delivered private messages; and Closed once, at
//     the end, which tells the user actor (Disconnect), removes the PID
//     from the actor system, notifies watchers and frees the slot.
//
// Server-wide state (open sessions, per-IP counts, draining) is guarded by
// Server.mu; the welcome cache by its own mutex. Nothing here blocks an
// actor, and nothing blocks the transport's reader.
//
// # Two error vocabularies
//
// A refused request is a chatpb.Refused from an actor, written as an
// "error" frame; the connection stays. A connection that must end gets a
// chatpb.CloseReason from an actor's EndSession, mapped to its close code
// by proto/wire; the transport itself closes binary (1003), non-UTF-8
// (1007) and oversize (1009) messages, and Closed maps whatever code ended
// the connection back to a reason. Both are counted in Metrics and logged.
package server
