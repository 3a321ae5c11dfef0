package server

import (
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
// replies come back here. The transport has already closed the connection
// for what is not a valid text message (binary, invalid UTF-8, too large).
func (ss *session) Message(data []byte) {
	ss.srv.metrics.framesIn.Inc()
	if ss.userPID == nil {
		return // attaching failed; the connection is closing
	}
	msg := request(wire.Decode(data, wire.Limits{MaxText: ss.srv.cfg.MaxText}))
	ss.srv.root().RequestWithCustomSender(ss.userPID, msg, ss.self)
}

// Confirmed tells the user actor that the client has read every private
// message up to upTo (the Seq of its delivery).
func (ss *session) Confirmed(upTo uint64) {
	if ss.userPID != nil {
		ss.srv.root().Send(ss.userPID, &chatpb.Confirm{Session: ss.self, UpTo: upTo})
	}
}
