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
//     from the actor system, notifies watchers and frees the per-IP slot
//     a session through a trusted proxy holds (the connection's own slot
//     goes when its socket is closed).
//
// Server-wide state (open sessions, draining) is guarded by Server.mu; the
// connection counts (admission.go), the publish budget per IP
// (ipbudget.go) and the welcome cache each by a mutex of their own, held
// for a map operation; a session's reply meter is one atomic word
// (replybudget.go). The listener (listener.go) counts connections on the
// accept loop and answers refused ones on short-lived goroutines, at most
// 32 at once. Nothing here blocks an actor, and nothing blocks the
// transport's reader.
//
// # Cheap input
//
// No input that costs a client little may cost the server much, in
// memory, descriptors or CPU. The bounds, each where it is enforced:
// every TCP connection holds a slot from accept to close, in all and per
// client IP (listener.go, admission.go), the client IP named by a trusted
// proxy when there is one (clientip.go); HTTP headers, bodies and idle
// keep-alive connections are bounded (httpserver.go); say and dm from one
// client IP share a budget (ipbudget.go); answers to history and who are
// metered per connection (replybudget.go) on top of the user's rate limit,
// which charges them in proportion to their size (actors); a client's
// pings are coalesced and metered, and its outbox is bounded (package
// transport).
//
// The fan-out memo (memo.go) is shared by all sessions and safe for
// concurrent use; translate.go is pure functions.
//
// # Credentials
//
// Before a WebSocket upgrade, credentials.go settles who the request speaks
// for, and nothing is created for a request it refuses. Without
// Config.Verifier (the `none` mode) that is version 1's user parameter. With
// one (the `accounts` and `jwt` modes of protocol version 2) the request
// must present a token, in an Authorization: Bearer header or the token
// parameter, that the verifier accepts (else 401); a user parameter, if
// given, must name the token's user (else 403); the session is the token's
// user's. A token is in the request's header or URL, so the edge logs
// neither, and a panic while serving is logged without its value
// (panics.go).
//
// # Revocation
//
// Revoking a token (a logout, a password change, the operator's commands)
// must close the connections opened with it at once. Package auth reports
// each revocation once it is durable; cmd/chatd hands it to the actors
// (RevokeSessions, actors.Chat.Revoke), and the user actor ends its session
// if the session's token is covered: the session was attached with the
// token's id (actors.Chat.ConnectWithToken).
//
// That alone leaves a gap: a revocation that reaches the actors between the
// upgrade's check and the attach finds no session of that token to end
// (the user has no actor, and the registry starts none for it, or the
// actor's session was opened with another token), and the session then
// attaches with a revoked token. The edge closes the gap by verifying a revocable token once more
// right after the attach, before reading the connection (recheck in
// credentials.go). Either the revocation is durable before that check, and
// the check fails and ends the session with credentials_revoked and 4003;
// or it becomes durable after it, and then its report reaches the registry
// after the attach's Connect did, so the actor has the session and ends
// it. The cost is a second token lookup per connection, a SHA-256 and a
// store read: 3.2 to 4.3 µs with the bolt store on the reference machine
// (three runs of a benchmark of auth.Service.Verify). JWTs, which nothing
// revokes, are not checked again. The frames
// queued for a session in that moment (its welcome, what waited for it)
// are what it would have got had it connected a moment sooner; nothing it
// sends is read, since reading starts after the check. An accounts token
// that expires in that moment is closed the same way, as if revoked.
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
// connection that must end gets a chatpb.CloseReason from an actor's
// EndSession, mapped to its close code and text by translate.go; the
// transport itself closes binary (1003), non-UTF-8 (1007) and oversize
// (1009) messages, and Closed maps whatever code ended the connection back
// to a reason. Both are counted in Metrics and logged.
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
// Private messages, one recipient each, are rendered past the memo, as
// are receipts, into pooled buffers the transport hands back once written
// (framebufs.go). The
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
