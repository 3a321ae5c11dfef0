package client

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// testConfig is a configuration for user alice on fs that reconnects fast.
func testConfig(fs *fakeServer) Config {
	return Config{
		Server:       fs.url,
		User:         "alice",
		BackoffMin:   10 * time.Millisecond,
		BackoffMax:   50 * time.Millisecond,
		DrainTimeout: waitLimit,
		Grace:        50 * time.Millisecond,
		Now:          func() time.Time { return testNow },
		Location:     time.UTC,
	}
}

// runClient starts a client for cfg and returns it, a channel of its events
// and a channel with Run's result. The client is closed when the test ends.
func runClient(t *testing.T, cfg Config) (*Client, chan Event, chan error) {
	t.Helper()
	return runClientWith(t, cfg, nil)
}

// runClientWith is runClient with setup, when not nil, applied to the
// client before Run starts.
func runClientWith(t *testing.T, cfg Config, setup func(*Client)) (*Client, chan Event, chan error) {
	t.Helper()
	events := make(chan Event, 100)
	c, err := New(cfg, func(ev Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(c)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- c.Run(context.Background())
	}()
	t.Cleanup(func() {
		c.Close()
		select {
		case <-exited:
		case <-time.After(waitLimit):
			t.Error("Run did not return after Close")
		}
	})
	return c, events, done
}

// nextEvent waits for an event that match accepts, skipping others.
func nextEvent(t *testing.T, events chan Event, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event: %s", what)
		}
	}
}

// send sends cmd or fails the test.
func send(t *testing.T, c *Client, cmd Command) *Request {
	t.Helper()
	req, err := c.Send(cmd)
	if err != nil {
		t.Fatalf("Send(%+v): %v", cmd, err)
	}
	return req
}

// refString is a frame's ref, failing the test when it has none.
func refString(t *testing.T, f wire.ClientFrame) string {
	t.Helper()
	if f.Ref == nil || *f.Ref == "" {
		t.Fatalf("%s frame without a ref: %+v", f.Type, f)
	}
	return *f.Ref
}

func TestClientSendsKeysAndRefs(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.History = 7
	c, events, _ := runClient(t, cfg)
	fc := fs.accept()
	if fc.user != "alice" {
		t.Errorf("dialed as user %q, want alice", fc.user)
	}
	hist := fc.expect(t)
	if hist.Type != "history" || hist.Limit != 7 || refString(t, hist) == "" {
		t.Errorf("first frame = %+v, want a history request for 7 with a ref", hist)
	}
	fc.sendRaw(t, `{"type":"history","ref":"`+*hist.Ref+`","messages":[]}`)

	send(t, c, Command{Kind: CmdSay, Text: "hello"})
	send(t, c, Command{Kind: CmdDM, To: "bob", Text: "psst"})
	send(t, c, Command{Kind: CmdWho})
	say, dm, who := fc.expect(t), fc.expect(t), fc.expect(t)
	if say.Type != "say" || say.Text != "hello" || dm.Type != "dm" || dm.To != "bob" || dm.Text != "psst" || who.Type != "who" {
		t.Fatalf("frames = %+v, %+v, %+v; want say, dm, who as sent", say, dm, who)
	}
	if say.Key == "" || dm.Key == "" || say.Key == dm.Key {
		t.Errorf("keys %q and %q: want two different non-empty keys", say.Key, dm.Key)
	}
	if len(say.Key) > wire.MaxKeyLen {
		t.Errorf("key %q is longer than the protocol's %d", say.Key, wire.MaxKeyLen)
	}
	if who.Key != "" {
		t.Errorf("who carries key %q; only say and dm have keys", who.Key)
	}
	refs := map[string]bool{refString(t, hist): true, refString(t, say): true, refString(t, dm): true, refString(t, who): true}
	if len(refs) != 4 {
		t.Errorf("refs are not unique: %v", refs)
	}

	fc.sendRaw(t, `{"type":"sent","ref":"`+*dm.Ref+`","id":"m9","ts":"2026-11-28T12:00:01.000Z","queued":true}`)
	ev := nextEvent(t, events, "dm receipt", func(ev Event) bool { return ev.Frame.Type == "sent" })
	if ev.Request == nil || ev.Request.Command.Text != "psst" || ev.Request.Key != dm.Key {
		t.Errorf("receipt matched request %+v, want the dm", ev.Request)
	}
	if n := c.Pending(); n != 2 {
		t.Errorf("Pending() = %d after one receipt, want 2 (say and who)", n)
	}
}

