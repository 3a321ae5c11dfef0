package server

import (
	"log/slog"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server/transport"
)

// A session is its connection's transport.Handler: what the client sends
// becomes actor messages for the user actor. The transport calls these
// from the connection's single reader, one at a time.
var _ transport.Handler = (*session)(nil)

// Message decodes one client message (proto/wire) into an actor message
// and sends it to the user actor, with this session as the sender so that
// replies come back here, unless the edge's own budgets refuse it first.
// The transport has already closed the connection for what is not a valid
// text message (binary, invalid UTF-8, too large).
func (ss *session) Message(data []byte) {
	ss.srv.metrics.framesIn.Inc()
	if ss.userPID == nil {
		return // attaching failed; the connection is closing
	}
	msg := request(wire.Decode(data, wire.Limits{MaxText: ss.srv.cfg.MaxText}))
	if no, flood := ss.overBudget(msg); no != nil {
		ss.send(no)
		if flood {
			ss.log(slog.LevelWarn, "closing a connection asking far past its reply budget")
			ss.end(chatpb.CloseReason_CLOSE_REASON_POLICY, nil)
		}
		return
	}
	ss.srv.root().RequestWithCustomSender(ss.userPID, msg, ss.self)
}

// overBudget returns the refusal of a request the edge's budgets do not
// allow, or nil: say and dm (and an invalid one, which the user actor
// charges too) against the client IP's publish budget (ipbudget.go),
// history and who against the connection's reply meter (replybudget.go).
// flood reports a connection that keeps asking for answers while refused,
// which must be closed (1008).
func (ss *session) overBudget(msg any) (no *chatpb.Refused, flood bool) {
	switch m := msg.(type) {
	case *chatpb.Say:
		return ss.publishBudget(m.Ref), false
	case *chatpb.Dm:
		return ss.publishBudget(m.Ref), false
	case *chatpb.Invalid:
		if m.Counts {
			return ss.publishBudget(m.Ref), false
		}
	case *chatpb.History:
		return ss.replyBudget(m.Ref)
	case *chatpb.Who:
		return ss.replyBudget(m.Ref)
	}
	return nil, false
}

func (ss *session) publishBudget(ref *string) *chatpb.Refused {
	if ss.srv.budget.allow(ss.remote.ip, ss.srv.cfg.Clock()) {
		return nil
	}
	return rateLimited(ref, "slow down: too many messages from your address")
}

// replyBudget refuses history and who while the reply meter is in debt,
// and counts the refusals (replybudget.go).
func (ss *session) replyBudget(ref *string) (no *chatpb.Refused, flood bool) {
	now := ss.srv.since()
	if ss.srv.cfg.ReplyRate < 0 || ss.replies.open(now) {
		return nil, false
	}
	flood = ss.refusedAsks.add(now, replyFloodWindow, replyFloodMax)
	return rateLimited(ref, "slow down: too many history and who answers"), flood
}

// rateLimited is the edge's rate_limited refusal of a request.
func rateLimited(ref *string, message string) *chatpb.Refused {
	return &chatpb.Refused{Ref: ref, Code: chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED, Message: message}
}

// Confirmed tells the user actor that the client has read every private
// message up to upTo (the Seq of its delivery).
func (ss *session) Confirmed(upTo uint64) {
	if ss.userPID != nil {
		ss.srv.root().Send(ss.userPID, &chatpb.Confirm{Session: ss.self, UpTo: upTo})
	}
}
