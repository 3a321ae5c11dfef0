package server

// Sessions are watched like actors: real actors watch a session's PID
// (from their Started handler, as any actor watches another) and get
// Terminated when the connection ends; an Unwatch stops that; a watch that
// comes after the end is answered with Terminated at once.

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
)

// watchWait bounds every wait; a passing test never waits this long.
const watchWait = 5 * time.Second

// watchEnv is a chat server with one connected client.
type watchEnv struct {
	srv  *Server
	chat *actors.Chat
	ws   *websocket.Conn
}

// startWatchEnv starts a server, connects user and returns once the
// connection is attached.
func startWatchEnv(t *testing.T, user string) *watchEnv {
	t.Helper()
	chat, err := actors.Start(actors.Config{Store: store.NewMemory(store.Config{})})
	if err != nil {
		t.Fatalf("starting actors: %v", err)
	}
	srv := New(Config{}, chat, nil)
	hs := httptest.NewServer(srv.Routes(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), watchWait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
		_ = chat.Stop()
	})
	dialer := websocket.Dialer{HandshakeTimeout: watchWait}
	ws, resp, err := dialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/chat?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(watchWait))
	if _, _, err := ws.ReadMessage(); err != nil { // the welcome: attached
		t.Fatalf("welcome: %v", err)
	}
	return &watchEnv{srv: srv, chat: chat, ws: ws}
}

// session returns the PID of user's session.
func (e *watchEnv) session(t *testing.T, user string) *actor.PID {
	t.Helper()
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	for ss := range e.srv.conns {
		if ss.user == user {
			return ss.self
		}
	}
	t.Fatalf("no session for %s", user)
	return nil
}

// leave closes the client's connection cleanly and waits until the server
// has let go of it (Closed has run to its end).
func (e *watchEnv) leave(t *testing.T) {
	t.Helper()
	_ = e.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(watchWait))
	deadline := time.Now().Add(watchWait)
	for e.srv.Open() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watcher is an actor that watches target from its Started handler and
// reports what it sees on events.
type watcher struct {
	target     *actor.PID
	events     chan<- any // "watching", then *actor.Terminated
	terminated bool
}

// unwatch asks a watcher to unwatch its target; seen asks whether it got
// Terminated.
type (
	unwatch struct{}
	seen    struct{}
)

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Watch(w.target)
		w.events <- "watching"
	case *actor.Terminated:
		w.terminated = true
		w.events <- m
	case unwatch:
		ctx.Unwatch(w.target)
		ctx.Respond(true)
	case seen:
		ctx.Respond(w.terminated)
	}
}

// spawnWatcher starts a watcher of target and waits until it watches.
func (e *watchEnv) spawnWatcher(t *testing.T, target *actor.PID) (*actor.PID, <-chan any) {
	t.Helper()
	events := make(chan any, 10)
	root := e.chat.System().Root
	pid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &watcher{target: target, events: events} }))
	t.Cleanup(func() { root.Stop(pid) })
	expectEvent(t, events, func(ev any) bool { return ev == "watching" })
	return pid, events
}

// ask sends a watcher a request and returns its answer.
func (e *watchEnv) ask(t *testing.T, pid *actor.PID, msg any) any {
	t.Helper()
	answer, err := e.chat.System().Root.RequestFuture(pid, msg, watchWait).Result()
	if err != nil {
		t.Fatalf("asking %T: %v", msg, err)
	}
	return answer
}

// expectEvent waits for the next event, which must satisfy ok.
func expectEvent(t *testing.T, events <-chan any, ok func(any) bool) any {
	t.Helper()
	select {
	case ev := <-events:
		if !ok(ev) {
			t.Fatalf("unexpected event %v", ev)
		}
		return ev
	case <-time.After(watchWait):
		t.Fatal("no event within the wait")
		return nil
	}
}

// terminatedBy matches Terminated for who.
func terminatedBy(who *actor.PID) func(any) bool {
	return func(ev any) bool {
		m, ok := ev.(*actor.Terminated)
		return ok && m.Who.Equal(who)
	}
}

func TestSessionWatchersGetTerminatedWhenTheConnectionEnds(t *testing.T) {
	t.Parallel()
	e := startWatchEnv(t, "watched")
	self := e.session(t, "watched")
	_, first := e.spawnWatcher(t, self)
	_, second := e.spawnWatcher(t, self)
	e.leave(t)
	expectEvent(t, first, terminatedBy(self))
	expectEvent(t, second, terminatedBy(self))
}

func TestSessionUnwatchedWatcherGetsNothing(t *testing.T) {
	t.Parallel()
	e := startWatchEnv(t, "watched")
	self := e.session(t, "watched")
	quitter, _ := e.spawnWatcher(t, self)
	_, stayer := e.spawnWatcher(t, self)
	e.ask(t, quitter, unwatch{})
	e.leave(t)
	expectEvent(t, stayer, terminatedBy(self))
	// Terminated is a system message, handled before any user message
	// queued after it, and the session had told every watcher before the
	// server let go of it (leave waited for that).
	if got := e.ask(t, quitter, seen{}); got != false {
		t.Errorf("a watcher that unwatched got Terminated")
	}
}

func TestSessionWatchedAfterItsEndAnswersAtOnce(t *testing.T) {
	t.Parallel()
	e := startWatchEnv(t, "gone")
	self := e.session(t, "gone")
	_, before := e.spawnWatcher(t, self) // resolves self to the session
	e.leave(t)
	expectEvent(t, before, terminatedBy(self))
	// self still resolves to the ended session (Proto.Actor caches the
	// process in the PID); a fresh PID with its id finds nothing, and
	// Proto.Actor answers for it.
	for _, pid := range []*actor.PID{self, actor.NewPID(self.Address, self.Id)} {
		_, late := e.spawnWatcher(t, pid)
		expectEvent(t, late, terminatedBy(self))
	}
}
