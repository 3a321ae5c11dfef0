package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// The conformance suite: every Store implementation must pass each test.

// impl opens one implementation for a test; the store is closed at cleanup.
// Each call opens a store of its own: the tests run in parallel.
type impl struct {
	name string
	open func(t testing.TB, cfg Config) Store
}

var impls = []impl{
	{"memory", func(t testing.TB, cfg Config) Store {
		s := NewMemory(cfg)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"bolt", func(t testing.TB, cfg Config) Store {
		return openBolt(t, filepath.Join(t.TempDir(), "chat.db"), cfg)
	}},
	{"postgres", func(t testing.TB, cfg Config) Store {
		return openPostgres(t, pgtest.Shared(t).Schema(t), cfg) // postgres_test.go
	}},
}

// openBolt opens a Bolt at path, closed at cleanup.
func openBolt(t testing.TB, path string, cfg Config) *Bolt {
	t.Helper()
	s, err := OpenBolt(path, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// forEach runs test once per implementation.
func forEach(t *testing.T, test func(t *testing.T, open func(cfg Config) Store)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			test(t, func(cfg Config) Store { return im.open(t, cfg) })
		})
	}
}

// waitTimeout bounds every wait for a callback.
const waitTimeout = 10 * time.Second

// do makes one write and waits for its callback's error.
func do(t testing.TB, write func(done func(error))) error {
	t.Helper()
	ch := make(chan error, 1)
	write(func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("write callback never called")
		return nil
	}
}

// must makes one write that has to succeed.
func must(t testing.TB, write func(done func(error))) {
	t.Helper()
	if err := do(t, write); err != nil {
		t.Fatal(err)
	}
}

func dm(id, to string) *chatpb.Message {
	return &chatpb.Message{Id: id, Kind: chatpb.Kind_KIND_DM, From: "alice", To: to, Text: "text " + id, TsUnixMs: 1000}
}

func pub(id string) *chatpb.Message {
	return &chatpb.Message{Id: id, Kind: chatpb.Kind_KIND_PUBLIC, From: "alice", Text: "text " + id, TsUnixMs: 1000}
}

func ids(msgs []*chatpb.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Id
	}
	return out
}

func inbox(t testing.TB, s Store, user string) []string {
	t.Helper()
	msgs, err := s.Inbox(user)
	if err != nil {
		t.Fatal(err)
	}
	return ids(msgs)
}

func recent(t testing.TB, s Store) []string {
	t.Helper()
	msgs, err := s.Recent()
	if err != nil {
		t.Fatal(err)
	}
	return ids(msgs)
}

func keyNames(t testing.TB, s Store, user string, nowMs int64) []string {
	t.Helper()
	recs, err := s.Keys(user, nowMs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Key)
	}
	slices.Sort(out)
	return out
}

func sortedUsers(t testing.TB, s Store) []string {
	t.Helper()
	names, err := s.Users()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func want[T comparable](t testing.TB, what string, got, wantV []T) {
	t.Helper()
	if !slices.Equal(got, wantV) {
		t.Fatalf("%s = %v, want %v", what, got, wantV)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		want(t, "users of a new store", sortedUsers(t, s), nil)
		for _, name := range []string{"bob", "alice", "bob"} {
			must(t, func(done func(error)) { s.AddUser(name, done) })
		}
		want(t, "users", sortedUsers(t, s), []string{"alice", "bob"})
		if err := do(t, func(done func(error)) { s.AddUser("", done) }); err == nil {
			t.Fatal("AddUser(\"\") succeeded")
		}
	})
}

