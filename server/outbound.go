package server

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server/transport"
)

// A session is an actor.Process: actors send to its PID like to any actor,
// and the message is translated to a frame and queued on the spot. That
// keeps fan-out at one outbox push per recipient, with no mailbox and no
// goroutine per session.
var _ actor.Process = (*session)(nil)

// Frame tags, for the deliveries metric (Metrics.countBatch).
const (
	tagPublic uint8 = 1 + iota
	tagDM
)

// SendUserMessage translates one actor message into a frame.
func (ss *session) SendUserMessage(_ *actor.PID, message any) {
	switch m := actor.UnwrapEnvelopeMessage(message).(type) {
	case *chatpb.EndSession:
		ss.endSession(m)
	case *chatpb.Deliver:
		ss.deliver(m)
	default:
		ss.send(m)
	}
}

// Stop ends the connection as if the server were shutting down.
func (ss *session) Stop(*actor.PID) {
	ss.end(chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, nil)
}

func (ss *session) endSession(m *chatpb.EndSession) {
	var errFrame []byte
	if m.Code != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		errFrame, _ = wire.AppendEvent(nil, m)
		ss.srv.metrics.countError(m.Code)
	}
	ss.end(m.Reason, errFrame)
}

// end closes the connection for reason, after errFrame if one is given.
// The first end counts.
func (ss *session) end(reason chatpb.CloseReason, errFrame []byte) {
	if !ss.ending.CompareAndSwap(false, true) {
		return
	}
	if errFrame != nil {
		_ = ss.tc.Send(transport.Frame{Data: errFrame})
	}
	ss.tc.Close(wire.CloseCode(reason), closeText(reason))
}

// deliver queues a message. A fan-out hands every recipient the same
// pre-rendered frame.
func (ss *session) deliver(d *chatpb.Deliver) {
	data, _ := render(d.Frame, d)
	f := transport.Frame{Data: data, Seq: d.Seq}
	switch d.Message.GetKind() {
	case chatpb.Kind_KIND_PUBLIC:
		f.Tag = tagPublic
	case chatpb.Kind_KIND_DM:
		f.Tag = tagDM
	}
	ss.queue(f)
}

// render returns an event's frame: the bytes its fan-out pre-rendered
// (shared by every recipient, so never copied), else a fresh encoding.
func render(pre []byte, event any) ([]byte, bool) {
	if pre != nil {
		return pre, true
	}
	return wire.AppendEvent(nil, event)
}

// Render renders an event in the wire format, for actors.Config.Render: the
// room calls it once per fan-out and the sessions write the result as is.
func Render(event any) []byte {
	data, _ := wire.AppendEvent(nil, event)
	return data
}

func (ss *session) send(m any) {
	var f transport.Frame
	var pre []byte
	switch m := m.(type) {
	case *chatpb.Refused:
		ss.srv.metrics.countError(m.Code)
	case *chatpb.Presence:
		f.Lazy, pre = true, m.Frame
	case *chatpb.Welcome:
		ss.queue(ss.srv.welcomes.frame(m))
		return
	}
	data, ok := render(pre, m)
	if !ok {
		ss.log(slog.LevelError, "no frame for an actor message", "type", fmt.Sprintf("%T", m))
		return
	}
	f.Data = data
	ss.queue(f)
}

// queue hands a frame to the transport. A full outbox means a client too
// slow to keep up: it is closed with 4001, and what waits for it dropped.
func (ss *session) queue(f transport.Frame) {
	if ss.tc.Send(f) == transport.ErrOverflow && ss.ending.CompareAndSwap(false, true) {
		ss.srv.metrics.slowConsumers.Inc()
		ss.log(slog.LevelWarn, "closing a slow consumer", "outbox_bytes", ss.srv.cfg.OutboxMax)
		r := chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER
		ss.tc.CloseNow(wire.CloseCode(r), closeText(r))
	}
}
