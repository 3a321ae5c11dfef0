package client

import "github.com/actorchat/chat/proto/wire"

// Request is a say, dm or who the client has sent or will send, kept until
// the server answers it; or a command for the server (CmdServer), sent once
// as a plain-text line and not kept.
type Request struct {
	// Ref is the ref the frame carries; the server echoes it in the answer.
	// Empty for a CmdServer line, which carries none.
	Ref string
	// Key is the idempotency key of a say or dm; empty for who.
	Key string
	// Command is what the user typed.
	Command Command

	// frame is the encoded frame, sent again unchanged after a reconnect.
	frame []byte
	// seq counts requests in the order they were made.
	seq uint64
}

// out is the request's frame for the write loop: a say or dm is paced,
// since those are what the server's rate limit counts.
func (r *Request) out() outFrame {
	return outFrame{data: r.frame, paced: r.Command.Kind == CmdSay || r.Command.Kind == CmdDM}
}

// Event is something for the user interface to show: a server frame (with
// the request it answers, if any) or a local notice about the connection.
type Event struct {
	// Frame is the parsed server frame; its Type is empty for a notice.
	Frame wire.ServerFrame
	// Raw is the frame exactly as received.
	Raw []byte
	// Request is the request a sent, users or error frame answers, matched
	// by ref; nil when it answers none of ours.
	Request *Request
	// Fresh holds, for a history answer, its messages not shown before,
	// oldest first.
	Fresh []wire.ServerFrame
	// Reconnect is set on the welcome of every connection but the first.
	Reconnect bool

	// Notice is a local notice, set when Frame.Type is empty.
	Notice string
	// Down is set on the notice that the connection is lost or could not be
	// made, so that an interface can show the state.
	Down bool
}