func known(t testing.TB, s Store, name string) bool {
	t.Helper()
	ok, err := s.Known(name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// Known is how the actors tell a name that never connected (unknown_user)
// without holding every name in memory; prefixes and extensions of a known
// name are not it.
func TestKnown(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		if known(t, s, "bob") {
			t.Fatal("a new store knows bob")
		}
		must(t, func(done func(error)) { s.AddUser("bob", done) })
		must(t, func(done func(error)) { s.Enqueue(dm("1", "carol"), done) })
		for name, wantKnown := range map[string]bool{"bob": true, "bo": false, "bobby": false, "": false, "carol": false} {
			if got := known(t, s, name); got != wantKnown {
				t.Errorf("Known(%q) = %v, want %v", name, got, wantKnown)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Known("bob"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Known after Close: %v, want ErrClosed", err)
		}
	})
}

func TestInboxFIFO(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		for i := range 5 {
			must(t, func(done func(error)) { s.Enqueue(dm(fmt.Sprint("b", i), "bob"), done) })
			must(t, func(done func(error)) { s.Enqueue(dm(fmt.Sprint("c", i), "carol"), done) })
		}
		want(t, "bob's inbox", inbox(t, s, "bob"), []string{"b0", "b1", "b2", "b3", "b4"})
		want(t, "carol's inbox", inbox(t, s, "carol"), []string{"c0", "c1", "c2", "c3", "c4"})
		want(t, "an unknown user's inbox", inbox(t, s, "nobody"), []string{})

		msgs, err := s.Inbox("bob")
		if err != nil {
			t.Fatal(err)
		}
		if got := msgs[2]; got.From != "alice" || got.To != "bob" || got.Text != "text b2" || got.TsUnixMs != 1000 || got.Kind != chatpb.Kind_KIND_DM {
			t.Fatalf("stored message changed: %v", got)
		}
	})
}

func TestEnqueueSameIDTwice(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		for _, id := range []string{"a", "b", "a"} {
			must(t, func(done func(error)) { s.Enqueue(dm(id, "bob"), done) })
		}
		want(t, "inbox", inbox(t, s, "bob"), []string{"a", "b"})
	})
}

func TestAck(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		for i := range 6 {
			must(t, func(done func(error)) { s.Enqueue(dm(fmt.Sprint(i), "bob"), done) })
		}
		must(t, func(done func(error)) { s.Enqueue(dm("x", "carol"), done) })

		must(t, func(done func(error)) { s.Ack("bob", []string{"3", "nope", "1", "x"}, done) })
		want(t, "bob's inbox after acking 1 and 3", inbox(t, s, "bob"), []string{"0", "2", "4", "5"})
		want(t, "carol's inbox after bob acked her id", inbox(t, s, "carol"), []string{"x"})

		must(t, func(done func(error)) { s.Ack("nobody", []string{"0"}, done) })
		must(t, func(done func(error)) { s.Ack("bob", nil, done) })
		must(t, func(done func(error)) { s.Ack("bob", []string{"0", "2", "4", "5", "0"}, done) })
		want(t, "bob's inbox after acking everything", inbox(t, s, "bob"), []string{})

		// An emptied inbox keeps insertion order for what comes next.
		for _, id := range []string{"7", "6"} {
			must(t, func(done func(error)) { s.Enqueue(dm(id, "bob"), done) })
		}
		want(t, "bob's inbox after new messages", inbox(t, s, "bob"), []string{"7", "6"})
	})
}

func TestPublicHistory(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{PublicHistory: 3})
		want(t, "history of a new store", recent(t, s), []string{})
		must(t, func(done func(error)) { s.AppendPublic(pub("p0"), done) })
		must(t, func(done func(error)) { s.AppendPublic(pub("p1"), done) })
		want(t, "history below the limit", recent(t, s), []string{"p0", "p1"})
		for i := 2; i < 10; i++ {
			must(t, func(done func(error)) { s.AppendPublic(pub(fmt.Sprint("p", i)), done) })
			wantLen := min(i+1, 3)
			if got := recent(t, s); len(got) != wantLen || got[len(got)-1] != fmt.Sprint("p", i) {
				t.Fatalf("history after p%d = %v", i, got)
			}
		}
		want(t, "history at the limit", recent(t, s), []string{"p7", "p8", "p9"})
	})
}

func TestPublicHistoryDefaultLimit(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		n := DefaultPublicHistory + 5
		for i := range n {
			s.AppendPublic(pub(fmt.Sprint(i)), nil)
		}
		must(t, func(done func(error)) { s.Ack("nobody", nil, done) }) // after all of the above
		got := recent(t, s)
		if len(got) != DefaultPublicHistory || got[0] != "5" || got[len(got)-1] != fmt.Sprint(n-1) {
			t.Fatalf("history holds %d messages, %v ... %v", len(got), got[:1], got[len(got)-1:])
		}
	})
}

