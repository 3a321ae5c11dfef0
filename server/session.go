package server

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
)

// A conn is an actor.Process: actors send to its PID like to any actor, and
// the message is translated to a frame and queued on the spot. That keeps
// fan-out at one outbox push per recipient, with no mailbox and no
// goroutine per session.
var _ actor.Process = (*conn)(nil)

// SendUserMessage translates one actor message into a frame.
func (c *conn) SendUserMessage(_ *actor.PID, message any) {
	switch m := actor.UnwrapEnvelopeMessage(message).(type) {
	case *chatpb.EndSession:
		c.endSession(m)
	case *chatpb.Deliver:
		c.deliver(m)
	default:
		c.send(m)
	}
}

// SendSystemMessage ignores system messages: nothing watches a session (the
// user actor learns of its end from Disconnect).
func (c *conn) SendSystemMessage(*actor.PID, any) {}

// Stop ends the connection as if the server were shutting down.
func (c *conn) Stop(*actor.PID) {
	c.end(chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, nil)
}

func (c *conn) endSession(m *chatpb.EndSession) {
	var errFrame []byte
	if m.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		errFrame, _ = appendEvent(nil, m)
		c.srv.metrics.countError(m.Code)
	}
	c.end(m.Reason, errFrame)
}

// deliver queues a message. A fan-out hands every recipient the same
// pre-rendered frame.
func (c *conn) deliver(d *chatpb.Deliver) {
	data, _ := render(d.Frame, d)
	c.enqueue(frame{op: websocket.TextMessage, data: data, seq: d.Seq, kind: d.Message.GetKind()})
}

// render returns an event's frame: the bytes its fan-out pre-rendered
// (shared by every recipient, so never copied), else a fresh encoding.
func render(pre []byte, event any) ([]byte, bool) {
	if pre != nil {
		return pre, true
	}
	return appendEvent(nil, event)
}

// Render renders an event in the wire format, for actors.Config.Render: the
// room calls it once per fan-out and the sessions write the result as is.
func Render(event any) []byte {
	data, _ := appendEvent(nil, event)
	return data
}

func (c *conn) send(m any) {
	f := frame{op: websocket.TextMessage}
	var pre []byte
	switch m := m.(type) {
	case *chatpb.Refused:
		c.srv.metrics.countError(m.Code)
	case *chatpb.Presence:
		f.lazy, pre = true, m.Frame
	case *chatpb.Welcome:
		c.enqueue(c.srv.welcomes.frame(m))
		return
	}
	data, ok := render(pre, m)
	if !ok {
		c.log(slog.LevelError, "no frame for an actor message", "type", fmt.Sprintf("%T", m))
		return
	}
	f.data = data
	c.enqueue(f)
}
