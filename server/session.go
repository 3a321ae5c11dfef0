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

// deliver queues a message. A fan-out's recipients share one rendering
// (memo.go).
func (c *conn) deliver(d *chatpb.Deliver) {
	data, _ := c.srv.fanouts.render(d)
	c.enqueue(frame{op: websocket.TextMessage, data: data, seq: d.Seq, kind: d.Message.GetKind()})
}

func (c *conn) send(m any) {
	f := frame{op: websocket.TextMessage}
	switch m := m.(type) {
	case *chatpb.Refused:
		c.srv.metrics.countError(m.Code)
	case *chatpb.Presence:
		f.lazy = true
	case *chatpb.Welcome:
		c.enqueue(c.srv.welcomes.frame(m))
		return
	}
	data, ok := c.srv.fanouts.render(m)
	if !ok {
		c.log(slog.LevelError, "no frame for an actor message", "type", fmt.Sprintf("%T", m))
		return
	}
	f.data = data
	c.enqueue(f)
}