func TestClientResendsUnconfirmedWithSameKeys(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	c, events, _ := runClient(t, testConfig(fs))
	first := fs.accept()
	send(t, c, Command{Kind: CmdSay, Text: "one"})
	send(t, c, Command{Kind: CmdDM, To: "bob", Text: "two"})
	one, two := first.expect(t), first.expect(t)
	first.sendRaw(t, `{"type":"sent","ref":"`+*one.Ref+`","id":"m1","ts":"2026-11-28T12:00:01.000Z"}`)
	nextEvent(t, events, "receipt for one", func(ev Event) bool { return ev.Frame.Type == "sent" })

	first.drop()
	lost := nextEvent(t, events, "connection lost notice", func(ev Event) bool { return ev.Down })
	if !strings.Contains(lost.Notice, "reconnecting in") {
		t.Errorf("notice %q does not say it reconnects", lost.Notice)
	}
	// Typed while the connection is down: kept, and sent after the resends.
	send(t, c, Command{Kind: CmdSay, Text: "three"})

	second := fs.accept()
	resent, three := second.expect(t), second.expect(t)
	if resent.Type != "dm" || resent.Text != "two" || resent.Key != two.Key || *resent.Ref != *two.Ref {
		t.Errorf("first frame after reconnect = %+v, want the unconfirmed dm with key %q", resent, two.Key)
	}
	if three.Type != "say" || three.Text != "three" || three.Key == two.Key || three.Key == one.Key {
		t.Errorf("second frame after reconnect = %+v, want say three with a key of its own", three)
	}
	welcome := nextEvent(t, events, "welcome", func(ev Event) bool { return ev.Frame.Type == "welcome" })
	if !welcome.Reconnect {
		t.Error("welcome after a reconnect is not marked Reconnect")
	}
	select {
	case extra := <-second.in:
		t.Errorf("unexpected frame after the resends: %+v (the confirmed say must not be resent)", extra)
	default:
	}
}

