package transport

import "errors"

// Frame is one outbound text message, queued with Conn.Send.
type Frame struct {
	// Data is the message. The transport only reads it, so one rendering
	// may be shared by many connections (a fan-out queues the same slice to
	// every recipient).
	Data []byte
	// Seq, when above 0, asks for confirmation: once the peer has read
	// this frame, Handler.Confirmed reports a number at least Seq. Seqs
	// must rise from frame to frame of one connection.
	Seq uint64
	// Lazy lets the frame wait up to lazyDelay for company when the
	// connection is idle, so that a burst of them costs one write.
	Lazy bool
	// Tag is opaque to the transport: Tally counts written frames by it,
	// for the caller's metrics. At most MaxTag.
	Tag uint8
	// Release, if set, is called once the transport is done with Data
	// (written, or dropped), so that a pooled buffer can be reused.
	Release func()
}

// MaxTag is the largest Frame.Tag that Tally counts.
const MaxTag = 7

// Tally is what one written batch held, for Config.OnWrite. It is passed
// by value: a pointer to it would escape, an allocation per batch.
type Tally struct {
	Frames int             // frames written, control frames included
	Tags   [MaxTag + 1]int // text frames by Frame.Tag
}

// Errors from Conn.Send. Neither queues the frame.
var (
	// ErrOverflow means the outbox is over Config.OutboxMax: the peer does
	// not read fast enough. The caller decides how to close (CloseNow).
	ErrOverflow = errors.New("transport: outbox full")
	// ErrClosed means the connection is closing: a close frame is queued.
	ErrClosed = errors.New("transport: connection closing")
)

// Handler receives a connection's inbound events. Message and Confirmed
// are called by the connection's single reader, one at a time and in
// order, and Closed last; none may block (they run on the reader's turn,
// which holds up the connection's reading). Each may call the
// connection's Send and Close.
type Handler interface {
	// Message is one complete text message: valid UTF-8, at most
	// Config.MaxMessage bytes. data is valid only during the call.
	// Messages read once a close frame is queued are dropped unread.
	Message(data []byte)
	// Confirmed reports that the peer has read every frame sent with a
	// Seq up to upTo: it answered a ping written after them. upTo rises
	// from call to call.
	Confirmed(upTo uint64)
	// Closed is called once, when the connection has ended and its
	// socket is closed. code is the close code of the handshake: the
	// peer's when byPeer (its close frame came first, or its side of the
	// TCP connection ended without one, reported as 1000), else the one
	// this side sent (Conn.Close, or the transport's own 1002, 1003, 1007,
	// 1008 for too many pings and 1009, or 1000 for a peer that stopped
	// answering pings).
	Closed(code int, byPeer bool)
}
