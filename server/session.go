package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/server/transport"
)

// session is one client's connection as the actors see it: an
// actor.Process whose PID they send to, each message translated into a
// frame and queued on the spot (outbound.go), and the transport's Handler,
// which turns what the client sends into actor messages (inbound.go). It
// holds no chat state.
type session struct {
	// set at construction
	srv    *Server
	tc     link
	user   string
	remote clientAddr
	self   *actor.PID

	// set before reading starts, then read-only
	userPID *actor.PID // nil when attaching failed

	ending   atomic.Bool // an end (error frame, close) is under way
	watchers watchers    // processes watching this session (watch.go)
	replies  replyMeter  // bytes of history and users frames sent (replybudget.go)

	// owned by the reader
	refusedAsks refusalCount // history and who refused by replies (replybudget.go)
}

// clientAddr is who a connection is from (clientip.go): the client's IP,
// and whether it came through a trusted proxy, in which case the session
// holds the IP's connection slot (admission.go).
type clientAddr struct {
	ip       string
	viaProxy bool
}

// link is what a session needs of its connection: queue a frame, close
// with a code and a reason, and a number to log it by. The transport's
// Conn is one; tests give a session a fake that records what it is asked.
type link interface {
	ID() uint64
	Send(f transport.Frame) error
	Close(code int, text string)
	CloseNow(code int, text string)
}

// attach registers an upgraded connection as a session, attaches it to
// the user its credential names, checks a revocable token once more
// (recheck) and starts reading. When any of that fails the connection is
// closed (1001 while shutting down, 4003 for a token revoked meanwhile,
// else 1011), and still read until it ends, so that its close frame
// reaches the client.
func (s *Server) attach(tc *transport.Conn, cred credential, from clientAddr) {
	name := cred.User
	ss := &session{srv: s, tc: tc, user: name, remote: from}
	ss.self, _ = s.system().ProcessRegistry.Add(ss, "session/"+name+"/"+strconv.FormatUint(tc.ID(), 36))
	if !s.track(ss) {
		ss.end(chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, nil)
	} else if userPID, err := s.chat.ConnectWithToken(name, cred.TokenID, ss.self); err != nil {
		ss.log(slog.LevelError, "attaching a connection", "err", err)
		ss.end(chatpb.CloseReason_CLOSE_REASON_INTERNAL, nil)
	} else {
		ss.userPID = userPID
		ss.watchUser() // watch.go
		ss.log(slog.LevelDebug, "connection opened")
		s.recheck(ss, cred)
	}
	tc.Start(name, ss)
}

// Closed runs once the connection has ended: the user actor learns the
// session is gone, the PID stops resolving, watchers get Terminated, and
// a session through a trusted proxy gives back its client's per-IP slot
// (the socket, now closed, gave back the connection's own).
func (ss *session) Closed(code int, byPeer bool) {
	s := ss.srv
	if ss.userPID != nil {
		s.root().Send(ss.userPID, &chatpb.Disconnect{Session: ss.self})
	}
	s.system().ProcessRegistry.Remove(ss.self)
	ss.notifyWatchers()
	reason := closeReason(code, byPeer)
	s.forget(ss, reason)
	s.release(ss.remote.ip, ss.remote.viaProxy)
	ss.log(closeLogLevel(reason), "connection closed", "reason", closeLabel(reason), "code", code)
}

// log logs msg at level with this connection's attributes: its number
// (the transport's, as in the transport's own logs), user and address.
// They are added per call, not kept, and only if the level is on: at
// thousands of connections a second, building them for a disabled level
// showed in profiles.
func (ss *session) log(level slog.Level, msg string, args ...any) {
	l := ss.srv.cfg.Logger
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.With("conn", ss.tc.ID(), "user", ss.user, "remote", ss.remote.ip).Log(context.Background(), level, msg, args...)
}
