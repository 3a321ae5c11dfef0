package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// The conformance suite's part for paged inbox reads, the inboxes' counts
// and the caps (inbox.go): every implementation must pass each test.

// readPageOf makes one InboxPage read and waits for it.
func readPageOf(t testing.TB, s Store, user string, after uint64, limit, maxBytes int) Page {
	t.Helper()
	type result struct {
		p   Page
		err error
	}
	ch := make(chan result, 1)
	s.InboxPage(user, after, limit, maxBytes, func(p Page, err error) { ch <- result{p, err} })
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("InboxPage(%s, %d, %d, %d): %v", user, after, limit, maxBytes, r.err)
		}
		if len(r.p.Positions) != len(r.p.Messages) {
			t.Fatalf("a page of %d messages and %d positions", len(r.p.Messages), len(r.p.Positions))
		}
		return r.p
	case <-time.After(waitTimeout):
		t.Fatal("InboxPage's callback never called")
		return Page{}
	}
}

func stats(t testing.TB, s Store, user string) InboxStats {
	t.Helper()
	st, err := s.InboxStats(user)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func usage(t testing.TB, s Store) Usage {
	t.Helper()
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// size is the stored size of m: its encoding's.
func size(m *chatpb.Message) int64 { return int64(proto.Size(m)) }

// dmFrom is a private message of n bytes of text from one user to another.
func dmFrom(id, from, to string, n int) *chatpb.Message {
	m := dm(id, to)
	m.From, m.Text = from, strings.Repeat("x", n)
	return m
}

// A user actor drains a long inbox a page at a time: each page starts
// after the position the last one ended at, holds the oldest messages not
// read yet, and says whether more follow.
func TestInboxPages(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		var wantBytes int64
		for i := range 10 {
			m := dm(fmt.Sprint("b", i), "bob")
			wantBytes += size(m)
			must(t, func(done func(error)) { s.Enqueue(m, done) })
			must(t, func(done func(error)) { s.Enqueue(dm(fmt.Sprint("c", i), "carol"), done) })
		}
		var got []string
		var last uint64
		for n := 0; ; n++ {
			p := readPageOf(t, s, "bob", last, 4, 0)
			if len(p.Messages) == 0 || n > 3 {
				t.Fatalf("page %d: %d messages after %v", n, len(p.Messages), got)
			}
			if !slices.IsSorted(p.Positions) || p.Positions[0] <= last {
				t.Fatalf("page %d: positions %v after %d", n, p.Positions, last)
			}
			if p.Stats != (InboxStats{Messages: 10, Bytes: wantBytes, Last: p.Stats.Last}) || p.Stats.Last == 0 {
				t.Fatalf("page %d: stats %+v, want 10 messages of %d bytes", n, p.Stats, wantBytes)
			}
			got = append(got, ids(p.Messages)...)
			last = p.Positions[len(p.Positions)-1]
			if !p.More {
				break
			}
		}
		want(t, "bob's inbox read by pages", got, inbox(t, s, "bob"))
		if st := stats(t, s, "bob"); st.Last != last || st.Messages != 10 {
			t.Fatalf("stats %+v, want the last position %d", st, last)
		}
		if p := readPageOf(t, s, "bob", last, 4, 0); len(p.Messages) != 0 || p.More {
			t.Fatalf("after the last message: %v, more %v", ids(p.Messages), p.More)
		}

		must(t, func(done func(error)) { s.Ack("bob", []string{"b0", "b4", "b5"}, done) })
		p := readPageOf(t, s, "bob", 0, 3, 0)
		want(t, "the first page after an ack", ids(p.Messages), []string{"b1", "b2", "b3"})
		if !p.More || p.Stats.Messages != 7 {
			t.Fatalf("after the ack: more %v, stats %+v", p.More, p.Stats)
		}
		if p := readPageOf(t, s, "nobody", 0, 3, 0); len(p.Messages) != 0 || p.More || p.Stats != (InboxStats{}) {
			t.Fatalf("an unknown inbox: %+v", p)
		}
	})
}