func TestKeysExpire(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64 // Unix ms
		s := open(Config{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
		put := func(user, key string, exp int64) {
			t.Helper()
			r := &chatpb.KeyRecord{Key: key, Id: "id-" + key, TsUnixMs: 5, ExpiresUnixMs: exp}
			must(t, func(done func(error)) { s.PutKey(user, r, done) })
		}
		put("bob", "a", 100)
		put("bob", "b", 200)
		put("carol", "c", 150)
		want(t, "bob's keys at 50", keyNames(t, s, "bob", 50), []string{"a", "b"})
		want(t, "bob's keys at 100", keyNames(t, s, "bob", 100), []string{"b"})
		want(t, "bob's keys at 200", keyNames(t, s, "bob", 200), nil)
		want(t, "unknown user's keys", keyNames(t, s, "nobody", 0), nil)

		recs, err := s.Keys("bob", 150)
		if err != nil {
			t.Fatal(err)
		}
		if r := recs[0]; r.Id != "id-b" || r.TsUnixMs != 5 || r.ExpiresUnixMs != 200 {
			t.Fatalf("stored key changed: %v", r)
		}

		// Writing a key again replaces it and its expiry.
		put("bob", "a", 300)
		want(t, "bob's keys at 250 after renewing a", keyNames(t, s, "bob", 250), []string{"a"})

		// A write prunes the writer's expired keys: asking as of time 0
		// shows what is still stored.
		clock.Store(250)
		put("bob", "d", 400)
		want(t, "bob's stored keys after pruning at 250", keyNames(t, s, "bob", 0), []string{"a", "d"})
		want(t, "carol's keys are hers to prune", keyNames(t, s, "carol", 0), []string{"c"})

		if err := do(t, func(done func(error)) { s.PutKey("", &chatpb.KeyRecord{Key: "k"}, done) }); err == nil {
			t.Fatal("PutKey for the empty user succeeded")
		}
		if err := do(t, func(done func(error)) { s.PutKey("bob", &chatpb.KeyRecord{}, done) }); err == nil {
			t.Fatal("PutKey without a key succeeded")
		}
	})
}

func TestNextEpochIncreases(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		var last uint64
		for range 20 {
			e, err := s.NextEpoch()
			if err != nil {
				t.Fatal(err)
			}
			if e <= last {
				t.Fatalf("epoch %d after %d", e, last)
			}
			last = e
		}
		// Concurrent callers never share an epoch.
		var mu sync.Mutex
		seen := map[uint64]bool{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					e, err := s.NextEpoch()
					mu.Lock()
					if err != nil || seen[e] || e <= last {
						t.Errorf("NextEpoch = %d, %v (seen: %v, last sequential %d)", e, err, seen[e], last)
					}
					seen[e] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
}

func TestStoredStateIsCopied(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		m, p := dm("1", "bob"), pub("p1")
		r := &chatpb.KeyRecord{Key: "k", Id: "1", ExpiresUnixMs: time.Now().Add(time.Hour).UnixMilli()}
		s.Enqueue(m, nil)
		s.AppendPublic(p, nil)
		s.PutKey("bob", r, nil)
		m.Text, p.Text, r.Id = "changed", "changed", "changed" // before the writes are durable
		must(t, func(done func(error)) { s.Ack("nobody", nil, done) })

		read := func() (*chatpb.Message, *chatpb.Message, *chatpb.KeyRecord) {
			msgs, err1 := s.Inbox("bob")
			hist, err2 := s.Recent()
			recs, err3 := s.Keys("bob", 0)
			if err := errors.Join(err1, err2, err3); err != nil || len(msgs) != 1 || len(hist) != 1 || len(recs) != 1 {
				t.Fatalf("read %d, %d, %d records: %v", len(msgs), len(hist), len(recs), err)
			}
			return msgs[0], hist[0], recs[0]
		}
		m, p, r = read()
		m.Text, p.Text, r.Id = "changed again", "changed again", "changed again"
		m, p, r = read()
		if m.Text != "text 1" || p.Text != "text p1" || r.Id != "1" {
			t.Fatalf("stored state changed through a caller's pointer: %q %q %q", m.Text, p.Text, r.Id)
		}
	})
}

