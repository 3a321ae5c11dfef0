package server

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// Sessions can be watched like actors: ctx.Watch(sessionPID) records the
// watcher, ctx.Unwatch removes it, and when the connection has ended every
// watcher gets *actor.Terminated{Who: session}. A watch that arrives after
// the end gets Terminated at once, as Proto.Actor answers a watch of a
// dead PID. That is how an actor that holds a session's PID (in a cluster,
// one on another node) learns that the session, or its node, is gone.

// watchers are the processes watching one session.
type watchers struct {
	mu    sync.Mutex // guards the fields below
	pids  []*actor.PID
	ended bool
}

// add records w, or returns false once the session has ended.
func (ws *watchers) add(w *actor.PID) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.ended {
		return false
	}
	for _, p := range ws.pids {
		if p.Equal(w) {
			return true
		}
	}
	ws.pids = append(ws.pids, w)
	return true
}

// remove forgets w.
func (ws *watchers) remove(w *actor.PID) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for i, p := range ws.pids {
		if p.Equal(w) {
			ws.pids = append(ws.pids[:i], ws.pids[i+1:]...)
			return
		}
	}
}

// end marks the session ended and returns who watched it.
func (ws *watchers) end() []*actor.PID {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.ended = true
	pids := ws.pids
	ws.pids = nil
	return pids
}

// SendSystemMessage handles the system messages of watching; a session
// has no other use for them.
func (ss *session) SendSystemMessage(_ *actor.PID, message any) {
	switch m := message.(type) {
	case *actor.Watch:
		if !ss.watchers.add(m.Watcher) {
			ss.terminated(m.Watcher)
		}
	case *actor.Unwatch:
		ss.watchers.remove(m.Watcher)
	case *actor.Terminated:
		if ss.userPID != nil && m.Who.Equal(ss.userPID) {
			ss.userGone()
		}
	}
}

// A session watches its user actor when that lives on another node (in a
// cluster): if the node dies, the actor goes with it, and nothing else
// would end the session. It ends with an internal error and 1011, and the
// client's reconnect gets a fresh actor, on a surviving node, with
// everything from the store. A local user actor ends its session itself
// when it stops (actors/user.go).

// watchUser watches the user actor if it is on another node.
func (ss *session) watchUser() {
	if ss.userPID.Address == ss.self.Address {
		return
	}
	proc, _ := ss.srv.system().ProcessRegistry.Get(ss.userPID)
	proc.SendSystemMessage(ss.userPID, &actor.Watch{Watcher: ss.self})
}

// userGone ends the session whose user actor is gone: it died with its
// node, or a request to it came back as a dead letter.
func (ss *session) userGone() {
	ss.endSession(&chatpb.EndSession{
		Reason:  chatpb.CloseReason_CLOSE_REASON_INTERNAL,
		Code:    chatpb.ErrorCode_ERROR_CODE_INTERNAL,
		Message: "the server could not keep serving this user; reconnect",
	})
}

// notifyWatchers tells every watcher that the session has ended.
func (ss *session) notifyWatchers() {
	for _, w := range ss.watchers.end() {
		ss.terminated(w)
	}
}

// terminated sends Terminated to one watcher, as a system message, as
// Proto.Actor does for an actor that stopped.
func (ss *session) terminated(watcher *actor.PID) {
	proc, _ := ss.srv.system().ProcessRegistry.Get(watcher)
	proc.SendSystemMessage(watcher, &actor.Terminated{Who: ss.self})
}
