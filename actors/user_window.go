package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// The delivery window. The inbox is in the store, oldest first; while a
// session is live the actor holds the inbox's oldest messages in memory
// (held), at most the delivery window and a read-ahead, and writes them to
// the session in order. The ones written and not yet confirmed are a
// prefix, held[:sent]; pump writes more while that prefix is under the
// window; each Confirm shortens it, and refill reads the next page from
// the store (Store.InboxPage) once there is room. A long inbox thus drains
// at the pace the client confirms, without flooding the connection's
// outbox, and costs memory for its window only, however long it is. An
// actor without a live session holds nothing.
//
// Pages are read asynchronously and posted back (paged); the store orders
// a page among the actor's writes, so a page brings every message whose
// write was submitted before it and none after. A message the store
// completes while the actor holds the whole inbox is taken in at once
// (take), and the cursor moves past it; otherwise it waits in the store
// for its page (more).

// paged is posted by the store's callback with a page of the inbox. cell
// and id tell a page of this incarnation's current read from one that is
// not: a read outlives a session, a restart or a passivation.
type paged struct {
	page store.Page
	err  error
	cell *userCell
	id   uint64
}

// windowBytes caps the estimated frame bytes in the window: a quarter of
// the default outbox, leaving room for the public traffic that shares it.
const windowBytes = 256 << 10

// readAheadShare is the part of the window read ahead of it: held messages
// beyond the window, which go out as soon as a confirm makes room, while
// the next page is read.
const readAheadShare = 4

// holdMax is the most messages the actor holds: the window and its
// read-ahead.
func (u *user) holdMax() int {
	w := u.deps.cfg.DeliveryWindow
	return w + max(w/readAheadShare, 1)
}

// holdBytes caps the estimated frame bytes held, as holdMax the count.
const holdBytes = windowBytes + windowBytes/readAheadShare

// full reports whether the actor holds as much as it may.
func (u *user) full() bool {
	return len(u.held) >= u.holdMax() || u.heldBytes >= holdBytes
}

// refill reads the next page of the inbox when a session is live, the
// store may hold messages the actor does not, nothing is being read and
// there is room. An inbox the count says is empty needs no read: what
// arrives later is taken in as it is stored.
func (u *user) refill(ctx actor.Context) {
	if !u.cell.live || u.reading != 0 || (u.loaded && !u.more) || u.full() {
		return
	}
	if !u.loaded && u.queued == 0 {
		u.loaded, u.more = true, false
		return
	}
	u.cell.reads++
	id, self, root, cell := u.cell.reads, ctx.Self(), ctx.ActorSystem().Root, u.cell
	u.reading, u.ackedDuringRead = id, nil
	u.deps.store.InboxPage(u.name, u.cursor, u.holdMax()-len(u.held), holdBytes-u.heldBytes,
		func(p store.Page, err error) { root.Send(self, &paged{page: p, err: err, cell: cell, id: id}) })
}

// paged takes in a page the actor is waiting for. Failing to read panics,
// as failing to load at start does: the supervisor retries, and gives up
// after the restart limit, which is better than a session that never gets
// its queue.
func (u *user) paged(ctx actor.Context, p *paged) {
	if p.cell != u.cell || p.id != u.reading {
		return // a read for an earlier session or incarnation
	}
	u.reading = 0
	if p.err != nil {
		if errors.Is(p.err, store.ErrClosed) {
			return // shutting down
		}
		panic("reading the inbox of " + u.name + ": " + p.err.Error())
	}
	u.queued = max(0, p.page.Stats.Messages-len(u.ackedDuringRead))
	u.countInbox()
	u.merge(p.page)
	u.countHeld()
	u.ackedDuringRead = nil
	u.loaded = true
	u.resetWindow()
	u.pump(ctx)
	u.refill(ctx)
}

// merge appends the messages of a page while there is room, and moves
// the cursor past those it went through. Those confirmed while the page
// was on its way are acked already: it skips them.
func (u *user) merge(p store.Page) {
	u.more = p.More
	for i, m := range p.Messages {
		if _, acked := u.ackedDuringRead[m.Id]; !acked {
			if u.full() {
				u.more = true
				return
			}
			u.hold(m, p.Positions[i])
		}
		u.cursor = p.Positions[i]
	}
}

// hold appends a message read from the store at position pos. One that
// was stored, while its recipient was online, before the first actor of
// this cell started was, in all likelihood, written to that connection
// before the server stopped or the actor passivated: its next delivery is
// a redelivery (see actors/doc.go, "Passivation").
func (u *user) hold(m *chatpb.Message, pos uint64) {
	if _, marked := u.cell.marks[m.Id]; !marked && !m.Offline && pos <= u.cell.bootLast {
		put(&u.cell.marks, m.Id, mark{})
	}
	u.held = append(u.held, m)
	u.heldBytes += frameCost(m)
}

// take handles a message the store has just added at position pos: held
// at once if the actor holds the whole inbox and has room, left to a page
// otherwise. A page on its way brings it (its write was submitted before
// the read), and one read already did if pos is not after the cursor.
func (u *user) take(ctx actor.Context, m *chatpb.Message, pos uint64) {
	switch {
	case !u.loaded || u.reading != 0 || pos <= u.cursor:
	case u.more || u.full():
		u.more = true
	default:
		u.held = append(u.held, m)
		u.heldBytes += frameCost(m)
		u.cursor = pos
		u.countHeld()
		u.pump(ctx)
	}
}

// dropHeld lets go of the held messages when the session ends: an offline
// user's actor holds none, and the next session reads them again. A read
// on its way is left to arrive and be ignored.
func (u *user) dropHeld() {
	clear(u.held)
	u.held, u.heldBytes, u.sent, u.sentBytes = nil, 0, 0, 0
	u.cursor, u.more, u.loaded, u.reading, u.ackedDuringRead = 0, false, false, 0, nil
	u.countHeld()
}

// pump writes held messages to the live session while the window allows.
func (u *user) pump(ctx actor.Context) {
	if !u.cell.live {
		return
	}
	cfg := u.deps.cfg
	for u.sent < len(u.held) && u.sent < cfg.DeliveryWindow && u.sentBytes < windowBytes {
		m := u.held[u.sent]
		u.deliver(ctx, m)
		u.sent++
		u.sentBytes += frameCost(m)
	}
}

// frameCost estimates a message's frame size: its text and names plus the
// JSON around them.
func frameCost(m *chatpb.Message) int {
	return len(m.Text) + len(m.From) + len(m.To) + 160
}

// resetWindow recomputes the window for the current session: the prefix of
// the held messages already written to it (after a restart, from the
// marks).
func (u *user) resetWindow() {
	u.sent, u.sentBytes = 0, 0
	for _, m := range u.held {
		mk, ok := u.cell.marks[m.Id]
		if !ok || u.cell.session == nil || !samePID(mk.session, u.cell.session) {
			return
		}
		u.sent++
		u.sentBytes += frameCost(m)
	}
}

// deliver writes one held message to the session under a fresh seq, which
// a later Confirm from the same session refers to.
func (u *user) deliver(ctx actor.Context, m *chatpb.Message) {
	u.cell.seq++
	_, before := u.cell.marks[m.Id]
	put(&u.cell.marks, m.Id, mark{session: u.cell.session, seq: u.cell.seq})
	ctx.Send(u.cell.session, &chatpb.Deliver{Message: m, Redelivered: before, Seq: u.cell.seq})
}
