package store

import (
	"container/heap"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Memory is a Store that keeps everything in process memory: nothing
// survives the process. It is for tests, demos and `-store memory`.
//
// Writes are applied and their done callbacks called synchronously, on the
// caller's goroutine, before the write method returns (the store's lock is
// not held then, so a callback may call the store again). Messages and
// records are copied on the way in and on the way out, so neither the
// writer nor a reader can change what is stored.
type Memory struct {
	// set at construction
	cfg Config

	// guarded by mu
	mu     sync.Mutex
	closed bool
	epoch  uint64               // the last epoch handed out
	users  map[string]struct{}  // known names
	inbox  map[string]*memInbox // by recipient (memory_inbox.go)
	queued memQueued            // what all inboxes hold, by sender and in all
	public []*chatpb.Message    // oldest first; may hold up to twice the limit
	keys   map[string]*memKeys  // by user
	acct   memAccounts          // accounts and tokens (accounts_memory.go)
}

// memKeys is one user's idempotency keys, with their expiries in a min-heap
// so that pruning costs only the expired entries.
type memKeys struct {
	byKey map[string]*chatpb.KeyRecord
	exp   expiryHeap
}

// NewMemory returns an empty in-memory store.
//
// Its epochs start at the clock's Unix time in milliseconds (and then grow
// by at least one per call), so message ids built from them stay distinct
// across restarts of a server that keeps nothing, as long as the clock does
// not go back.
func NewMemory(cfg Config) *Memory {
	return &Memory{
		cfg:    cfg.withDefaults(),
		users:  make(map[string]struct{}),
		inbox:  make(map[string]*memInbox),
		queued: memQueued{senders: make(map[string]int64)},
		keys:   make(map[string]*memKeys),
	}
}

// NextEpoch implements Store.
func (s *Memory) NextEpoch() (uint64, error) {
	now := uint64(max(s.cfg.Now().UnixMilli(), 0))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	s.epoch = max(s.epoch+1, now)
	return s.epoch, nil
}

// Users implements Store.
func (s *Memory) Users() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	names := make([]string, 0, len(s.users))
	for name := range s.users {
		names = append(names, name)
	}
	return names, nil
}

// Known implements Store.
func (s *Memory) Known(name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	_, ok := s.users[name]
	return ok, nil
}

// AddUser implements Store.
func (s *Memory) AddUser(name string, done func(error)) {
	if name == "" {
		call(done, errEmptyUser)
		return
	}
	call(done, s.write(func() { s.users[name] = struct{}{} }))
}

// Recent implements Store.
func (s *Memory) Recent() ([]*chatpb.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	return cloneMessages(s.public[max(len(s.public)-s.cfg.PublicHistory, 0):]), nil
}

// AppendPublic implements Store.
func (s *Memory) AppendPublic(m *chatpb.Message, done func(error)) {
	if err := validMessage(m, chatpb.Kind_KIND_PUBLIC); err != nil {
		call(done, err)
		return
	}
	m = proto.Clone(m).(*chatpb.Message)
	call(done, s.write(func() {
		s.public = append(s.public, m)
		// Compacting only at twice the limit makes an append O(1) amortized.
		if limit := s.cfg.PublicHistory; len(s.public) >= 2*limit {
			n := copy(s.public, s.public[len(s.public)-limit:])
			clear(s.public[n:])
			s.public = s.public[:n]
		}
	}))
}

// Keys implements Store.
func (s *Memory) Keys(user string, nowMs int64) ([]*chatpb.KeyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	k := s.keys[user]
	if k == nil {
		return nil, nil
	}
	var out []*chatpb.KeyRecord
	for _, r := range k.byKey {
		if r.ExpiresUnixMs > nowMs {
			out = append(out, proto.Clone(r).(*chatpb.KeyRecord))
		}
	}
	return out, nil
}

// PutKey implements Store.
func (s *Memory) PutKey(user string, r *chatpb.KeyRecord, done func(error)) {
	if err := validKey(user, r); err != nil {
		call(done, err)
		return
	}
	r = proto.Clone(r).(*chatpb.KeyRecord)
	nowMs := s.cfg.Now().UnixMilli()
	call(done, s.write(func() { s.putKey(user, r, nowMs) }))
}

// putKey stores r, which the caller has checked and copied, as user's
// key, and drops user's keys that expired by nowMs. The caller holds mu.
func (s *Memory) putKey(user string, r *chatpb.KeyRecord, nowMs int64) {
	k := s.keys[user]
	if k == nil {
		k = &memKeys{byKey: make(map[string]*chatpb.KeyRecord)}
		s.keys[user] = k
	}
	k.byKey[r.Key] = r
	heap.Push(&k.exp, expiry{key: r.Key, at: r.ExpiresUnixMs})
	k.prune(nowMs)
}

// prune drops the keys that have expired at nowMs.
func (k *memKeys) prune(nowMs int64) {
	for len(k.exp) > 0 && k.exp[0].at <= nowMs {
		e := heap.Pop(&k.exp).(expiry)
		// A key written again has a newer heap entry; only the entry that
		// matches the current record may remove it.
		if r := k.byKey[e.key]; r != nil && r.ExpiresUnixMs == e.at {
			delete(k.byKey, e.key)
		}
	}
}

// Close implements Store. Memory has nothing to flush.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// write applies f under the lock, or returns ErrClosed.
func (s *Memory) write(f func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	f()
	return nil
}

// cloneMessages returns deep copies of msgs.
func cloneMessages(msgs []*chatpb.Message) []*chatpb.Message {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]*chatpb.Message, len(msgs))
	for i, m := range msgs {
		out[i] = proto.Clone(m).(*chatpb.Message)
	}
	return out
}

// expiry is one entry of an expiryHeap.
type expiry struct {
	key string
	at  int64 // Unix ms
}

// expiryHeap is a min-heap of expiries (container/heap).
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
