package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// The inboxes in the bbolt file (layout.go) and their counts (inbox.go):
// every change to an inbox changes its 'c' count, the meta "queued" count
// and its sender's entry in senders in the same transaction.

// counts is a pair of counters as stored: messages, then bytes.
type counts struct{ messages, bytes int64 }

// add returns c with n messages of size bytes added (negative: taken
// away).
func (c counts) add(n, size int64) counts { return counts{c.messages + n, c.bytes + size} }

// readCounts decodes a stored pair; a missing one is zero.
func readCounts(v []byte) counts {
	if len(v) != 16 {
		return counts{}
	}
	return counts{int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))}
}

// encode returns the stored form of c.
func (c counts) encode() []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(c.messages))
	return binary.BigEndian.AppendUint64(v, uint64(c.bytes))
}

// countKey is the key of an inbox's counts.
var countKey = []byte{prefixCount}

// queuedMsg is what putInbox needs of a message besides its encoding.
type queuedMsg struct{ to, from, id string }

// countsForSender reports whether a message from from to to counts
// against its sender: not a note to oneself, nor one without a sender.
func countsForSender(from, to string) bool { return from != "" && from != to }

// putInbox appends a message to its recipient's inbox unless its id is
// there already, and says where it is. When it would pass a cap of q it
// returns the refusal (refuse), having changed nothing.
func putInbox(tx *bolt.Tx, m queuedMsg, data []byte, q quota) (Enqueued, error) {
	top := tx.Bucket(bucketInbox)
	idKey := prefixed(prefixID, m.id)
	if b := top.Bucket([]byte(m.to)); b != nil {
		if entry := b.Get(idKey); len(entry) >= 8 {
			return Enqueued{Pos: decodeU64(entry[:8])}, nil
		}
	}
	seq, err := addToInbox(tx, m, idKey, data, q)
	return Enqueued{Pos: seq, New: err == nil}, err
}

// addToInbox is putInbox for a message that is not in the inbox: it
// returns the message's seq.
func addToInbox(tx *bolt.Tx, m queuedMsg, idKey, data []byte, q quota) (uint64, error) {
	top := tx.Bucket(bucketInbox)
	size := int64(len(data))
	senders, meta := tx.Bucket(bucketSenders), tx.Bucket(bucketMeta)
	total := readCounts(meta.Get(keyQueued))
	var theirs int64
	if countsForSender(m.from, m.to) {
		theirs = int64(decodeU64(senders.Get([]byte(m.from))))
	}
	if err := q.check(size, theirs, total.bytes, !countsForSender(m.from, m.to)); err != nil {
		return 0, refuse(err)
	}
	b, err := top.CreateBucketIfNotExists([]byte(m.to))
	if err != nil {
		return 0, fmt.Errorf("store: inbox of %q: %w", m.to, err)
	}
	seq, err := top.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := b.Put(idKey, append(encodeU64(seq), m.from...)); err != nil {
		return 0, err
	}
	if err := b.Put(prefixed(prefixMsg, string(encodeU64(seq))), data); err != nil {
		return 0, err
	}
	if err := b.Put(countKey, readCounts(b.Get(countKey)).add(1, size).encode()); err != nil {
		return 0, err
	}
	if err := meta.Put(keyQueued, total.add(1, size).encode()); err != nil {
		return 0, err
	}
	if countsForSender(m.from, m.to) {
		err = senders.Put([]byte(m.from), encodeU64(uint64(theirs+size)))
	}
	return seq, err
}

// ackInbox removes the messages with the given ids from user's inbox, and
// what they held from the counts.
func ackInbox(tx *bolt.Tx, user string, ids []string) error {
	b := userBucket(tx, bucketInbox, user)
	if b == nil {
		return nil
	}
	var gone counts
	bySender := map[string]int64{}
	for _, id := range ids {
		idKey := prefixed(prefixID, id)
		entry := b.Get(idKey)
		if len(entry) < 8 {
			continue
		}
		msgKey := prefixed(prefixMsg, string(entry[:8])) // copies before the deletes
		data := b.Get(msgKey)
		from, err := senderOf(entry, data)
		if err != nil {
			return fmt.Errorf("store: inbox of %q: %w", user, err)
		}
		size := int64(len(data))
		if err := deleteAll(b, [][]byte{idKey, msgKey}); err != nil {
			return err
		}
		gone = gone.add(1, size)
		if countsForSender(from, user) {
			bySender[from] += size
		}
	}
	if gone.messages == 0 {
		return nil
	}
	return uncount(tx, b, gone, bySender)
}