func TestClientStopsOnSessionReplaced(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	_, events, done := runClient(t, testConfig(fs))
	fc := fs.accept()
	fc.sendRaw(t, `{"type":"error","code":"session_replaced","message":"replaced by a newer connection"}`)
	fc.closeWith(wire.CloseReplaced, "session replaced")
	select {
	case err := <-done:
		if !errors.Is(err, ErrSessionReplaced) {
			t.Fatalf("Run = %v, want ErrSessionReplaced", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after close code 4000")
	}
	ev := nextEvent(t, events, "takeover notice", func(ev Event) bool { return ev.Notice != "" })
	if !strings.Contains(ev.Notice, "taken over") {
		t.Errorf("notice = %q, want it to say the session was taken over", ev.Notice)
	}
	select {
	case fc2 := <-fs.conns:
		t.Errorf("the client reconnected as %s after a takeover", fc2.user)
	default:
	}
}

func TestClientCloseCodeAloneStopsToo(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	_, _, done := runClient(t, testConfig(fs))
	fs.accept().closeWith(wire.CloseReplaced, "")
	select {
	case err := <-done:
		if !errors.Is(err, ErrSessionReplaced) {
			t.Fatalf("Run = %v, want ErrSessionReplaced", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after close code 4000")
	}
}

func TestClientReconnectsAfterServerShutdown(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	_, events, _ := runClient(t, testConfig(fs))
	fs.accept().closeWith(wire.CloseShutdown, "")
	lost := nextEvent(t, events, "connection lost", func(ev Event) bool { return ev.Down })
	if !strings.Contains(lost.Notice, "shutting down") {
		t.Errorf("notice = %q, want the reason", lost.Notice)
	}
	fs.accept()
	nextEvent(t, events, "welcome again", func(ev Event) bool { return ev.Frame.Type == "welcome" && ev.Reconnect })
}

func TestClientDropsDuplicatesAndSeenHistory(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.History = 20
	_, events, _ := runClient(t, cfg)
	fc := fs.accept()
	hist := fc.expect(t)
	fc.sendRaw(t, `{"type":"message","id":"d1","kind":"dm","from":"bob","to":"alice","text":"first","ts":"2026-11-28T12:00:01.000Z"}`)
	fc.sendRaw(t, `{"type":"message","id":"d1","kind":"dm","from":"bob","to":"alice","text":"first","ts":"2026-11-28T12:00:01.000Z","redelivered":true}`)
	fc.sendRaw(t, `{"type":"message","id":"p1","kind":"public","from":"bob","text":"live","ts":"2026-11-28T12:00:02.000Z"}`)
	fc.sendRaw(t, `{"type":"history","ref":"`+*hist.Ref+`","messages":[`+
		`{"type":"message","id":"p0","kind":"public","from":"carol","text":"older","ts":"2026-11-28T11:00:00.000Z"},`+
		`{"type":"message","id":"p1","kind":"public","from":"bob","text":"live","ts":"2026-11-28T12:00:02.000Z"}]}`)
	fc.sendRaw(t, `{"type":"message","id":"p0","kind":"public","from":"carol","text":"older","ts":"2026-11-28T11:00:00.000Z"}`)
	fc.sendRaw(t, `{"type":"message","id":"d2","kind":"dm","from":"bob","to":"alice","text":"second","ts":"2026-11-28T12:00:03.000Z","redelivered":true}`)

	var got []string
	for len(got) < 4 {
		ev := nextEvent(t, events, "message or history", func(ev Event) bool {
			return ev.Frame.Type == "message" || ev.Frame.Type == "history"
		})
		if ev.Frame.Type == "history" {
			for _, m := range ev.Fresh {
				got = append(got, "history:"+m.ID)
			}
			continue
		}
		got = append(got, ev.Frame.ID)
	}
	// History first (what came live meanwhile was held back for it), each
	// id once, and from history only what was not seen live.
	want := []string{"history:p0", "d1", "p1", "d2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("shown %v, want %v", got, want)
	}
}

func TestClientHoldsLiveEventsForHistoryBriefly(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.History = 20
	_, events, _ := runClient(t, cfg)
	fc := fs.accept()
	fc.expect(t) // the history request, never answered
	nextEvent(t, events, "welcome, not held", func(ev Event) bool { return ev.Frame.Type == "welcome" })
	fc.sendRaw(t, `{"type":"message","id":"p1","kind":"public","from":"bob","text":"live","ts":"2026-11-28T12:00:02.000Z"}`)
	start := time.Now()
	nextEvent(t, events, "live message after the hold ends", func(ev Event) bool { return ev.Frame.ID == "p1" })
	if waited := time.Since(start); waited < historyWait/2 {
		t.Errorf("live message shown after %v; it should wait up to %v for the history answer", waited, historyWait)
	}
}

func TestClientIgnoresRefusedHistory(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.History = 20
	c, events, _ := runClient(t, cfg)
	fc := fs.accept()
	hist := fc.expect(t)
	fc.sendRaw(t, `{"type":"error","ref":"`+*hist.Ref+`","code":"bad_request","message":"unknown type"}`)
	send(t, c, Command{Kind: CmdWho})
	who := fc.expect(t)
	fc.sendRaw(t, `{"type":"users","ref":"`+*who.Ref+`","users":["alice"],"online":1}`)
	ev := nextEvent(t, events, "who answer", func(ev Event) bool { return ev.Frame.Type != "welcome" })
	if ev.Frame.Type != "users" {
		t.Errorf("event before the who answer: %+v; a refused history must pass quietly", ev)
	}
}

func TestClientRefusesOversizeLocally(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.MaxFrame = 100
	c, err := New(cfg, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(Command{Kind: CmdSay, Text: strings.Repeat("x", 100)}); err == nil {
		t.Error("Send accepted a frame over MaxFrame; the server would close the connection over it on every resend")
	}
	if c.Pending() != 0 {
		t.Error("a refused message was kept for resending")
	}
}

func TestClientCloseWhileServerDown(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	fs.srv.Close() // nothing listens: every dial fails
	c, events, done := runClient(t, cfg)
	ev := nextEvent(t, events, "cannot connect notice", func(ev Event) bool { return ev.Down })
	if !strings.Contains(ev.Notice, "cannot connect") || !strings.Contains(ev.Notice, "retrying in") {
		t.Errorf("notice = %q", ev.Notice)
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after Close while reconnecting")
	}
}

func TestClientRefusedName(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	fs.refuse = "invalid user name: must start with a letter, digit or _"
	_, _, done := runClient(t, testConfig(fs))
	select {
	case err := <-done:
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.Status != 400 || refused.Reason != fs.refuse {
			t.Fatalf("Run = %v, want a RefusedError with the server's reason", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run kept retrying a refused name")
	}
}

func TestRunLinesSendsAndExitsAfterReceipts(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.History = 20
	out := newLineWriter()
	done := make(chan error, 1)
	in := "hello all\n/dm bob see you\n/who\n"
	go func() { done <- RunLines(context.Background(), cfg, strings.NewReader(in), out) }()
	fc := fs.accept()
	go fc.respond(t, true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunLines = %v, want nil", err)
		}
	case <-time.After(2 * waitLimit):
		t.Fatal("RunLines did not end after its input did")
	}
	if code := fc.closeCode(t); code != wire.CloseNormal {
		t.Errorf("client closed with %d, want 1000", code)
	}
	for _, want := range []string{
		"12:00:00 *** connected as alice; 1 online: alice",
		"12:00:01 <alice> hello all",
		"12:00:01 [dm to bob] see you  (queued: bob is offline)",
		"*** 2 online: alice, bob",
	} {
		if out.count(want) != 1 {
			t.Errorf("output has %d lines with %q, want 1; output:\n%s", out.count(want), want, strings.Join(out.all(), "\n"))
		}
	}
	if out.count("error") != 0 {
		t.Errorf("the refused history request was shown:\n%s", strings.Join(out.all(), "\n"))
	}
}

func TestRunLinesPrintsDuplicateOnce(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	inR, inW := io.Pipe()
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), testConfig(fs), inR, out) }()
	fc := fs.accept()
	dm := `{"type":"message","id":"d7","kind":"dm","from":"bob","to":"alice","text":"only once","ts":"2026-11-28T12:00:01.000Z","offline":true}`
	fc.sendRaw(t, dm)
	fc.sendRaw(t, strings.Replace(dm, `"offline":true`, `"offline":true,"redelivered":true`, 1))
	fc.sendRaw(t, `{"type":"presence","user":"bob","online":false,"ts":"2026-11-28T12:00:02.000Z"}`)
	out.waitFor(t, "bob left") // everything before it has been handled
	_ = inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("RunLines = %v", err)
	}
	if n := out.count("only once"); n != 1 {
		t.Errorf("the dm was printed %d times, want once:\n%s", n, strings.Join(out.all(), "\n"))
	}
	if out.count("[dm from bob] only once  (sent while you were offline)") != 1 {
		t.Errorf("the offline dm is not marked:\n%s", strings.Join(out.all(), "\n"))
	}
}

func TestRunLinesJSONPrintsRawFrames(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.JSON = true
	notices := newLineWriter()
	cfg.Notices = notices
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), cfg, strings.NewReader("hi\n/nope\n/dm bob\n"), out) }()
	fc := fs.accept()
	go fc.respond(t, false)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "2 request(s) refused") {
		t.Errorf("RunLines = %v, want the server's refusal of /nope and the local one of /dm counted", err)
	}
	lines := out.all()
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want welcome, sent, message and error:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if _, err := wire.ParseServerFrame([]byte(line)); err != nil {
			t.Errorf("output line %q is not a server frame: %v", line, err)
		}
	}
	if notices.count("usage: /dm") != 1 {
		t.Errorf("local error not on the notices writer: %q", notices.all())
	}
}

func TestRunLinesReportsUnconfirmed(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.DrainTimeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), cfg, strings.NewReader("anyone?\n"), io.Discard) }()
	fc := fs.accept()
	fc.expect(t) // read, never answered
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "1 request(s) got no answer") {
			t.Errorf("RunLines = %v, want an error about the unconfirmed message", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("RunLines waited past its drain timeout")
	}
}
