package store

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/actorchat/chat/proto/chatpb"
)

// Bolt's inboxes: the methods of Store that read and write them. The
// layout and the counts are layout_inbox.go's.

// Inbox implements Store.
func (s *Bolt) Inbox(user string) ([]*chatpb.Message, error) {
	var msgs []*chatpb.Message
	err := s.view(func(tx *bolt.Tx) error {
		b := userBucket(tx, bucketInbox, user)
		if b == nil {
			return nil
		}
		return forPrefix(b, prefixMsg, func(_, v []byte) error {
			m, err := s.decodeMessage(v, "inbox of "+user)
			msgs = append(msgs, m)
			return err
		})
	})
	return msgs, err
}

// Enqueue implements Store.
func (s *Bolt) Enqueue(m *chatpb.Message, done func(error)) {
	s.EnqueueKeyed(m, nil, func(_ Enqueued, err error) { call(done, err) })
}

// EnqueueKeyed implements Store: one op, so that the key is written only
// when putInbox neither refused the message nor failed.
func (s *Bolt) EnqueueKeyed(m *chatpb.Message, key *chatpb.KeyRecord, done func(Enqueued, error)) {
	if err := validKeyed(m, key); err != nil {
		s.submit(op{err: err, done: func(err error) { done(Enqueued{}, err) }})
		return
	}
	data, err := encodeMessage(m, chatpb.Kind_KIND_DM)
	putKey := func(*bolt.Tx) error { return nil }
	if err == nil && key != nil {
		putKey, err = s.keyWrite(m.From, key)
	}
	if err != nil {
		s.submit(op{err: err, done: func(err error) { done(Enqueued{}, err) }})
		return
	}
	qm, q := queuedMsg{to: m.To, from: m.From, id: m.Id}, newQuota(s.cfg)
	var e Enqueued // written by apply on the writer, read by its callback there
	s.submit(op{
		apply: func(tx *bolt.Tx) error {
			var err error
			if e, err = putInbox(tx, qm, data, q); err != nil {
				return err
			}
			return putKey(tx)
		},
		done: func(err error) { done(e, err) },
	})
}

// InboxStats implements Store.
func (s *Bolt) InboxStats(user string) (InboxStats, error) {
	var st InboxStats
	err := s.view(func(tx *bolt.Tx) error {
		st = inboxStats(userBucket(tx, bucketInbox, user))
		return nil
	})
	return st, err
}

// InboxPage implements Store. The page is read inside the group's write
// transaction, which is what orders it among the writes; its records are
// copied out there and decoded once the commit is done, on the writer
// goroutine, before done is called.
func (s *Bolt) InboxPage(user string, after uint64, limit, maxBytes int, done func(Page, error)) {
	var raw rawPage // written by apply on the writer, read by its callback there
	s.submit(op{
		apply: func(tx *bolt.Tx) error {
			raw = readPage(tx, user, after, limit, maxBytes)
			return nil
		},
		done: func(err error) {
			if err != nil {
				done(Page{}, err)
				return
			}
			done(s.decodePage(raw, user))
		},
	})
}

// decodePage decodes the records of a page read by readPage.
func (s *Bolt) decodePage(raw rawPage, user string) (Page, error) {
	p := Page{Positions: raw.positions, More: raw.more, Stats: raw.stats}
	p.Messages = make([]*chatpb.Message, len(raw.data))
	for i, v := range raw.data {
		m, err := s.decodeMessage(v, "inbox of "+user)
		if err != nil {
			return Page{}, err
		}
		p.Messages[i] = m
	}
	return p, nil
}

// Usage implements Store: the counts, the file's size on disk, and the
// free pages inside it.
func (s *Bolt) Usage() (Usage, error) {
	var u Usage
	err := s.view(func(tx *bolt.Tx) error {
		c := readCounts(tx.Bucket(bucketMeta).Get(keyQueued))
		u.QueuedMessages, u.QueuedBytes = c.messages, c.bytes
		return nil
	})
	if err != nil {
		return u, err
	}
	info, err := os.Stat(s.path)
	if err != nil {
		return u, fmt.Errorf("store: %w", err)
	}
	u.StoreBytes, u.FreeBytes = info.Size(), int64(s.db.Stats().FreeAlloc)
	return u, nil
}

// Ack implements Store.
func (s *Bolt) Ack(user string, ids []string, done func(error)) {
	ids = append([]string(nil), ids...) // the caller may reuse its slice
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return ackInbox(tx, user, ids)
	}})
}
