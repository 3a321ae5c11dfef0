package server_test

// The churn soak: thousands of connect/send/disconnect cycles
// with takeovers mixed in, after which goroutines, actor processes and
// memory are back to their baseline, and no private message was lost or
// duplicated to a client that confirms. Also the other way connections
// end under load: a slow consumer, cut off while the others go on.

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/internal/testload"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// Churn shape: bounded by count and by time, whichever comes first.
const (
	h4ChurnNames   = 50
	h4ChurnWorkers = 20 // worker w owns the names i with i%20 == w: only its own takeovers replace its connections
	h4ChurnCycles  = 2000
	h4ChurnFor     = 12 * time.Second
	h4ChurnMin     = 200 // fewer cycles than this in h4ChurnFor proves little: fail
)

// Tolerances for "back to baseline". Goroutines: a write loop or timer
// callback may be running at the moment of sampling. Heap: expected growth
// is the 50 user actors with their store entries, and the process
// registry's high-water mark: its 32,768 shard maps each keep their bucket
// array once used (measured: about 1 MiB after 2,000 cycles, bounded by
// about 10 MiB for the life of the actor system). A leak of a connection's
// state (gorilla's buffers alone are kilobytes) over thousands of cycles
// is far more.
const (
	h4GoroutineSlack = 5
	h4HeapSlack      = 4 << 20
)

func h4ChurnName(i int) string { return fmt.Sprintf("u%02d", i%h4ChurnNames) }

// h4Ledger records, per recipient, the private messages that got a sent
// receipt and every delivery of them that a client read.
type h4Ledger struct {
	mu        sync.Mutex
	sent      map[string]map[string]bool   // recipient -> ids with a receipt
	firsts    map[string]map[string]int    // recipient -> id -> deliveries not marked redelivered
	delivered map[string]map[string]string // recipient -> id -> text, any delivery
}

func h4NewLedger() *h4Ledger {
	return &h4Ledger{sent: make(map[string]map[string]bool),
		firsts: make(map[string]map[string]int), delivered: make(map[string]map[string]string)}
}

func (l *h4Ledger) receipt(to, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent[to] == nil {
		l.sent[to] = make(map[string]bool)
	}
	l.sent[to][id] = true
}

// read records the private messages among a finished connection's frames.
func (l *h4Ledger) read(user string, frames []h4Frame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firsts[user] == nil {
		l.firsts[user], l.delivered[user] = make(map[string]int), make(map[string]string)
	}
	for _, f := range frames {
		if f.Type != "message" || f.Kind != "dm" {
			continue
		}
		if !f.Redelivered {
			l.firsts[user][f.ID]++
		}
		l.delivered[user][f.ID] = f.Text
	}
}

// check reports every message with a receipt that its recipient never
// read, every delivery that was a duplicate not marked redelivered, and
// every message read that had no receipt.
func (l *h4Ledger) check() (problems []string, messages int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for to, ids := range l.sent {
		for id := range ids {
			messages++
			if _, ok := l.delivered[to][id]; !ok {
				problems = append(problems, fmt.Sprintf("%s never got %s", to, id))
			}
		}
	}
	for to, ids := range l.firsts {
		for id, n := range ids {
			if n > 1 {
				problems = append(problems, fmt.Sprintf("%s got %s %d times unmarked", to, id, n))
			}
		}
		for id, text := range l.delivered[to] {
			if !l.sent[to][id] {
				problems = append(problems, fmt.Sprintf("%s got %s (%q) that has no receipt", to, id, text))
			}
		}
	}
	return problems, messages
}

// h4Baseline is what must come back after the churn.
type h4Baseline struct {
	goroutines int
	processes  int // in the actor system's process registry
	sessions   int // of those, session processes (one per connection)
	heap       uint64
}

func h4Measure(e *h4Env) h4Baseline {
	heap := testload.Heap()
	b := h4Baseline{goroutines: runtime.NumGoroutine(), heap: heap}
	for _, bucket := range e.chat.System().ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range bucket.Keys() {
			b.processes++
			if strings.HasPrefix(id, "session/") {
				b.sessions++
			}
		}
	}
	return b
}

