package store

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Memory's inboxes and their counters (inbox.go). Positions come from one
// counter for all inboxes, as Bolt's and Postgres's sequences do.

// memInbox is one user's inbox.
type memInbox struct {
	entries []memEntry        // oldest first, so positions grow
	ids     map[string]uint64 // the entries' positions by id, for duplicate checks and Ack
	bytes   int64             // the entries' sizes, summed
}

// memEntry is one queued message.
type memEntry struct {
	pos  uint64
	size int64 // of its encoding
	msg  *chatpb.Message
}

// memQueued is what all inboxes hold.
type memQueued struct {
	last     uint64           // the last position handed out
	messages int64            // in all inboxes
	bytes    int64            // their sizes
	senders  map[string]int64 // bytes each sender has queued for others; no zero entries
}

// Inbox implements Store.
func (s *Memory) Inbox(user string) ([]*chatpb.Message, error) {
	var out []*chatpb.Message
	err := s.read(func() {
		if in := s.inbox[user]; in != nil {
			out = make([]*chatpb.Message, len(in.entries))
			for i, e := range in.entries {
				out[i] = proto.Clone(e.msg).(*chatpb.Message)
			}
		}
	})
	return out, err
}

// InboxStats implements Store.
func (s *Memory) InboxStats(user string) (InboxStats, error) {
	var st InboxStats
	err := s.read(func() { st = s.inbox[user].stats() })
	return st, err
}

// InboxPage implements Store. It reads under the lock and calls done on
// the caller's goroutine before it returns, as Memory's writes do.
func (s *Memory) InboxPage(user string, after uint64, limit, maxBytes int, done func(Page, error)) {
	var p Page
	err := s.read(func() { p = s.inbox[user].page(after, limit, maxBytes) })
	done(p, err)
}

// Enqueue implements Store.
func (s *Memory) Enqueue(m *chatpb.Message, done func(error)) {
	s.EnqueueKeyed(m, nil, func(_ Enqueued, err error) { call(done, err) })
}

// EnqueueKeyed implements Store.
func (s *Memory) EnqueueKeyed(m *chatpb.Message, key *chatpb.KeyRecord, done func(Enqueued, error)) {
	if err := validKeyed(m, key); err != nil {
		done(Enqueued{}, err)
		return
	}
	m = proto.Clone(m).(*chatpb.Message)
	if key != nil {
		key = proto.Clone(key).(*chatpb.KeyRecord)
	}
	nowMs := s.cfg.Now().UnixMilli()
	var e Enqueued
	err := s.apply(func() error {
		var err error
		if e, err = s.enqueue(m); err != nil {
			return err
		}
		if key != nil {
			s.putKey(m.From, key, nowMs)
		}
		return nil
	})
	done(e, err)
}

// enqueue adds m, which the caller has checked and copied, to its
// recipient's inbox unless it is there already, or refuses it past a cap.
// The caller holds mu.
func (s *Memory) enqueue(m *chatpb.Message) (Enqueued, error) {
	in := s.inbox[m.To]
	if in == nil {
		in = &memInbox{ids: make(map[string]uint64)}
		s.inbox[m.To] = in
	}
	if pos, dup := in.ids[m.Id]; dup {
		return Enqueued{Pos: pos}, nil
	}
	size := int64(proto.Size(m))
	q := &s.queued
	if err := newQuota(s.cfg).check(size, q.senders[m.From], q.bytes, !countsForSender(m.From, m.To)); err != nil {
		return Enqueued{}, err
	}
	q.last++
	in.ids[m.Id] = q.last
	in.entries = append(in.entries, memEntry{pos: q.last, size: size, msg: m})
	in.bytes += size
	q.count(m, size)
	return Enqueued{Pos: q.last, New: true}, nil
}

// Ack implements Store.
func (s *Memory) Ack(user string, ids []string, done func(error)) {
	call(done, s.write(func() {
		if in := s.inbox[user]; in != nil {
			for _, e := range in.remove(ids) {
				in.bytes -= e.size
				s.queued.count(e.msg, -e.size)
			}
		}
	}))
}

// Usage implements Store. StoreBytes adds up the encodings of the
// records held: the inboxes, the public history and the keys (accounts
// are few and left out).
func (s *Memory) Usage() (Usage, error) {
	var u Usage
	err := s.read(func() {
		u = Usage{QueuedMessages: s.queued.messages, QueuedBytes: s.queued.bytes, StoreBytes: s.queued.bytes}
		for _, m := range s.public {
			u.StoreBytes += int64(proto.Size(m))
		}
		for _, k := range s.keys {
			for _, r := range k.byKey {
				u.StoreBytes += int64(proto.Size(r))
			}
		}
	})
	return u, err
}

// count adds a message of size bytes to the totals (a negative size
// takes it away).
func (q *memQueued) count(m *chatpb.Message, size int64) {
	n := int64(1)
	if size < 0 {
		n = -1
	}
	q.messages += n
	q.bytes += size
	if !countsForSender(m.From, m.To) {
		return
	}
	if left := q.senders[m.From] + size; left > 0 {
		q.senders[m.From] = left
	} else {
		delete(q.senders, m.From)
	}
}

// stats describes in; a nil inbox is empty.
func (in *memInbox) stats() InboxStats {
	if in == nil || len(in.entries) == 0 {
		return InboxStats{}
	}
	return InboxStats{Messages: len(in.entries), Bytes: in.bytes, Last: in.entries[len(in.entries)-1].pos}
}

// page copies out the entries after the position after (see
// Store.InboxPage); a nil inbox has none.
func (in *memInbox) page(after uint64, limit, maxBytes int) Page {
	p := Page{Stats: in.stats()}
	if in == nil {
		return p
	}
	i := sort.Search(len(in.entries), func(i int) bool { return in.entries[i].pos > after })
	var bytes int64
	for ; i < len(in.entries) && !pageFull(len(p.Messages), bytes, limit, maxBytes); i++ {
		e := in.entries[i]
		p.Messages = append(p.Messages, proto.Clone(e.msg).(*chatpb.Message))
		p.Positions = append(p.Positions, e.pos)
		bytes += e.size
	}
	p.More = i < len(in.entries)
	return p
}

// remove drops the entries with the given ids, keeping the others' order,
// and returns those it dropped.
func (in *memInbox) remove(ids []string) []memEntry {
	gone := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if _, ok := in.ids[id]; ok {
			gone[id] = struct{}{}
			delete(in.ids, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	var removed []memEntry
	kept := in.entries[:0]
	for _, e := range in.entries {
		if _, ok := gone[e.msg.Id]; ok {
			removed = append(removed, e)
			continue
		}
		kept = append(kept, e)
	}
	clear(in.entries[len(kept):]) // let the removed messages be collected
	in.entries = kept
	return removed
}