func TestInvalidWritesFailAlone(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		bad := []*chatpb.Message{nil, {To: "bob"}, {Id: "no-recipient"}}
		for _, m := range bad {
			if err := do(t, func(done func(error)) { s.Enqueue(m, done) }); err == nil {
				t.Fatalf("Enqueue(%v) succeeded", m)
			}
		}
		if err := do(t, func(done func(error)) { s.AppendPublic(&chatpb.Message{}, done) }); err == nil {
			t.Fatal("AppendPublic without an id succeeded")
		}
		must(t, func(done func(error)) { s.Enqueue(dm("ok", "bob"), done) })
		want(t, "inbox", inbox(t, s, "bob"), []string{"ok"})
	})
}

// ordered is a log of callback calls, checked against submission order.
type ordered struct {
	mu    sync.Mutex
	calls []int // op numbers in callback order
}

// done returns op n's callback, which must succeed.
func (o *ordered) done(t *testing.T, n int) func(error) {
	return func(err error) {
		if err != nil {
			t.Errorf("write %d: %v", n, err)
		}
		o.mu.Lock()
		o.calls = append(o.calls, n)
		o.mu.Unlock()
	}
}

// write makes the n-th write of a mix of every kind.
func write(s Store, n int, done func(error)) {
	id := fmt.Sprint(n)
	switch n % 5 {
	case 0:
		s.Enqueue(dm(id, "bob"), done)
	case 1:
		s.Ack("bob", []string{fmt.Sprint(n - 1)}, done)
	case 2:
		s.AppendPublic(pub(id), done)
	case 3:
		s.PutKey("bob", &chatpb.KeyRecord{Key: id, ExpiresUnixMs: 1}, done)
	case 4:
		s.AddUser("u"+id, done)
	}
}

func TestCallbacksInSubmissionOrder(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		var log ordered
		var mu sync.Mutex // makes submission order observable: ticket = order
		ticket := 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					mu.Lock()
					write(s, ticket, log.done(t, ticket))
					ticket++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// Close waits for every callback; a second call of any would show
		// up in the log as a repeat.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		want(t, "callback order", log.calls, seq(800))
	})
}

func TestCallbacksPerSubmitter(t *testing.T) {
	t.Parallel()
	// Without a shared lock, each submitter still sees its own order.
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		const submitters, each = 8, 200
		logs := make([]ordered, submitters)
		var wg sync.WaitGroup
		for g := range submitters {
			wg.Go(func() {
				for i := range each {
					s.Enqueue(dm(fmt.Sprint(g, "-", i), fmt.Sprint("u", g)), logs[g].done(t, i))
				}
			})
		}
		wg.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for g := range logs {
			want(t, fmt.Sprint("callbacks of submitter ", g), logs[g].calls, seq(each))
		}
	})
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestClosed(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		must(t, func(done func(error)) { s.Enqueue(dm("1", "bob"), done) })
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		writes := map[string]func(done func(error)){
			"AddUser":      func(done func(error)) { s.AddUser("bob", done) },
			"Enqueue":      func(done func(error)) { s.Enqueue(dm("2", "bob"), done) },
			"Ack":          func(done func(error)) { s.Ack("bob", []string{"1"}, done) },
			"AppendPublic": func(done func(error)) { s.AppendPublic(pub("3"), done) },
			"PutKey":       func(done func(error)) { s.PutKey("bob", &chatpb.KeyRecord{Key: "k"}, done) },
		}
		for name, w := range writes {
			if err := do(t, w); !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
		if _, err := s.NextEpoch(); !errors.Is(err, ErrClosed) {
			t.Errorf("NextEpoch after Close: %v", err)
		}
		if _, err := s.Inbox("bob"); !errors.Is(err, ErrClosed) {
			t.Errorf("Inbox after Close: %v", err)
		}
		if _, err := s.Recent(); !errors.Is(err, ErrClosed) {
			t.Errorf("Recent after Close: %v", err)
		}
		if _, err := s.InboxStats("bob"); !errors.Is(err, ErrClosed) {
			t.Errorf("InboxStats after Close: %v", err)
		}
		if _, err := s.Usage(); !errors.Is(err, ErrClosed) {
			t.Errorf("Usage after Close: %v", err)
		}
		pageErr := make(chan error, 1)
		s.InboxPage("bob", 0, 1, 0, func(_ Page, err error) { pageErr <- err })
		if err := <-pageErr; !errors.Is(err, ErrClosed) {
			t.Errorf("InboxPage after Close: %v", err)
		}
	})
}

