package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// TestMain runs chatd's main instead of the tests when the crash test
// re-executes this binary as the server process.
func TestMain(m *testing.M) {
	if os.Getenv(crashMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The crash test's load: crashSenders users send crashPerSender private
// messages each, all at once, to an offline user.
const (
	crashSenders   = 4
	crashPerSender = 75
)

// crashReceipt is what a sender learned of one accepted message.
type crashReceipt struct {
	id, ts string
}

// TestCrashKill9LosesNoAcceptedDM proves "At least once" (docs/protocol.md)
// across a crash: chatd, a process of its own with a Bolt store, takes
// private messages for an offline user from several senders at once and is
// killed with SIGKILL right after the last sender holds its last receipt.
// Restarted on the same data, it delivers every message that had a receipt,
// in each sender's order, with the id and ts of the receipt; and once the
// recipient's client has confirmed them (answered the pings), none is
// delivered again, neither on the next connection nor after a clean restart.
func TestCrashKill9LosesNoAcceptedDM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := crashStart(t, dir)
	bob, err := crashDial(first, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.leave(); err != nil { // bob is known, and offline
		t.Fatal(err)
	}
	start := time.Now()
	receipts := crashSendAll(t, first)
	first.kill9(t)
	t.Logf("%d receipts in %v, then kill -9", crashSenders*crashPerSender, time.Since(start).Round(time.Millisecond))

	second := crashStart(t, dir)
	bob, err = crashDial(second, "bob")
	if err != nil {
		t.Fatalf("%v; chatd's log:\n%s", err, second.log())
	}
	crashReceiveAll(t, bob, receipts)
	crashWaitConfirmed(t, second)
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	crashNothingAgain(t, second, "a reconnect")
	second.stop(t)
	crashNothingAgain(t, crashStart(t, dir), "a clean restart")
}

// TestCrashKill9KeepsIdempotencyKeys: a sender whose receipts were lost in
// the crash sends its messages again after the restart with the same keys,
// as the CLI client does. Every retry must get the original receipt (same id
// and ts) and deliver nothing new (docs/protocol.md: a key is honoured for
// 10 minutes, a server restart included). The server cannot know
// which receipts reached the client before the crash, so a key must be
// durable no later than the receipt that it gives back.
func TestCrashKill9KeepsIdempotencyKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := crashStart(t, dir)
	bob, err := crashDial(first, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	receipts := crashSendAll(t, first)
	first.kill9(t)

	second := crashStart(t, dir)
	crashResendAll(t, second, receipts)
	bob, err = crashDial(second, "bob")
	if err != nil {
		t.Fatal(err)
	}
	crashReceiveAll(t, bob, receipts)
	crashWaitConfirmed(t, second)
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	crashNothingAgain(t, second, "the retries")
}

// crashResendAll has every sender send all its messages again with the
// same keys and checks that each gets its original receipt.
func crashResendAll(t *testing.T, s *crashServer, receipts [][]crashReceipt) {
	t.Helper()
	for k := range crashSenders {
		c, err := crashDial(s, crashSender(k))
		if err != nil {
			t.Fatal(err)
		}
		again, err := crashSend(c, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.leave(); err != nil {
			t.Fatal(err)
		}
		var wrong []int
		for i, r := range again {
			if r != receipts[k][i] {
				wrong = append(wrong, i)
			}
		}
		if len(wrong) > 0 {
			i := wrong[0]
			t.Errorf("%s: %d of %d retries after the crash got a new receipt instead of the original (messages %d to %d among them); e.g. message %d: got %+v, want %+v",
				crashSender(k), len(wrong), crashPerSender, wrong[0], wrong[len(wrong)-1], i, again[i], receipts[k][i])
		}
	}
	if t.Failed() {
		t.FailNow() // the duplicates would only make the checks below noisy
	}
}

// crashSendAll has every sender connect and send its messages, all senders
// at once, and returns their receipts by sender, in sending order. Senders
// stay connected: the crash catches them too.
func crashSendAll(t *testing.T, s *crashServer) [][]crashReceipt {
	t.Helper()
	receipts := make([][]crashReceipt, crashSenders)
	errs := make(chan error, crashSenders)
	var wg sync.WaitGroup
	for k := range crashSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := crashDial(s, crashSender(k))
			if err == nil {
				t.Cleanup(c.close)
				receipts[k], err = crashSend(c, k)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return receipts
}

func crashSender(k int) string { return "sender" + strconv.Itoa(k) }

func crashText(k, i int) string { return fmt.Sprintf("%s message %d", crashSender(k), i) }

// crashSend sends sender k's messages to bob, each with a ref and an
// idempotency key as the CLI client does, then collects the receipts.
func crashSend(c *crashConn, k int) ([]crashReceipt, error) {
	for i := range crashPerSender {
		ref := strconv.Itoa(i)
		f := wire.ClientFrame{Type: "dm", To: "bob", Text: crashText(k, i), Ref: &ref, Key: c.user + "-" + ref}
		if err := c.send(f); err != nil {
			return nil, fmt.Errorf("%s: sending: %w", c.user, err)
		}
	}
	out := make([]crashReceipt, crashPerSender)
	for range crashPerSender {
		r, err := c.next()
		if err != nil {
			return nil, err
		}
		i, _ := strconv.Atoi(crashRefValue(r.f.Ref))
		if r.f.Type != "sent" || r.f.Ref == nil || i < 0 || i >= crashPerSender || out[i].id != "" || r.f.ID == "" || !r.f.Queued {
			return nil, fmt.Errorf("%s: got %s, want one queued receipt per message", c.user, r.raw)
		}
		out[i] = crashReceipt{id: r.f.ID, ts: r.f.TS}
	}
	return out, nil
}

func crashRefValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// crashReceiveAll reads bob's private messages until every receipted one has
// come, and checks them: each exactly once on this connection, with the id
// and ts of its receipt, marked offline, each sender's in sending order.
func crashReceiveAll(t *testing.T, bob *crashConn, receipts [][]crashReceipt) {
	t.Helper()
	type origin struct{ k, i int }
	want := map[string]origin{}
	for k, rs := range receipts {
		for i, r := range rs {
			want[r.id] = origin{k, i}
		}
	}
	if len(want) != crashSenders*crashPerSender {
		t.Fatalf("%d distinct ids in %d receipts", len(want), crashSenders*crashPerSender)
	}
	next := make([]int, crashSenders) // per sender, the index expected next
	for got := 0; got < len(want); got++ {
		r, err := bob.next()
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", got, len(want), err)
		}
		o, ok := want[r.f.ID]
		if !ok || r.f.Type != "message" || r.f.Kind != "dm" {
			t.Fatalf("after %d of %d messages bob got %s, not one of the receipted messages", got, len(want), r.raw)
		}
		rc := receipts[o.k][o.i]
		if o.i != next[o.k] {
			t.Fatalf("bob got %s's message %d when %d was due: per-sender order broken (or a duplicate)", crashSender(o.k), o.i, next[o.k])
		}
		next[o.k]++
		if r.f.TS != rc.ts || r.f.From != crashSender(o.k) || r.f.Text != crashText(o.k, o.i) || !r.f.Offline || r.f.Redelivered {
			t.Errorf("bob got %s, want from %s text %q ts %q, offline:true, not redelivered",
				r.raw, crashSender(o.k), crashText(o.k, o.i), rc.ts)
		}
	}
}

// crashWaitConfirmed waits until the server holds no unconfirmed private
// message: bob's client has answered the pings sent after them.
func crashWaitConfirmed(t *testing.T, s *crashServer) {
	t.Helper()
	deadline := time.Now().Add(crashWait)
	for {
		n, err := s.inboxDepth()
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox depth still %d (%v) %v after delivery", n, err, crashWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashNothingAgain connects bob and has a sender send him one more message:
// the first private message bob gets must be that one, since anything still
// queued for him would come first.
func crashNothingAgain(t *testing.T, s *crashServer, after string) {
	t.Helper()
	bob, err := crashDial(s, "bob")
	if err != nil {
		t.Fatalf("%v; chatd's log:\n%s", err, s.log())
	}
	defer bob.close()
	sender, err := crashDial(s, crashSender(0))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.close()
	ref := "marker"
	if err := sender.send(wire.ClientFrame{Type: "dm", To: "bob", Text: "marker", Ref: &ref}); err != nil {
		t.Fatal(err)
	}
	receipt, err := sender.next()
	if err != nil || receipt.f.Type != "sent" {
		t.Fatalf("marker receipt: %s %v", receipt.raw, err)
	}
	got, err := bob.next()
	if err != nil {
		t.Fatal(err)
	}
	if got.f.ID != receipt.f.ID {
		t.Fatalf("after %s bob got %s, want the marker %s: a confirmed message was delivered again", after, got.raw, receipt.raw)
	}
	// Leave with the marker confirmed, or the next call would rightly get
	// it again, redelivered.
	crashWaitConfirmed(t, s)
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
}