// A page also stops at a byte budget, but never comes back empty while
// messages wait: one larger than the budget comes alone.
func TestInboxPageByteBudget(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		for i, n := range []int{100, 100, 100, 5000, 10} {
			must(t, func(done func(error)) { s.Enqueue(dmFrom(fmt.Sprint(i), "alice", "bob", n), done) })
		}
		one := size(dmFrom("0", "alice", "bob", 100))
		p := readPageOf(t, s, "bob", 0, 10, int(2*one))
		want(t, "a page of two messages' bytes", ids(p.Messages), []string{"0", "1"})
		p = readPageOf(t, s, "bob", p.Positions[1], 10, int(2*one)+1)
		want(t, "a page that crosses its budget by one", ids(p.Messages), []string{"2", "3"})
		p = readPageOf(t, s, "bob", p.Positions[0], 10, 1)
		want(t, "a page smaller than its one message", ids(p.Messages), []string{"3"})
		if !p.More {
			t.Fatal("more not told")
		}
		p = readPageOf(t, s, "bob", 0, 0, 0)
		want(t, "a limit under 1", ids(p.Messages), []string{"0"})
	})
}

// InboxPage is ordered like a write: it sees every write submitted
// before it and none after, and its callback comes in their order, even
// when they are all queued behind a busy writer.
func TestInboxPageIsOrderedWithWrites(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		release := func() {}
		if _, sync := s.(*Memory); !sync {
			release = blockWriter(t, s)
		}
		var mu sync.Mutex
		var log []string
		note := func(what string) { mu.Lock(); log = append(log, what); mu.Unlock() }
		pages := make(chan Page, 2)
		read := func(what string) {
			s.InboxPage("bob", 0, 10, 0, func(p Page, err error) {
				if err != nil {
					t.Error(err)
				}
				note(what)
				pages <- p
			})
		}
		s.Enqueue(dm("a", "bob"), func(error) { note("enqueue a") })
		read("page 1")
		s.Enqueue(dm("b", "bob"), func(error) { note("enqueue b") })
		s.Ack("bob", []string{"a"}, func(error) { note("ack a") })
		read("page 2")
		release()
		first, second := <-pages, <-pages
		want(t, "the first page", ids(first.Messages), []string{"a"})
		want(t, "the second page", ids(second.Messages), []string{"b"})
		if first.Stats.Messages != 1 || second.Stats.Messages != 1 {
			t.Fatalf("stats %+v then %+v, want one message each time", first.Stats, second.Stats)
		}
		mu.Lock()
		defer mu.Unlock()
		want(t, "callbacks", log, []string{"enqueue a", "page 1", "enqueue b", "ack a", "page 2"})
	})
}

// The counts follow every enqueue, duplicate and ack, per inbox and in
// all, and cost no read of the messages.
func TestInboxCounts(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		a, b, c := dmFrom("1", "alice", "bob", 10), dmFrom("2", "carol", "bob", 300), dmFrom("3", "alice", "dave", 50)
		for _, m := range []*chatpb.Message{a, b, c, a} {
			must(t, func(done func(error)) { s.Enqueue(m, done) })
		}
		if st := stats(t, s, "bob"); st.Messages != 2 || st.Bytes != size(a)+size(b) {
			t.Fatalf("bob's stats %+v, want 2 messages of %d bytes", st, size(a)+size(b))
		}
		if u := usage(t, s); u.QueuedMessages != 3 || u.QueuedBytes != size(a)+size(b)+size(c) || u.StoreBytes < u.QueuedBytes {
			t.Fatalf("usage %+v, want 3 messages of %d bytes", u, size(a)+size(b)+size(c))
		}
		must(t, func(done func(error)) { s.Ack("bob", []string{"1", "1", "nope"}, done) })
		if st := stats(t, s, "bob"); st.Messages != 1 || st.Bytes != size(b) {
			t.Fatalf("bob's stats after an ack %+v", st)
		}
		must(t, func(done func(error)) { s.Ack("bob", []string{"2"}, done) })
		if st := stats(t, s, "bob"); st != (InboxStats{}) {
			t.Fatalf("bob's stats once empty %+v", st)
		}
		if u := usage(t, s); u.QueuedMessages != 1 || u.QueuedBytes != size(c) {
			t.Fatalf("usage after the acks %+v, want dave's one message", u)
		}
	})
}

// capped returns a store whose sender cap holds three messages of n bytes
// of text from one sender and whose cap on all inboxes holds five, with
// half a message to spare: names and ids of other lengths change a
// message's size by a few bytes.
func capped(open func(Config) Store, n int) (Store, int64) {
	one := size(dmFrom("00", "alice", "bob", n))
	return open(Config{SenderMaxBytes: 3*one + one/2, MaxQueuedBytes: 5*one + one/2}), one
}