// senderOf returns the sender of a message from its 'i' entry, or, for an
// entry of format 1, which holds the seq alone, from the message itself.
func senderOf(entry, data []byte) (string, error) {
	if len(entry) > 8 {
		return string(entry[8:]), nil
	}
	var m chatpb.Message
	if err := proto.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("decoding a message: %w", err)
	}
	return m.From, nil
}

// uncount takes what ackInbox removed from inbox b out of the counts.
func uncount(tx *bolt.Tx, b *bolt.Bucket, gone counts, bySender map[string]int64) error {
	neg := counts{-gone.messages, -gone.bytes}
	if err := b.Put(countKey, readCounts(b.Get(countKey)).add(neg.messages, neg.bytes).encode()); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyQueued, readCounts(meta.Get(keyQueued)).add(neg.messages, neg.bytes).encode()); err != nil {
		return err
	}
	senders := tx.Bucket(bucketSenders)
	for from, size := range bySender {
		key := []byte(from)
		left := int64(decodeU64(senders.Get(key))) - size
		var err error
		if left > 0 {
			err = senders.Put(key, encodeU64(uint64(left)))
		} else {
			err = senders.Delete(key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inboxStats reads the counts and the newest position of inbox b; nil is
// an empty inbox. 'm' is the last prefix in an inbox, so its last key is
// the newest message's.
func inboxStats(b *bolt.Bucket) InboxStats {
	if b == nil {
		return InboxStats{}
	}
	c := readCounts(b.Get(countKey))
	st := InboxStats{Messages: int(c.messages), Bytes: c.bytes}
	if k, _ := b.Cursor().Last(); len(k) == 9 && k[0] == prefixMsg {
		st.Last = decodeU64(k[1:])
	}
	return st
}

// rawPage is a page as read in a transaction: the records still encoded,
// copied out of the file's pages.
type rawPage struct {
	data      [][]byte
	positions []uint64
	more      bool
	stats     InboxStats
}

// readPage reads the page of user's inbox after the position after (see
// Store.InboxPage).
func readPage(tx *bolt.Tx, user string, after uint64, limit, maxBytes int) rawPage {
	b := userBucket(tx, bucketInbox, user)
	p := rawPage{stats: inboxStats(b)}
	if b == nil {
		return p
	}
	var size int64
	c := b.Cursor()
	for k, v := c.Seek(prefixed(prefixMsg, string(encodeU64(after+1)))); k != nil && k[0] == prefixMsg; k, v = c.Next() {
		if pageFull(len(p.data), size, limit, maxBytes) {
			p.more = true
			break
		}
		p.data = append(p.data, bytes.Clone(v))
		p.positions = append(p.positions, decodeU64(k[1:]))
		size += int64(len(v))
	}
	return p
}

// upgradeV1 brings a file of format 1 to this format: it counts what every
// inbox holds, and by whom, once.
func upgradeV1(tx *bolt.Tx) error {
	senders, err := tx.CreateBucketIfNotExists(bucketSenders)
	if err != nil {
		return err
	}
	var names []string // collected first: the walk must not change the bucket it walks
	err = tx.Bucket(bucketInbox).ForEachBucket(func(name []byte) error {
		names = append(names, string(name))
		return nil
	})
	if err != nil {
		return err
	}
	var total counts
	bySender := map[string]int64{}
	for _, name := range names {
		in, err := countV1Inbox(tx.Bucket(bucketInbox).Bucket([]byte(name)), name, bySender)
		if err != nil {
			return err
		}
		total = total.add(in.messages, in.bytes)
	}
	for from, size := range bySender {
		if err := senders.Put([]byte(from), encodeU64(uint64(size))); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyQueued, total.encode()); err != nil {
		return err
	}
	return meta.Put(keyFormat, []byte(formatVersion))
}

// countV1Inbox counts what the inbox b of user holds, adds each sender's
// share to bySender, and stores the inbox's counts.
func countV1Inbox(b *bolt.Bucket, user string, bySender map[string]int64) (counts, error) {
	var in counts
	err := forPrefix(b, prefixMsg, func(_, v []byte) error {
		var m chatpb.Message
		if err := proto.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("store: upgrading the inbox of %q: %w", user, err)
		}
		in = in.add(1, int64(len(v)))
		if countsForSender(m.From, user) {
			bySender[m.From] += int64(len(v))
		}
		return nil
	})
	if err != nil {
		return in, err
	}
	return in, b.Put(countKey, in.encode())
}
