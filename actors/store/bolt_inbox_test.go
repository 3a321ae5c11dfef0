package store

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// What only the durable store promises about the inboxes' counts: they
// survive a restart, and a file written before they existed gets them.

func TestBoltCountsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	one := size(dmFrom("00", "alice", "bob", 100))
	cfg := Config{SenderMaxBytes: 2*one + one/2}
	s, err := OpenBolt(path, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a0", "a1"} {
		must(t, func(done func(error)) { s.Enqueue(dmFrom(id, "alice", "bob", 100), done) })
	}
	before := stats(t, s, "bob")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openBolt(t, path, cfg)
	if got := stats(t, s, "bob"); got != before || got.Messages != 2 {
		t.Fatalf("bob's stats after reopen %+v, before %+v", got, before)
	}
	if u := usage(t, s); u.QueuedMessages != 2 || u.QueuedBytes != 2*one || u.StoreBytes == 0 {
		t.Fatalf("usage after reopen %+v", u)
	}
	if err := do(t, func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) }); !errors.Is(err, ErrSenderFull) {
		t.Fatalf("alice's third message after reopen: %v, want ErrSenderFull", err)
	}
	must(t, func(done func(error)) { s.Ack("bob", []string{"a0"}, done) })
	must(t, func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) })
}

// TestBoltUpgradesAFormat1File opens a file written before the counts
// existed (format 1: no counts, 'i' entries holding the seq alone): it
// opens, counts what it holds once, and from then on keeps the counts as
// for any message, its old ones included.
func TestBoltUpgradesAFormat1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	old := []*chatpb.Message{
		dmFrom("a0", "alice", "bob", 100), dmFrom("a1", "alice", "carol", 100), dmFrom("b0", "bob", "bob", 100),
	}
	writeFormat1(t, path, old)
	one := size(old[0])
	s := openBolt(t, path, Config{SenderMaxBytes: 2*one + one/2})

	if st := stats(t, s, "bob"); st.Messages != 2 || st.Bytes != size(old[0])+size(old[2]) || st.Last == 0 {
		t.Fatalf("bob's stats after the upgrade %+v", st)
	}
	if u := usage(t, s); u.QueuedMessages != 3 || u.QueuedBytes != size(old[0])+size(old[1])+size(old[2]) {
		t.Fatalf("usage after the upgrade %+v", u)
	}
	if err := do(t, func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) }); !errors.Is(err, ErrSenderFull) {
		t.Fatalf("alice's third message: %v, want ErrSenderFull: her old ones count", err)
	}
	must(t, func(done func(error)) { s.Ack("bob", []string{"a0", "b0"}, done) })
	must(t, func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) })
	want(t, "bob's inbox", inbox(t, s, "bob"), []string{"a2"})
	if u := usage(t, s); u.QueuedMessages != 2 || u.QueuedBytes != size(old[1])+one {
		t.Fatalf("usage after acking old messages %+v", u)
	}
}

// writeFormat1 writes a file as format 1 did, holding msgs in their
// recipients' inboxes.
func writeFormat1(t *testing.T, path string, msgs []*chatpb.Message) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketUsers, bucketInbox, bucketPublic, bucketKeys} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV1)); err != nil {
			return err
		}
		for _, m := range msgs {
			if err := putFormat1(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}

// putFormat1 is format 1's putInbox.
func putFormat1(tx *bolt.Tx, m *chatpb.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	top := tx.Bucket(bucketInbox)
	b, err := top.CreateBucketIfNotExists([]byte(m.To))
	if err != nil {
		return err
	}
	seq, err := top.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(prefixed(prefixID, m.Id), encodeU64(seq)); err != nil {
		return err
	}
	return b.Put(prefixed(prefixMsg, string(encodeU64(seq))), data)
}
