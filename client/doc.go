// Package client is the chat's command-line client library: it keeps one
// WebSocket connection to the server alive across network failures, resends
// what the user typed but the server never confirmed, drops messages it has
// already shown, and renders server frames as lines of text.
//
// # Pieces
//
//   - [ParseCommand] (command.go) turns a typed line into a [Command]; pure.
//   - [Formatter] (format.go) turns server frames and local notices into
//     display lines; pure, with the clock and time zone injected.
//   - [Client] (client.go, conn.go) owns the connection, reconnects with
//     backoff, assigns refs and idempotency keys, and reports [Event]s.
//     It writes say and dm at the pace of the rate limit the server
//     announces in its welcome, and sends again what the server refused as
//     rate_limited instead of reporting it (pace.go). Commands it does not
//     know go to the server as plain-text lines ([CmdServer]).
//   - [RunLines] (lines.go) and [RunTerminal] (terminal.go) are the two user
//     interfaces: line mode for pipes and tests, a line editor for people.
//     Both show the lines of the user's own requests in the order they
//     were sent, whatever order the answers come in (order.go).
//
// # Concurrency contract
//
// A [Client] has one goroutine of its own per connection besides the one
// that calls [Client.Run]: Run dials, runs the connection's read loop itself
// and starts a write loop; both end before Run dials again. The seen-id set
// and the backoff state are owned by the Run goroutine. The pending requests,
// the current connection's outbound queue and the closing state are guarded
// by Client.mu, which is never held across network I/O, so [Client.Send] and
// [Client.Close] may be called from any goroutine and never block on the
// network. Every network write carries a deadline; pings from the server are
// answered by gorilla/websocket's default handler from inside the read loop.
// The write loop is the only goroutine that waits for the pace: before a
// say or dm, for the connection's welcome and then a token of the client's
// bucket (a rate.Limiter, safe on its own; the pointer to it is guarded by
// Client.mu).
//
// The event handler given to [New] is called one event at a time, in the
// order the frames arrived: from the Run goroutine, except that events held
// back after a connect until the history answer arrives (at most a second)
// may be handed over from a timer's goroutine; Client.emitMu serializes the
// two. The handler must not block for long; it may call Send and Close.
//
// The user interfaces print through an ownOrder, whose mutex is held while
// it prints and, when the interface sends, across Client.Send and the
// request's registration, so that no answer is handled before its request
// is known; its timer (the longest a line is held) prints under the same
// mutex. Locks are taken in one order: Client.emitMu, then the order's,
// then Client.mu or the printer's.
package client