// h4Session connects user and waits for its welcome.
func h4Session(e *h4Env, user string) (*h4Client, error) {
	c, err := h4Connect(e, user, websocket.Dialer{HandshakeTimeout: h4Wait})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", user, err)
	}
	go c.read()
	if err := c.until(h4Wait, func(fs []h4Frame) bool { return len(fs) > 0 }); err != nil {
		return nil, fmt.Errorf("%s: no welcome: %w", user, err)
	}
	if fs, _, _ := c.snapshot(); fs[0].Type != "welcome" {
		return nil, fmt.Errorf("%s: first frame is %s, want welcome", user, fs[0].Type)
	}
	return c, nil
}

// h4Send sends a say or dm and waits for its receipt.
func h4Send(c *h4Client, req wire.ClientFrame) (id string, err error) {
	if err := c.send(req); err != nil {
		fs, _, _ := c.snapshot()
		return "", fmt.Errorf("%s: sending %s: %w (read: %v, last frames %v)", c.user, *req.Ref, err, c.readErr(), h4Tail(fs, 3))
	}
	var reply h4Frame
	if err := c.until(h4Wait, func(fs []h4Frame) bool { return h4Last(fs, h4Reply(*req.Ref), &reply) }); err != nil {
		return "", fmt.Errorf("%s: no reply to %s: %w", c.user, *req.Ref, err)
	}
	if reply.Type != "sent" {
		return "", fmt.Errorf("%s: %s refused: %s %s", c.user, *req.Ref, reply.Code, reply.Message)
	}
	return reply.ID, nil
}

// h4Tail describes the last n frames, for error messages.
func h4Tail(fs []h4Frame, n int) []string {
	var out []string
	for _, f := range fs[max(0, len(fs)-n):] {
		out = append(out, fmt.Sprintf("%s/%s/%s", f.Type, f.Code, f.Kind))
	}
	return out
}

// h4Churner runs the cycles of one worker.
type h4Churner struct {
	e      *h4Env
	ledger *h4Ledger
}

// cycle connects name, sends private messages to the steady receiver and
// to another churning user (and now and then a public one), takes its own
// connection over every fourth cycle, and disconnects, cleanly or not.
func (h *h4Churner) cycle(name string, n int) error {
	c, err := h4Session(h.e, name)
	if err != nil {
		return err
	}
	if err := h.dm(c, "rx", n, "a"); err != nil {
		return err
	}
	if err := h.dm(c, h4ChurnName(n*7+3), n, "b"); err != nil {
		return err
	}
	if n%5 == 0 {
		if _, err := h4Send(c, h4Say(fmt.Sprint("public ", n), "p")); err != nil {
			return err
		}
	}
	if n%4 == 0 {
		if c, err = h.takeover(c); err != nil {
			return err
		}
		if err := h.dm(c, "rx", n, "c"); err != nil {
			return err
		}
	}
	if n%3 == 0 {
		c.drop()
	} else if err := c.leave(); err != nil {
		return err
	}
	fs, _, _ := c.snapshot()
	h.ledger.read(c.user, fs)
	return nil
}

func (h *h4Churner) dm(c *h4Client, to string, n int, ref string) error {
	id, err := h4Send(c, h4DM(to, fmt.Sprintf("%s->%s #%d%s", c.user, to, n, ref), ref))
	if err == nil {
		h.ledger.receipt(to, id)
	}
	return err
}

// takeover connects old's user again: old must get session_replaced and
// close 4000, and the new connection its welcome.
func (h *h4Churner) takeover(old *h4Client) (*h4Client, error) {
	c, err := h4Session(h.e, old.user)
	if err != nil {
		return nil, err
	}
	code := -1
	select {
	case <-old.done:
		var ce *websocket.CloseError
		if errors.As(old.readErr(), &ce) {
			code = ce.Code
		}
	case <-time.After(h4Wait):
	}
	fs, _, _ := old.snapshot()
	var last h4Frame
	replaced := h4Last(fs, h4Type("error"), &last) && last.Code == wire.CodeSessionReplaced
	if code != 4000 || !replaced {
		return nil, fmt.Errorf("%s: taken over connection ended with %d (session_replaced error: %v), want 4000", old.user, code, replaced)
	}
	_ = old.ws.Close()
	h.ledger.read(old.user, fs)
	return c, nil
}

