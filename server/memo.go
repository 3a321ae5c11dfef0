package server

import (
	"sync/atomic"

	"github.com/actorchat/chat/proto/chatpb"
)

// fanouts renders each public message and presence notice once per
// fan-out, for all of the server's sessions, without the actors knowing
// the wire format. The room hands one Deliver (or Presence) to every
// member's session, one session after the other on the room's goroutine
// (a session is an actor.Process: a send is a call). So the first session
// renders it and the others find that rendering in a one-entry memo keyed
// by the pointer, and every outbox queues the same bytes. It costs the
// fan-out no more than the room's rendering the frame into the message
// did (measurements in the package doc).
type fanouts struct {
	public   memo[chatpb.Deliver]
	presence memo[chatpb.Presence]
}

// render returns the frame of an actor's message for a session: a fan-out's
// (a public message, a presence notice) from the memo, any other freshly
// rendered. A private message has one recipient, and in the memo it would
// only evict the entry of the fan-out in progress.
func (f *fanouts) render(m any) ([]byte, bool) {
	switch m := m.(type) {
	case *chatpb.Deliver:
		if m.GetSeq() == 0 && m.GetMessage().GetKind() != chatpb.Kind_KIND_DM {
			return f.public.frame(m, renderDeliver)
		}
	case *chatpb.Presence:
		return f.presence.frame(m, renderPresence)
	}
	return appendEvent(nil, m)
}

func renderDeliver(d *chatpb.Deliver) ([]byte, bool)   { return appendEvent(nil, d) }
func renderPresence(p *chatpb.Presence) ([]byte, bool) { return appendEvent(nil, p) }

// memo remembers the last frame rendered, keyed by its message's pointer.
// It is safe for concurrent use: an entry is never changed once stored, and
// callers that race with different keys only cost each other a miss. The
// entry holds its key, so that pointer cannot be freed and reused for
// another message while it is the key.
type memo[T any] struct {
	last atomic.Pointer[rendering[T]]
}

// rendering is one memo entry.
type rendering[T any] struct {
	key  *T
	data []byte
}

// frame returns key's frame: the memo's when key was the last one
// rendered, else render's (remembered when ok). The frame is shared; no
// one may modify it.
func (m *memo[T]) frame(key *T, render func(*T) ([]byte, bool)) ([]byte, bool) {
	if r := m.last.Load(); r != nil && r.key == key {
		return r.data, true
	}
	data, ok := render(key)
	if ok {
		m.last.Store(&rendering[T]{key: key, data: data})
	}
	return data, ok
}
