package client

import "container/list"

// pendingList holds the requests sent or to be sent that have no answer
// yet, in the order they were made, findable by ref; and the one-shot
// requests (CmdServer lines) made while there was no connection, until
// they are queued on the next one. Not safe for concurrent use: Client.mu
// guards it.
type pendingList struct {
	order *list.List               // of *Request, oldest first
	byRef map[string]*list.Element // Request.Ref -> its element in order
}

// newPendingList returns an empty list.
func newPendingList() *pendingList {
	return &pendingList{order: list.New(), byRef: make(map[string]*list.Element)}
}

// push appends r as the newest request.
func (p *pendingList) push(r *Request) {
	e := p.order.PushBack(r)
	if r.Ref != "" {
		p.byRef[r.Ref] = e
	}
}

// find returns the request with ref, or nil if none waits.
func (p *pendingList) find(ref string) *Request {
	if e, ok := p.byRef[ref]; ok {
		return e.Value.(*Request)
	}
	return nil
}

// take removes and returns the request with ref, or nil if none waits.
func (p *pendingList) take(ref string) *Request {
	e, ok := p.byRef[ref]
	if !ok {
		return nil
	}
	delete(p.byRef, ref)
	return p.order.Remove(e).(*Request)
}

// frames returns the frames of every waiting request, oldest first.
func (p *pendingList) frames() []outFrame {
	out := make([]outFrame, 0, p.order.Len())
	for e := p.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*Request).out())
	}
	return out
}

// dropOneShots removes the requests that no answer will take out: once
// they are queued on a connection, there is nothing to wait for.
func (p *pendingList) dropOneShots() {
	for e := p.order.Front(); e != nil; {
		next := e.Next()
		if e.Value.(*Request).Ref == "" {
			p.order.Remove(e)
		}
		e = next
	}
}

// len is how many requests wait.
func (p *pendingList) len() int { return p.order.Len() }

// seenSet remembers the most recent message ids, up to a bound, so that a
// message delivered twice is shown once. Not safe for concurrent use: the
// Run goroutine owns it.
type seenSet struct {
	ids  map[string]struct{}
	ring []string // the remembered ids; ring[next] is the oldest when full
	next int
}

// newSeenSet returns a set that remembers the last n ids (at least one).
func newSeenSet(n int) *seenSet {
	n = max(n, 1)
	return &seenSet{ids: make(map[string]struct{}, n), ring: make([]string, 0, n)}
}

// add records id and reports whether it is new. An empty id is always new
// and never recorded: there is nothing to match it by.
func (s *seenSet) add(id string) bool {
	if id == "" {
		return true
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = struct{}{}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
		return true
	}
	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
	return true
}
