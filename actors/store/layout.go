package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// The bbolt file's layout. Every value that is a record is protobuf bytes.
// Numbers in keys are 8-byte big-endian, so that bbolt's byte order is
// numeric order; counts are pairs of them.
//
//	meta    "format" -> formatVersion
//	        "epoch"  -> the last epoch handed out
//	        "queued" -> messages, bytes: what all inboxes hold (layout_inbox.go)
//	users   name -> empty
//	inbox   (sequence: the last inbox seq, shared by all users)
//	        name -> bucket:
//	            'c'     -> messages, bytes: what this inbox holds
//	            'm' seq -> Message   (so a cursor walks an inbox oldest first)
//	            'i' id  -> seq, then the sender's name (so Ack finds a message by id)
//	senders name -> bytes that name has queued in others' inboxes (no zeros)
//	public  (sequence: the last public seq)
//	        seq -> Message
//	keys    name -> bucket:
//	            'k' key              -> KeyRecord
//	            'e' expiry(ms) key   -> empty (so pruning walks expired keys only)
var (
	bucketMeta    = []byte("meta")
	bucketUsers   = []byte("users")
	bucketInbox   = []byte("inbox")
	bucketSenders = []byte("senders")
	bucketPublic  = []byte("public")
	bucketKeys    = []byte("keys")

	keyFormat = []byte("format")
	keyEpoch  = []byte("epoch")
	keyQueued = []byte("queued")
)

// formatVersion is written into new files; a file with another version is
// refused rather than misread, except formatV1, which OpenBolt upgrades.
// Format 2 added the counts ("queued", 'c', senders) and the sender's name
// after an 'i' entry's seq; format 1's entries hold the seq alone.
const (
	formatVersion = "2"
	formatV1      = "1"
)

// Prefixes of the keys inside a user's inbox and keys buckets.
const (
	prefixCount  = 'c'
	prefixMsg    = 'm'
	prefixID     = 'i'
	prefixKey    = 'k'
	prefixExpiry = 'e'
)

// allBuckets are the top-level buckets of a chat store.
var allBuckets = [][]byte{bucketMeta, bucketUsers, bucketInbox, bucketSenders, bucketPublic, bucketKeys}

// initLayout creates the layout in an empty file, upgrades a file of
// format 1, and checks it otherwise.
func initLayout(tx *bolt.Tx) error {
	if err := checkLayout(tx); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatVersion))
	}
	if string(meta.Get(keyFormat)) == formatV1 {
		return upgradeV1(tx) // layout_inbox.go
	}
	return nil
}

// checkLayout checks that tx holds a chat store of this format or of
// format 1, or nothing at all (a new file).
func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return fmt.Errorf("it holds bbolt data of another program (bucket %q)", k)
		}
		return nil
	}
	format := string(meta.Get(keyFormat))
	if format != formatVersion && format != formatV1 {
		return fmt.Errorf("format %q, this program reads %q (and upgrades %q)", format, formatVersion, formatV1)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil && (format == formatVersion || !bytes.Equal(name, bucketSenders)) {
			return fmt.Errorf("bucket %q is missing", name)
		}
	}
	if v := meta.Get(keyEpoch); v != nil && len(v) != 8 {
		return fmt.Errorf("the epoch is %d bytes long, not 8", len(v))
	}
	if v := meta.Get(keyQueued); v != nil && len(v) != 16 {
		return fmt.Errorf("the queued count is %d bytes long, not 16", len(v))
	}
	return nil
}

// checkPages runs bbolt's consistency check and returns its first finding.
func checkPages(tx *bolt.Tx) error {
	var first error
	for err := range tx.Check() { // drain: the checker goroutine sends them all
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("consistency check: %w", first)
	}
	return nil
}

// appendPublic adds a public message and drops those past the newest limit.
// Sequences are consecutive and only the oldest are ever deleted, so the
// kept ones are exactly the seqs above seq-limit.
func appendPublic(tx *bolt.Tx, data []byte, limit uint64) error {
	b := tx.Bucket(bucketPublic)
	b.FillPercent = 1 // keys only ever grow: fill pages before splitting
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(encodeU64(seq), data); err != nil {
		return err
	}
	if seq <= limit {
		return nil
	}
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && decodeU64(k) <= seq-limit; k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	return deleteAll(b, old)
}

// putKey stores a key record, replacing an older one under the same key,
// and drops user's keys that expired by nowMs.
func putKey(tx *bolt.Tx, user, key string, exp int64, data []byte, nowMs int64) error {
	b, err := tx.Bucket(bucketKeys).CreateBucketIfNotExists([]byte(user))
	if err != nil {
		return fmt.Errorf("store: keys of %q: %w", user, err)
	}
	recKey := prefixed(prefixKey, key)
	if old := b.Get(recKey); old != nil {
		var r chatpb.KeyRecord
		if proto.Unmarshal(old, &r) == nil {
			if err := b.Delete(expiryKey(r.ExpiresUnixMs, key)); err != nil {
				return err
			}
		}
	}
	if err := b.Put(recKey, data); err != nil {
		return err
	}
	if err := b.Put(expiryKey(exp, key), []byte{}); err != nil {
		return err
	}
	return pruneKeys(b, nowMs)
}

// pruneKeys deletes the keys of one user's bucket that expired by nowMs.
func pruneKeys(b *bolt.Bucket, nowMs int64) error {
	var dead [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte{prefixExpiry}); k != nil && k[0] == prefixExpiry; k, _ = c.Next() {
		if len(k) < 9 || int64(decodeU64(k[1:9])) > nowMs {
			break
		}
		dead = append(dead, bytes.Clone(k))
		// The record is dropped only if it is the one this entry indexes:
		// an unreadable old record may have left a stale entry behind.
		recKey := prefixed(prefixKey, string(k[9:]))
		var r chatpb.KeyRecord
		if v := b.Get(recKey); v != nil && (proto.Unmarshal(v, &r) != nil || r.ExpiresUnixMs <= nowMs) {
			dead = append(dead, recKey)
		}
	}
	return deleteAll(b, dead)
}

// deleteAll deletes keys from b. Deleting after the cursor walk, not during
// it, keeps the walk from skipping keys.
func deleteAll(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// userBucket returns the bucket of user inside the top-level bucket top, or
// nil when user has none yet.
func userBucket(tx *bolt.Tx, top []byte, user string) *bolt.Bucket {
	if user == "" {
		return nil
	}
	return tx.Bucket(top).Bucket([]byte(user))
}

// forPrefix calls fn for each key of b that starts with prefix, in order.
func forPrefix(b *bolt.Bucket, prefix byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek([]byte{prefix}); k != nil && k[0] == prefix; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// prefixed returns a new key: the prefix byte, then s.
func prefixed(prefix byte, s string) []byte {
	k := make([]byte, 1+len(s))
	k[0] = prefix
	copy(k[1:], s)
	return k
}

// expiryKey is the expiry-index key of key; negative expiries sort first.
func expiryKey(expMs int64, key string) []byte {
	return prefixed(prefixExpiry, string(encodeU64(uint64(max(expMs, 0))))+key)
}

// encodeU64 returns v as 8 big-endian bytes.
func encodeU64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

// decodeU64 reads 8 big-endian bytes; a missing value is 0. initLayout has
// checked the length of stored numbers.
func decodeU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
