package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/actorchat/chat/proto/chatpb"
)

// snapshot is everything a store holds that a test can read back.
type snapshot struct {
	users, history, accounts []string
	inboxes                  map[string][]string
	stats                    map[string]InboxStats
	keys, tokens             []string
	usage                    Usage
}

// snapshotOf reads back what s holds of the given users.
func snapshotOf(t *testing.T, s *Bolt, names ...string) snapshot {
	t.Helper()
	accts, err := s.ListAccounts()
	if err != nil {
		t.Fatal(err)
	}
	sn := snapshot{
		users: sortedUsers(t, s), history: recent(t, s),
		inboxes: map[string][]string{}, stats: map[string]InboxStats{},
		keys: keyNames(t, s, "alice", 0), tokens: tokenIDs(t, s, "alice", 0), usage: usage(t, s),
	}
	for _, a := range accts {
		sn.accounts = append(sn.accounts, a.Name+":"+a.PasswordHash)
	}
	for _, name := range names {
		sn.inboxes[name], sn.stats[name] = inbox(t, s, name), stats(t, s, name)
	}
	sn.usage.StoreBytes, sn.usage.FreeBytes = 0, 0 // what compaction changes
	return sn
}

// fillAndDeliver writes a store's every kind of record, a flood of private
// messages for bob among them, then acks (delivers) all of bob's but the
// last three: what a server that weathered the flood leaves.
func fillAndDeliver(t *testing.T, path string) {
	t.Helper()
	s, err := OpenBolt(path, Config{PublicHistory: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UnixMilli()
	for _, name := range []string{"alice", "bob"} {
		must(t, func(done func(error)) { s.CreateAccount(account(name, "hash-"+name), done) })
	}
	must(t, func(done func(error)) { s.PutToken(token("t1", "alice", exp), "hash-alice", done) })
	must(t, func(done func(error)) {
		s.PutKey("alice", &chatpb.KeyRecord{Key: "k1", Id: "x", ExpiresUnixMs: exp}, done)
	})
	for i := range 20 {
		s.AppendPublic(pub(fmt.Sprint("p", i)), nil)
	}
	const flood = 2000
	var ids []string
	for i := range flood {
		m := dmFrom(fmt.Sprint("b", i), "alice", "bob", 2000)
		ids = append(ids, m.Id)
		s.Enqueue(m, nil)
	}
	for i := range 5 {
		s.Enqueue(dmFrom(fmt.Sprint("c", i), "alice", "carol", 100), nil)
	}
	must(t, func(done func(error)) { s.Ack("bob", ids[:flood-3], done) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A file that held a flood of queued messages, delivered since, shrinks
// when compacted, and keeps everything else: accounts, tokens, keys,
// history, the rest of the inboxes and their counts, and the sequences
// that order inboxes and hand out epochs.
func TestCompactBoltShrinksAndKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	fillAndDeliver(t, path)
	s := openBolt(t, path, Config{PublicHistory: 10})
	before := snapshotOf(t, s, "bob", "carol")
	if len(before.inboxes["bob"]) != 3 || len(before.inboxes["carol"]) != 5 || len(before.history) != 10 ||
		len(before.keys) != 1 || len(before.tokens) != 1 || len(before.accounts) != 2 {
		t.Fatalf("the filled store holds %+v", before)
	}
	if u := usage(t, s); u.FreeBytes < u.StoreBytes/2 {
		t.Fatalf("usage %+v: the delivered flood should have left most of the file free", u)
	}
	epoch, err := s.NextEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	res, err := CompactBolt(path, Config{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.After <= 0 || res.After > res.Before/4 || res.Backup != "" {
		t.Fatalf("compacted from %d to %d bytes (backup %q); want a quarter at most", res.Before, res.After, res.Backup)
	}
	for _, left := range []string{path + ".bak", path + ".compact"} {
		if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind: %v", left, err)
		}
	}
	if info, err := os.Stat(path); err != nil || info.Size() != res.After {
		t.Fatalf("the file after compaction: %v, %v; reported %d bytes", info, err, res.After)
	}

	s = openBolt(t, path, Config{PublicHistory: 10})
	if after := snapshotOf(t, s, "bob", "carol"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after compaction:\n%+v\nbefore:\n%+v", after, before)
	}
	if next, err := s.NextEpoch(); err != nil || next <= epoch {
		t.Fatalf("epoch after compaction %d, %v; before it %d", next, err, epoch)
	}
	must(t, func(done func(error)) { s.Enqueue(dmFrom("later", "carol", "bob", 10), done) })
	want(t, "bob's inbox goes on after compaction", inbox(t, s, "bob"), append(before.inboxes["bob"], "later"))
}

// A server holds its file's lock: compacting under it fails, says so,
// and leaves the file as it was.
func TestCompactBoltRefusesAFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openBolt(t, path, Config{})
	must(t, func(done func(error)) { s.Enqueue(dm("1", "bob"), done) })
	before, _ := os.ReadFile(path)
	_, err := CompactBolt(path, Config{OpenTimeout: 50 * time.Millisecond}, false)
	if !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("compacting a file in use: %v, want a lock timeout", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("the refused compaction changed the file")
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a copy left behind: %v", err)
	}
}

// A backup left by a compaction that did not finish is the operator's to
// look at: compaction refuses to run over it. Asked to, it keeps the
// original as the backup.
func TestCompactBoltBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	fillAndDeliver(t, path)
	if err := os.WriteFile(path+".bak", []byte("an earlier run's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CompactBolt(path, Config{}, false); err == nil || !strings.Contains(err.Error(), ".bak") {
		t.Fatalf("compacting beside a leftover backup: %v", err)
	}
	if err := os.Remove(path + ".bak"); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := CompactBolt(path, Config{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := os.ReadFile(res.Backup); err != nil || string(kept) != string(original) || res.Backup != path+".bak" {
		t.Fatalf("backup %q: %d bytes, %v; want the original's %d", res.Backup, len(kept), err, len(original))
	}
}

// What compaction gives back after a flood: 100,000 private messages of
// 4 KB for 1,000 users, all delivered but one each. Reported: the file
// before and after, in MB, and how long compaction took.
//
//	go test -run '^$' -bench CompactBoltAfterFlood -benchtime 1x -count 3 ./actors/store/
func BenchmarkCompactBoltAfterFlood(b *testing.B) {
	const messages, users = 100_000, 1000
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "chat.db")
		floodAndDeliver(b, path, messages, users)
		b.StartTimer()
		start := time.Now()
		res, err := CompactBolt(path, Config{}, false)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Before)/(1<<20), "before-MB")
		b.ReportMetric(float64(res.After)/(1<<20), "after-MB")
		b.ReportMetric(time.Since(start).Seconds(), "compact-s")
	}
}

// floodAndDeliver queues messages of 4 KB round robin for users, then
// acks all of them but each user's last.
func floodAndDeliver(b *testing.B, path string, messages, users int) {
	b.Helper()
	s, err := OpenBolt(path, Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	byUser := make([][]string, users)
	text := strings.Repeat("x", 4000)
	for i := range messages {
		u := i % users
		m := &chatpb.Message{Id: fmt.Sprint("m", i), Kind: chatpb.Kind_KIND_DM,
			From: fmt.Sprint("s", i%10), To: fmt.Sprint("u", u), Text: text}
		byUser[u] = append(byUser[u], m.Id)
		s.Enqueue(m, nil)
	}
	for u, ids := range byUser {
		s.Ack(fmt.Sprint("u", u), ids[:len(ids)-1], nil)
	}
	if err := s.Close(); err != nil { // drains every write first
		b.Fatal(err)
	}
}
