package server

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
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
	case *actor.DeadLetterResponse:
		ss.userGone() // watch.go
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
		errFrame, _ = appendEvent(nil, m)
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
	ss.tc.Close(closeCode(reason))
}

// deliver queues a message. A fan-out's recipients share one rendering
// (memo.go).
// A private message, for one recipient, is rendered into a pooled buffer
// (framebufs.go).
func (ss *session) deliver(d *chatpb.Deliver) {
	var f transport.Frame
	if d.Message.GetKind() == chatpb.Kind_KIND_DM {
		f, _ = ss.srv.frameBufs.frame(d)
		f.Tag = tagDM
	} else {
		f.Data, _ = ss.srv.fanouts.render(d)
		if d.Message.GetKind() == chatpb.Kind_KIND_PUBLIC {
			f.Tag = tagPublic
		}
	}
	f.Seq = d.Seq
	ss.queue(f)
}

func (ss *session) send(m any) {
	var f transport.Frame
	reply := false // an answer to history or who, charged to the reply meter
	switch m := m.(type) {
	case *chatpb.Refused:
		ss.srv.metrics.countError(m.Code)
	case *chatpb.Presence:
		f.Lazy = true
	case *chatpb.Welcome:
		ss.queue(ss.srv.welcomes.frame(m))
		return
	case *chatpb.Sent:
		if f, ok := ss.srv.frameBufs.frame(m); ok {
			ss.queue(f)
		}
		return
	case *chatpb.HistoryPage, *chatpb.Users:
		reply = true
	}
	data, ok := ss.srv.fanouts.render(m)
	if !ok {
		ss.log(slog.LevelError, "no frame for an actor message", "type", fmt.Sprintf("%T", m))
		return
	}
	if reply && ss.srv.cfg.ReplyRate > 0 {
		ss.replies.charge(ss.srv.since(), replyCost(len(data), ss.srv.cfg.ReplyRate))
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
		ss.tc.CloseNow(closeCode(r))
	}
}