// run does worker w's share of the cycles, on its own names, until they
// are done, the time is up or another worker failed. Cycle numbers are
// unique across workers.
func (h *h4Churner) run(w int, deadline time.Time, failed *atomic.Bool, cycles *atomic.Int64) error {
	var names []string
	for i := w; i < h4ChurnNames; i += h4ChurnWorkers {
		names = append(names, h4ChurnName(i))
	}
	for k := 0; w+k*h4ChurnWorkers < h4ChurnCycles && time.Now().Before(deadline) && !failed.Load(); k++ {
		n := w + k*h4ChurnWorkers
		if err := h.cycle(names[k%len(names)], n); err != nil {
			failed.Store(true)
			return fmt.Errorf("cycle %d: %w", n, err)
		}
		cycles.Add(1)
	}
	return nil
}

// TestChurnSoak runs thousands of connect/send/disconnect cycles over 50
// names with takeovers, private messages to a steady receiver and between
// the churning users, then reconnects every name once to drain its inbox.
// Afterwards goroutines, actor processes and heap are back at the
// baseline (plus one user actor per name, which live by design), and
// every private message with a receipt was read by its recipient, with no
// duplicate that is not marked redelivered. Not parallel: it counts the
// process's goroutines and heap.
func TestChurnSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test; skipped with -short")
	}
	// Pings every 50 ms confirm deliveries quickly; no rate limit, as one
	// name is used several times a second; a short history keeps the
	// expected memory growth small.
	e := h4Start(t, actors.Config{MsgRate: actors.NoRateLimit, HistoryLimit: 20},
		server.Config{PingInterval: 50 * time.Millisecond})
	ledger := h4NewLedger()
	rx := h4Join(t, e, "rx")
	base := h4Measure(e)
	for i := range h4ChurnNames { // known names: a dm to any of them is accepted
		c := h4Join(t, e, h4ChurnName(i))
		if err := c.leave(); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	var failed atomic.Bool
	var cycles atomic.Int64
	errs := make(chan error, h4ChurnWorkers)
	var wg sync.WaitGroup
	for w := range h4ChurnWorkers {
		h := &h4Churner{e: e, ledger: ledger}
		wg.Go(func() { errs <- h.run(w, start.Add(h4ChurnFor), &failed, &cycles) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d cycles in %v", cycles.Load(), time.Since(start).Round(time.Millisecond))
	if cycles.Load() < h4ChurnMin {
		t.Fatalf("only %d cycles in %v", cycles.Load(), h4ChurnFor)
	}

	h4DrainInboxes(t, e, ledger)
	rxFrames := rx.forget()
	for _, f := range rxFrames {
		if f.Redelivered {
			t.Errorf("rx, connected throughout, got %s redelivered", f.ID)
		}
	}
	ledger.read("rx", rxFrames)
	h4CheckLedger(t, ledger)
	ledger = nil // the test's own records are not the server's memory
	h4CheckBaseline(t, e, base)
}

// h4DrainInboxes connects every churning name once, waits until every
// inbox is confirmed empty, and disconnects them.
func h4DrainInboxes(t *testing.T, e *h4Env, ledger *h4Ledger) {
	t.Helper()
	var clients []*h4Client
	for i := range h4ChurnNames {
		clients = append(clients, h4Join(t, e, h4ChurnName(i)))
	}
	if !h4Eventually(func() bool { return e.chat.InboxDepth() == 0 }) {
		t.Errorf("%d private messages still unconfirmed with every recipient connected", e.chat.InboxDepth())
	}
	for _, c := range clients {
		if err := c.leave(); err != nil {
			t.Fatal(err)
		}
		fs, _, _ := c.snapshot()
		ledger.read(c.user, fs)
	}
}

func h4CheckLedger(t *testing.T, ledger *h4Ledger) {
	t.Helper()
	problems, n := ledger.check()
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more", len(problems)-i)
			break
		}
		t.Error(p)
	}
	t.Logf("%d private messages with receipts checked", n)
}

// h4CheckBaseline polls until goroutines, processes and heap are back at
// base: only the steady receiver's session remains, and one user actor per
// churning name was added.
func h4CheckBaseline(t *testing.T, e *h4Env, base h4Baseline) {
	t.Helper()
	var now h4Baseline
	back := h4Eventually(func() bool {
		now = h4Measure(e)
		return now.goroutines <= base.goroutines+h4GoroutineSlack &&
			now.sessions == base.sessions && now.processes == base.processes+h4ChurnNames &&
			now.heap <= base.heap+h4HeapSlack
	})
	t.Logf("baseline %+v, after %+v", base, now)
	if !back {
		t.Errorf("not back to baseline: goroutines %d (baseline %d), sessions %d (%d), processes %d (%d + %d users), heap %d KiB (%d KiB)",
			now.goroutines, base.goroutines, now.sessions, base.sessions, now.processes, base.processes, h4ChurnNames,
			now.heap>>10, base.heap>>10)
	}
}

// ---------------------------------------------------------------------------
// Slow consumer under load
// ---------------------------------------------------------------------------

// TestSlowConsumerUnderLoad sends large public messages as fast as the
// server takes them to five clients that read and one that does not: the
// one that does not is closed with 4001, having received a prefix of the
// messages, and the five get every message, before and after, and stay
// connected.
func TestSlowConsumerUnderLoad(t *testing.T) {
	t.Parallel()
	// Small server send buffers let the slow client's backlog reach the
	// outbox after some 200 KiB rather than megabytes; the outbox holds
	// eight messages.
	e := h4StartSendBuffer(t, actors.Config{MsgRate: actors.NoRateLimit}, server.Config{
		OutboxMax: 64 << 10,
		WriteWait: time.Minute, // the stalled write to slow must outlast the test
	}, 32<<10)
	fast := make([]*h4Client, 5)
	for i := range fast {
		fast[i] = h4Join(t, e, fmt.Sprint("fast", i))
	}
	slow, err := h4Connect(e, "slow", websocket.Dialer{HandshakeTimeout: h4Wait}) // it reads nothing until the end
	if err != nil {
		t.Fatal(err)
	}
	sender := h4Join(t, e, "sender")
	fast[0].await(t, "slow online", func(f h4Frame) bool { return f.Type == "presence" && f.User == "slow" })

	ids, gone := h4SendUntilSlowGone(t, e, sender, 100)
	t.Logf("slow consumer closed after message %d; %d messages in all", gone, len(ids))
	h4CheckEveryoneGotAll(t, fast, ids, "")
	for _, c := range fast {
		fs, _, _ := c.snapshot()
		if _, limited, other := h4Replies(fs); limited+other > 0 {
			t.Errorf("%s got %d error frames", c.user, limited+other)
		}
	}

	go slow.read()
	if code := slow.closeCode(t); code != 4001 {
		t.Fatalf("slow client ended with close code %d, want 4001", code)
	}
	fs, _, _ := slow.snapshot()
	got := h4Messages(fs, "public")
	if len(got) >= len(ids) || strings.Join(got, ",") != strings.Join(ids[:len(got)], ",") {
		t.Errorf("slow client got %d of %d messages: not a strict prefix", len(got), len(ids))
	}
}

// h4SendUntilSlowGone has sender say 4000-byte public messages, a few in
// flight at a time, until the server reports a slow-consumer disconnect,
// and then after more. It returns the ids of all messages sent and the
// index of the message after which the disconnect was seen.
func h4SendUntilSlowGone(t *testing.T, e *h4Env, sender *h4Client, after int) (ids []string, gone int) {
	t.Helper()
	const window, limit = 4, 3000
	text := strings.Repeat("s", 4000)
	receipts := func(fs []h4Frame) int {
		sent, _, _ := h4Replies(fs)
		return len(sent)
	}
	gone = -1
	n := 0
	for ; gone < 0 || n < gone+after; n++ {
		if n == limit {
			t.Fatalf("no slow-consumer disconnect after %d messages of %d bytes", limit, len(text))
		}
		if err := sender.send(h4Say(text, fmt.Sprint(n))); err != nil {
			t.Fatal(err)
		}
		sender.waitUntil(t, "receipts", func(fs []h4Frame) bool { return receipts(fs) > n-window })
		if gone < 0 && n%8 == 0 && h4Scrape(t, e)["chat_slow_consumer_disconnects_total"] > 0 {
			gone = n
		}
	}
	sender.waitUntil(t, "all receipts", func(fs []h4Frame) bool { return receipts(fs) == n })
	fs, _, _ := sender.snapshot()
	ids, _, other := h4Replies(fs)
	if other > 0 {
		t.Fatalf("sender got %d error frames", other)
	}
	return ids, gone
}