// A sender past its cap is refused with ErrSenderFull, and has room again
// once its messages are delivered; the cap counts only what it queued for
// others, and refuses nothing to others.
func TestEnqueueSenderCap(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s, _ := capped(open, 100)
		for i := range 3 {
			must(t, func(done func(error)) { s.Enqueue(dmFrom(fmt.Sprint("a", i), "alice", "bob", 100), done) })
		}
		over := dmFrom("a3", "alice", "carol", 100)
		if err := do(t, func(done func(error)) { s.Enqueue(over, done) }); !errors.Is(err, ErrSenderFull) {
			t.Fatalf("a fourth message: %v, want ErrSenderFull", err)
		}
		must(t, func(done func(error)) { s.Enqueue(dmFrom("a0", "alice", "bob", 100), done) }) // a retry is no new message
		must(t, func(done func(error)) { s.Enqueue(dmFrom("note", "alice", "alice", 100), done) })
		must(t, func(done func(error)) { s.Enqueue(dmFrom("c0", "carol", "bob", 100), done) })
		want(t, "carol's inbox after the refusal", inbox(t, s, "carol"), []string{})

		must(t, func(done func(error)) { s.Ack("bob", []string{"a1"}, done) })
		must(t, func(done func(error)) { s.Enqueue(over, done) })
		want(t, "carol's inbox once one of alice's was delivered", inbox(t, s, "carol"), []string{"a3"})
	})
}

// Past the cap on all inboxes every new message is refused with
// ErrStorageFull, whoever sends it, and nothing of it is stored; room
// comes back with deliveries.
func TestEnqueueStorageCap(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s, one := capped(open, 100)
		for i := range 5 {
			from := fmt.Sprint("user", i) // as long as "alice": every message is one long
			must(t, func(done func(error)) { s.Enqueue(dmFrom(fmt.Sprint("m", i), from, "bob", 100), done) })
		}
		for _, m := range []*chatpb.Message{dmFrom("lt", "zed", "carol", 100), dmFrom("nt", "zed", "zed", 100)} {
			if err := do(t, func(done func(error)) { s.Enqueue(m, done) }); !errors.Is(err, ErrStorageFull) {
				t.Fatalf("message %s past the cap: %v, want ErrStorageFull", m.Id, err)
			}
		}
		if u := usage(t, s); u.QueuedMessages != 5 || u.QueuedBytes != 5*one {
			t.Fatalf("usage at the cap %+v, want 5 messages of %d bytes", u, one)
		}
		want(t, "carol's inbox", inbox(t, s, "carol"), []string{})
		must(t, func(done func(error)) { s.Ack("bob", []string{"m0"}, done) })
		must(t, func(done func(error)) { s.Enqueue(dmFrom("lt", "zed", "carol", 100), done) })
	})
}

