// Package transport runs WebSocket connections for text messages: the
// upgrade, reading with no goroutine per idle connection, a bounded outbox
// written in batches, keep-alive, confirmation of delivered frames, and a
// close handshake whose close frame reaches the peer. It knows nothing of
// what the messages mean; the caller gets each inbound message through a
// Handler and queues outbound ones with Conn.Send.
//
// # Concurrency contract
//
// Each connection (Conn) has one owner per direction:
//
//   - the reader, the only one reading (read.go). On Linux the
//     Transport's poller (one epoll instance, one goroutine) starts a
//     reader turn on a worker when data arrives, and the turn ends at the
//     first message boundary with nothing more buffered, so an idle
//     connection has no goroutine at all; data arriving during a turn
//     makes the same reader take another (Conn.turns), never a second
//     reader; readMu passes the reader's state from one turn to the next. Elsewhere, with Config.ReadGoroutines, or
//     when the yield's self-check fails, a goroutine per connection reads.
//     The reader alone calls the Handler: Message and Confirmed one at a
//     time and in order, then Closed once, after the socket is closed;
//   - the write loop, the only writer (write.go): started on a worker when
//     the outbox gets work and gone when it is empty. It writes everything
//     queued as separate frames with one flush (one syscall) per batch.
//     Control frames (pings, pongs, close) are queued too, never written
//     from elsewhere; they are not counted against Config.OutboxMax, and
//     a pong waiting there takes the next one's payload instead of
//     queuing another, so a peer's pings cannot grow the outbox
//     (outbox.go, peerpings.go).
//
// Send, Close and CloseNow may be called from any goroutine, the Handler's
// methods included, and never block: they push to the outbox, guarded by
// its mutex, and start a write loop if none runs. The keep-alive, the
// scheduled confirmation ping and the wait of lazy frames are runtime
// timers, not goroutines; they only queue frames or stop reading. Workers
// (internal/workers) are goroutines reused from task to task; a task never
// waits for one.
//
// # The yield
//
// A reader turn hands the connection back to the poller through a trick
// that relies on gorilla/websocket's internals (it has no readiness API
// and keeps read errors for good): at a message boundary the socket read
// returns a fake empty message. All of it is in yield.go, with every
// assumption named, checked once per process by New and pinned by
// yield_test.go against the gorilla version it was read for; if the check
// fails, connections read on goroutines instead, which is slower to hold
// but never corrupts a stream. The trick is kept because of what it saves:
// measured at 15,000 idle connections, 15.6 against 11.5-11.8 KiB per
// connection (the 4 KiB stack of a reading goroutine).
//
// # Closing
//
// The first close frame queued counts (Close, CloseNow, the answer to the
// peer's close, or the transport's own: 1003 for a binary message, 1007
// for invalid UTF-8, 1009 past Config.MaxMessage, 1002 for a malformed
// stream, 1000 for a peer that stopped answering pings, 1008 for one that
// pings past Config.MaxPingRate). Once it is out,
// the write side is shut and the connection lingers, reading and
// discarding until the peer's close frame or EOF, for at most CloseGrace,
// so that the peer's unread data never makes the kernel reset the
// connection under the close frame (close.go).
package transport
