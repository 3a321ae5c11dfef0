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
// # Signing in (protocol version 2)
//
// The client dials as version 1 does, with the user parameter, and
// presents a token as "Authorization: Bearer" when it has one: the one
// given in [Config.Token] (minted elsewhere, for a server in jwt mode; used
// as is, never saved), else the one saved by an earlier sign-in
// ([TokenCache], tokencache.go). That is how it learns the server's mode
// without asking anything: a server in none mode welcomes it; one that
// wants credentials answers 401, and the client signs in (credentials.go)
// and dials again at once. Signing in is a login through the accounts API
// ([API], api.go: /api/... on the chat server's host, http(s) for ws(s)),
// with the password from [Config.Password] (scripts: never asks), or from
// a dialog with the user at a terminal (signin.go), which offers to create
// the account once the login is refused. The API answering 404 means the
// server keeps no accounts (jwt mode): a token must be given. A saved
// token the server refuses is deleted before signing in again. Close code
// 4003 (the token was revoked) ends Run with [ErrRevoked], and deletes the
// saved token; anything that cannot be cured by signing in again ends it
// with a [*SignInError]. /logout ([Client.Logout]) and /passwd
// ([Client.ChangePassword]) call the API with the current token. No
// password or token is ever printed or logged.
//
// At a terminal, a dialog pauses the chat (console.go): the line editor
// closes, the answers are read without echo through golang.org/x/term,
// and the editor opens again; the chat's lines are held meanwhile. Every
// read of the terminal goes through one input pump (stdin.go), so that
// the editor and the dialogs hand the keyboard over without losing a key.
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
// The credentials (credentials.go) are used by the Run goroutine, which
// reads the token before each dial and renews it after a 401 (blocking in
// an API call or a dialog: nothing else waits on that goroutine then), and
// by the interface's goroutine, for /logout and /passwd; their mutex
// guards the token alone and is never held across a network call or a
// dialog. The token cache keeps no state but its files, written whole and
// renamed into place.
//
// At a terminal, the console's reader goroutine owns the line editor and
// runs every dialog; any other goroutine asks for one through
// console.Ask, which queues it, interrupts the editor and waits. The input
// pump's goroutine is the only reader of the terminal; the editor and the
// dialogs take turns at it through views, guarded by the pump's mutex.
//
// The user interfaces print through an ownOrder, whose mutex is held while
// it prints and, when the interface sends, across Client.Send and the
// request's registration, so that no answer is handled before its request
// is known; its timer (the longest a line is held) prints under the same
// mutex. Locks are taken in one order: Client.emitMu, then the order's,
// then Client.mu or the printer's.
package client