// Many writers at once never take the queued bytes past the cap: the
// check and the write are one step.
func TestEnqueueCapUnderConcurrentWriters(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s, one := capped(open, 100)
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, acceptedBytes := 0, int64(0)
		for w := range 8 {
			wg.Go(func() {
				for i := range 5 {
					from := fmt.Sprint("w", w, "-", i) // a sender each: only the store's cap binds
					m := dmFrom(from, from, "bob", 100)
					err := do(t, func(done func(error)) { s.Enqueue(m, done) })
					mu.Lock()
					if err == nil {
						accepted, acceptedBytes = accepted+1, acceptedBytes+size(m)
					} else if !errors.Is(err, ErrStorageFull) {
						t.Error(err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if u := usage(t, s); accepted != 5 || u.QueuedBytes != acceptedBytes {
			t.Fatalf("%d accepted (%d bytes), usage %+v; the cap holds 5 of about %d bytes", accepted, acceptedBytes, u, one)
		}
	})
}

// enqueueKeyed makes one EnqueueKeyed and waits for its callback.
func enqueueKeyed(t testing.TB, s Store, m *chatpb.Message, key *chatpb.KeyRecord) (Enqueued, error) {
	t.Helper()
	type result struct {
		e   Enqueued
		err error
	}
	ch := make(chan result, 1)
	s.EnqueueKeyed(m, key, func(e Enqueued, err error) { ch <- result{e, err} })
	select {
	case r := <-ch:
		return r.e, r.err
	case <-time.After(waitTimeout):
		t.Fatal("EnqueueKeyed's callback never called")
		return Enqueued{}, nil
	}
}

// A message with its sender's idempotency key: the key is stored with the
// message, also when the message was there already (a retry), and never
// when the message is refused, so that a retry after a restart is not
// answered with the receipt of a message nobody stored. The callback says
// where the message is, and whether it is new there.
func TestEnqueueKeyed(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s, _ := capped(open, 100)
		exp := time.Now().Add(time.Hour).UnixMilli()
		key := func(k, id string) *chatpb.KeyRecord {
			return &chatpb.KeyRecord{Key: k, Id: id, TsUnixMs: 1000, Queued: true, ExpiresUnixMs: exp}
		}
		var positions []uint64
		for i := range 3 {
			id := fmt.Sprint("a", i)
			e, err := enqueueKeyed(t, s, dmFrom(id, "alice", "bob", 100), key("k"+id, id))
			if err != nil || !e.New || (i > 0 && e.Pos <= positions[i-1]) {
				t.Fatalf("message %s: %+v, %v; want new, after %v", id, e, err, positions)
			}
			positions = append(positions, e.Pos)
		}
		if e, err := enqueueKeyed(t, s, dmFrom("a0", "alice", "bob", 100), key("again", "a0")); err != nil || e.New || e.Pos != positions[0] {
			t.Fatalf("a retry: %+v, %v; want not new, at %d", e, err, positions[0])
		}
		if _, err := enqueueKeyed(t, s, dmFrom("a3", "alice", "bob", 100), key("ka3", "a3")); !errors.Is(err, ErrSenderFull) {
			t.Fatalf("alice's fourth message: %v, want ErrSenderFull", err)
		}
		want(t, "bob's inbox", inbox(t, s, "bob"), []string{"a0", "a1", "a2"})
		want(t, "positions", readPageOf(t, s, "bob", 0, 10, 0).Positions, positions)
		want(t, "alice's keys", keyNames(t, s, "alice", 0), []string{"again", "ka0", "ka1", "ka2"})

		if _, err := enqueueKeyed(t, s, dmFrom("bad", "alice", "bob", 1), &chatpb.KeyRecord{}); err == nil {
			t.Fatal("a message with a key record without a key was stored")
		}
		if e, err := enqueueKeyed(t, s, dmFrom("c0", "carol", "bob", 100), nil); err != nil || !e.New {
			t.Fatalf("a message without a key: %+v, %v", e, err)
		}
		want(t, "bob's inbox after the refusals", inbox(t, s, "bob"), []string{"a0", "a1", "a2", "c0"})
	})
}

// Within one group commit the caps count what the writes before had
// moved: a sender's message past its cap is refused though none of the
// batch is committed yet, room an ack of the same batch frees is room,
// and the store's cap binds the same way.
func TestCapsWithinOneBatch(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s, _ := capped(open, 100)
		must(t, func(done func(error)) { s.Enqueue(dmFrom("a0", "alice", "bob", 100), done) })
		release := func() {}
		if _, sync := s.(*Memory); !sync {
			release = blockWriter(t, s)
		}
		writes := []func(done func(error)){
			func(done func(error)) { s.Enqueue(dmFrom("a1", "alice", "bob", 100), done) },
			func(done func(error)) { s.Enqueue(dmFrom("a2", "alice", "bob", 100), done) },
			func(done func(error)) { s.Enqueue(dmFrom("a3", "alice", "bob", 100), done) }, // alice's fourth
			func(done func(error)) { s.Ack("bob", []string{"a0"}, done) },
			func(done func(error)) { s.Enqueue(dmFrom("a4", "alice", "bob", 100), done) }, // her third again
			func(done func(error)) { s.Enqueue(dmFrom("c0", "carol", "bob", 100), done) },
			func(done func(error)) { s.Enqueue(dmFrom("c1", "carol", "bob", 100), done) }, // the fifth in all
			func(done func(error)) { s.Enqueue(dmFrom("c2", "carol", "bob", 100), done) },
		}
		errs := make([]chan error, len(writes))
		for i, w := range writes {
			errs[i] = make(chan error, 1)
			w(func(err error) { errs[i] <- err })
		}
		release()
		wantErrs := []error{nil, nil, ErrSenderFull, nil, nil, nil, nil, ErrStorageFull}
		for i, ch := range errs {
			if err := <-ch; !errors.Is(err, wantErrs[i]) || (wantErrs[i] == nil && err != nil) {
				t.Errorf("write %d: %v, want %v", i, err, wantErrs[i])
			}
		}
		want(t, "bob's inbox", inbox(t, s, "bob"), []string{"a1", "a2", "a4", "c0", "c1"})
		if u := usage(t, s); u.QueuedMessages != 5 {
			t.Fatalf("usage %+v, want 5 messages", u)
		}
	})
}