func TestCloseRacingWrites(t *testing.T) {
	t.Parallel()
	// Writes racing Close either land or fail with ErrClosed, each exactly
	// once, and a writer's callbacks keep its order: never a success after
	// an ErrClosed.
	forEach(t, func(t *testing.T, open func(Config) Store) {
		s := open(Config{})
		var wg sync.WaitGroup
		results := make([][]error, 4)
		for g := range results {
			wg.Go(func() {
				var mu sync.Mutex
				var all sync.WaitGroup
				for i := range 300 {
					all.Add(1)
					s.Enqueue(dm(fmt.Sprint(g, "-", i), "bob"), func(err error) {
						mu.Lock()
						results[g] = append(results[g], err)
						mu.Unlock()
						all.Done()
					})
				}
				all.Wait()
			})
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for g, errs := range results {
			if len(errs) != 300 {
				t.Fatalf("submitter %d: %d callbacks for 300 writes", g, len(errs))
			}
			closedAt := slices.IndexFunc(errs, func(err error) bool { return err != nil })
			if closedAt >= 0 {
				for i, err := range errs[closedAt:] {
					if !errors.Is(err, ErrClosed) {
						t.Fatalf("submitter %d write %d: %v after an ErrClosed", g, closedAt+i, err)
					}
				}
			}
		}
	})
}

// reopenKeepsEverything is what every durable store promises: users,
// inboxes (and their order), public history, idempotency keys and epochs
// written before Close are there after opening the same data again. open
// opens that data each time it is called.
func reopenKeepsEverything(t *testing.T, open func(cfg Config) (Store, error)) {
	t.Helper()
	cfg := Config{PublicHistory: 4}
	s, err := open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UnixMilli()
	for _, name := range []string{"alice", "bob"} {
		s.AddUser(name, nil)
	}
	for i := range 5 {
		s.Enqueue(dm(fmt.Sprint(i), "bob"), nil)
		s.AppendPublic(pub(fmt.Sprint("p", i)), nil)
	}
	s.Ack("bob", []string{"1"}, nil)
	s.PutKey("alice", &chatpb.KeyRecord{Key: "k1", Id: "1", TsUnixMs: 7, Queued: true, ExpiresUnixMs: exp}, nil)
	epoch, err := s.NextEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	want(t, "users", sortedUsers(t, s), []string{"alice", "bob"})
	if !known(t, s, "bob") || known(t, s, "carol") {
		t.Fatal("after reopen: want bob known, carol not")
	}
	want(t, "bob's inbox", inbox(t, s, "bob"), []string{"0", "2", "3", "4"})
	want(t, "history", recent(t, s), []string{"p1", "p2", "p3", "p4"})
	recs, err := s.Keys("alice", 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("alice's keys: %v, %v", recs, err)
	}
	if r := recs[0]; r.Key != "k1" || r.Id != "1" || r.TsUnixMs != 7 || !r.Queued || r.ExpiresUnixMs != exp {
		t.Fatalf("key after reopen: %v", r)
	}
	next, err := s.NextEpoch()
	if err != nil || next <= epoch {
		t.Fatalf("epoch after reopen = %d, %v; before it was %d", next, err, epoch)
	}
	// Inbox order continues across the reopen.
	must(t, func(done func(error)) { s.Enqueue(dm("5", "bob"), done) })
	want(t, "bob's inbox after a new message", inbox(t, s, "bob"), []string{"0", "2", "3", "4", "5"})
}
