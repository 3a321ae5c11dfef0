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
// numeric order.
//
//	meta    "format" -> formatVersion
//	        "epoch"  -> the last epoch handed out
//	users   name -> empty
//	inbox   (sequence: the last inbox seq, shared by all users)
//	        name -> bucket:
//	            'm' seq -> Message   (so a cursor walks an inbox oldest first)
//	            'i' id  -> seq       (so Ack finds a message by id)
//	public  (sequence: the last public seq)
//	        seq -> Message
//	keys    name -> bucket:
//	            'k' key              -> KeyRecord
//	            'e' expiry(ms) key   -> empty (so pruning walks expired keys only)
var (
	bucketMeta   = []byte("meta")
	bucketUsers  = []byte("users")
	bucketInbox  = []byte("inbox")
	bucketPublic = []byte("public")
	bucketKeys   = []byte("keys")

	keyFormat = []byte("format")
	keyEpoch  = []byte("epoch")
)

// formatVersion is written into new files; a file with another version is
// refused rather than misread.
const formatVersion = "1"

// Prefixes of the keys inside a user's inbox and keys buckets.
const (
	prefixMsg    = 'm'
	prefixID     = 'i'
	prefixKey    = 'k'
	prefixExpiry = 'e'
)

// allBuckets are the top-level buckets of a chat store.
var allBuckets = [][]byte{bucketMeta, bucketUsers, bucketInbox, bucketPublic, bucketKeys}

// initLayout creates the layout in an empty file and checks it otherwise.
func initLayout(tx *bolt.Tx) error {
	if err := checkLayout(tx); err != nil || tx.Bucket(bucketMeta) != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatVersion))
}

// checkLayout checks that tx holds a chat store of this format, or nothing
// at all (a new file).
func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return fmt.Errorf("it holds bbolt data of another program (bucket %q)", k)
		}
		return nil
	}
	if v := meta.Get(keyFormat); string(v) != formatVersion {
		return fmt.Errorf("format %q, this program reads %q", v, formatVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %q is missing", name)
		}
	}
	if v := meta.Get(keyEpoch); v != nil && len(v) != 8 {
		return fmt.Errorf("the epoch is %d bytes long, not 8", len(v))
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

// putInbox appends a message to user's inbox unless its id is there already.
func putInbox(tx *bolt.Tx, user, id string, data []byte) error {
	top := tx.Bucket(bucketInbox)
	b, err := top.CreateBucketIfNotExists([]byte(user))
	if err != nil {
		return fmt.Errorf("store: inbox of %q: %w", user, err)
	}
	idKey := prefixed(prefixID, id)
	if b.Get(idKey) != nil {
		return nil
	}
	seq, err := top.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(idKey, encodeU64(seq)); err != nil {
		return err
	}
	return b.Put(prefixed(prefixMsg, string(encodeU64(seq))), data)
}

// ackInbox removes the messages with the given ids from user's inbox.
func ackInbox(tx *bolt.Tx, user string, ids []string) error {
	b := userBucket(tx, bucketInbox, user)
	if b == nil {
		return nil
	}
	for _, id := range ids {
		idKey := prefixed(prefixID, id)
		seq := b.Get(idKey)
		if seq == nil {
			continue
		}
		msgKey := prefixed(prefixMsg, string(seq)) // copies seq before the deletes
		if err := b.Delete(idKey); err != nil {
			return err
		}
		if err := b.Delete(msgKey); err != nil {
			return err
		}
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
