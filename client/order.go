package client

import (
	"sync"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// ownOrder shows what the user sent in the order it was sent. Answers to
// different requests come in any order (a dm's receipt can overtake the
// copy of a public message sent before it, since the two take different
// paths through the server), so the lines that show the user's own
// requests (the copy of a say, the receipt of a dm, the answer to /who, an
// error refusing any of them) are held until every earlier request has
// shown, or for at most wait, after which a request that is still
// unanswered no longer holds the later ones up. Everything else (other
// people's messages, presence, notices) is shown as it arrives.
//
// A say shows when its copy arrives: matched by id once its receipt has
// told the id, by text before that (the server sends the copy before the
// receipt; identical texts look the same whichever is matched). A receipt
// with no copy before it means the copy went to an earlier connection; the
// say waits a moment for it, then counts as shown.
//
// Safe for concurrent use: events come from the client's goroutines, sends
// from the interface's, expiries from a timer's. mu is held while printing,
// so that lines leave in the order decided here.
type ownOrder struct {
	// Set at construction.
	print func(Event) // prints one event; called with mu held
	user  string      // our folded name, to tell our public copies
	wait  time.Duration

	mu      sync.Mutex
	entries []*ownEntry // sent and not yet shown, oldest first
	timer   *time.Timer // runs expire at the next deadline; nil when none
	closed  bool        // flushed for good: print everything as it comes
}

// ownEntry is one request of ours and the events that show it.
type ownEntry struct {
	req    *Request
	events []Event
	id     string    // a say's message id, from its receipt
	copied bool      // a say's copy has arrived
	done   bool      // the answer has arrived: it may be printed
	since  time.Time // when done was set, or the receipt of a say without a copy arrived
}

// newOwnOrder returns an order for user's requests, printing with print.
func newOwnOrder(user string, wait time.Duration, print func(Event)) *ownOrder {
	folded, _ := wire.FoldName(user)
	return &ownOrder{print: print, user: folded, wait: wait}
}

// send calls send, which sends one request, and tracks the request it
// returns. mu is held across both, so an answer, which takes mu too, is
// never handled before its request is tracked.
func (o *ownOrder) send(send func() (*Request, error)) (*Request, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	req, err := send()
	if err == nil && req.Ref != "" && !o.closed {
		o.entries = append(o.entries, &ownEntry{req: req})
	}
	return req, err
}

// event shows ev now, or holds it with the request it answers.
func (o *ownOrder) event(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.owner(ev)
	if e == nil {
		o.print(ev)
		return
	}
	e.events = append(e.events, ev)
	o.settle(e, ev, time.Now())
	o.release(time.Now())
}

// owner returns the tracked request ev shows, or nil.
func (o *ownOrder) owner(ev Event) *ownEntry {
	if ev.Request != nil {
		for _, e := range o.entries {
			if e.req == ev.Request {
				return e
			}
		}
		return nil
	}
	if ev.Frame.Type == "message" && ev.Frame.Kind != "dm" && ev.Frame.From == o.user {
		return o.sayOf(ev.Frame)
	}
	return nil
}

// sayOf returns the say whose copy m is: by the id its receipt gave, else
// the oldest say still waiting for a copy of the same text.
func (o *ownOrder) sayOf(m wire.ServerFrame) *ownEntry {
	for _, e := range o.entries {
		if e.id != "" && e.id == m.ID && !e.copied {
			return e
		}
	}
	for _, e := range o.entries {
		if e.req.Command.Kind == CmdSay && !e.copied && e.req.Command.Text == m.Text {
			return e
		}
	}
	return nil
}

// settle records what ev means for e.
func (o *ownOrder) settle(e *ownEntry, ev Event, now time.Time) {
	switch {
	case ev.Frame.Type == "message":
		e.copied = true
		e.markDone(now)
	case e.req.Command.Kind == CmdSay && ev.Frame.Type == "sent":
		e.id = ev.Frame.ID
		if !e.copied {
			e.since = now // the copy has a moment to arrive
		}
	default:
		e.markDone(now)
	}
}

// markDone records that e may be printed, from now.
func (e *ownEntry) markDone(now time.Time) {
	if !e.done {
		e.done, e.since = true, now
	}
}

// release prints, oldest first, the entries that are done and have nothing
// unshown before them, and those that have waited longer than wait for
// what is before them; then it sets the timer for the next expiry. Called
// with mu held.
func (o *ownOrder) release(now time.Time) {
	o.expireCopies(now)
	last := -1 // the newest entry whose wait is over
	for i, e := range o.entries {
		if e.done && now.Sub(e.since) >= o.wait {
			last = i
		}
	}
	kept := o.entries[:0]
	blocked := false
	for i, e := range o.entries {
		if e.done && (!blocked || i <= last) {
			o.printAll(e)
			continue
		}
		blocked = blocked || !e.done
		kept = append(kept, e)
	}
	clear(o.entries[len(kept):])
	o.entries = kept
	o.schedule(now)
}

// expireCopies counts as shown the says whose receipt came without a copy
// more than wait ago: the copy went to an earlier connection.
func (o *ownOrder) expireCopies(now time.Time) {
	for _, e := range o.entries {
		if e.id != "" && !e.done && now.Sub(e.since) >= o.wait {
			e.done = true
		}
	}
}

// printAll prints e's events in the order they arrived.
func (o *ownOrder) printAll(e *ownEntry) {
	for _, ev := range e.events {
		o.print(ev)
	}
}

// schedule sets the timer for the earliest moment release has something
// new to do: a held entry's wait or a say's wait for its copy ending.
// Called with mu held.
func (o *ownOrder) schedule(now time.Time) {
	var next time.Time
	for _, e := range o.entries {
		if e.done || e.id != "" {
			if at := e.since.Add(o.wait); next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	if !next.IsZero() {
		o.timer = time.AfterFunc(next.Sub(now), o.expire)
	}
}

// expire is the timer's: it releases what has waited long enough.
func (o *ownOrder) expire() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.timer = nil
	o.release(time.Now())
}

// close prints everything held, in order, and from then on everything as
// it comes: the interface is ending, and nothing should be left unsaid.
func (o *ownOrder) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.entries {
		o.printAll(e)
	}
	o.entries, o.closed = nil, true
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}
