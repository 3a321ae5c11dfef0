package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// What only the PostgreSQL store promises about the inboxes' counts: they
// hold across nodes, and a database of the first schema gets them.

// Two nodes enqueueing at once into one database never take the queued
// bytes past the cap, nor one sender past its own: each checks on the
// counts the other's commits left.
func TestPostgresNodesShareTheCaps(t *testing.T) {
	one := size(dmFrom("00", "alice", "bob", 100))
	a, b, url := twoNodes(t, Config{MaxQueuedBytes: 6*one + one/2, SenderMaxBytes: 2*one + one/2})
	type outcome struct {
		bytes int64
		err   error
	}
	results := make(chan outcome, 40)
	var wg sync.WaitGroup
	for i := range 40 {
		node := []*Postgres{a, b}[i%2]
		m := dmFrom(fmt.Sprintf("%02d", i), fmt.Sprintf("us%03d", i%5), "bob", 100) // five senders, each as long as "alice"
		wg.Go(func() {
			err := do(t, func(done func(error)) { node.Enqueue(m, done) })
			results <- outcome{size(m), err}
		})
	}
	wg.Wait()
	close(results)
	var accepted int64
	for r := range results {
		switch {
		case r.err == nil:
			accepted += r.bytes
		case !errors.Is(r.err, ErrSenderFull) && !errors.Is(r.err, ErrStorageFull):
			t.Fatal(r.err)
		}
	}
	u := usage(t, a)
	if accepted != 6*one || u.QueuedBytes != accepted {
		t.Fatalf("accepted %d bytes, usage %+v; the cap holds 6 messages of %d", accepted, u, one)
	}
	if counts := sqlInt(t, url, "SELECT count(*) FROM sender_totals WHERE bytes > $1", 2*one+one/2); counts != 0 {
		t.Fatalf("%d senders past their cap", counts)
	}
}

// A database of the first schema, with messages queued, gets the counts
// of what its inboxes hold when the store opens it; its old messages count
// against no sender, since their rows do not say who sent them.
func TestPostgresMigratesInboxCounts(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(t.Context(), sqlConn(t, url), all[:1], slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	old := []*chatpb.Message{dmFrom("a0", "alice", "bob", 100), dmFrom("a1", "alice", "bob", 300)}
	for _, m := range old {
		data, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		sqlExec(t, url, "INSERT INTO inbox (recipient, id, message) VALUES ($1, $2, $3)", m.To, m.Id, data)
	}
	one := size(old[0])
	s := openPostgres(t, url, Config{SenderMaxBytes: one + one/2})

	if st := stats(t, s, "bob"); st.Messages != 2 || st.Bytes != size(old[0])+size(old[1]) || st.Last == 0 {
		t.Fatalf("bob's stats after the migration %+v", st)
	}
	must(t, func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) })
	must(t, func(done func(error)) { s.Ack("bob", []string{"a0", "a1"}, done) })
	if u := usage(t, s); u.QueuedMessages != 1 || u.QueuedBytes != one {
		t.Fatalf("usage after acking the old messages %+v", u)
	}
	if err := do(t, func(done func(error)) { s.Enqueue(dmFrom("a3", "alice", "bob", 100), done) }); !errors.Is(err, ErrSenderFull) {
		t.Fatalf("alice's second new message: %v, want ErrSenderFull", err)
	}
}

// A full batch of enqueues from one sender to one recipient, with both
// caps on, is one commit well within the query timeout: the counts move
// once per batch (chat_settle), not once per message, so the batch costs
// each message about its own insert. (Moving them per message, 10,000 such
// messages took over 5 s: each update walked the versions the ones before
// it left.)
func TestPostgresFullEnqueueBatch(t *testing.T) {
	const n = 10_000
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{MaxBatch: n, MaxQueuedBytes: 1 << 40, SenderMaxBytes: 1 << 40})
	release := blockWriter(t, s)
	var log ordered
	for i := range n {
		s.Enqueue(dmFrom(fmt.Sprint(i), "alice", "bob", 100), log.done(t, i))
	}
	start := time.Now()
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d enqueues committed in %v", n, time.Since(start))
	want(t, "callback order", log.calls, seq(n))
	if c := s.commits.Load(); c != 2 {
		t.Fatalf("%d commits for the blocker and a full batch, want 2", c)
	}
}
