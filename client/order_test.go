package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// ownLines returns the lines of out that show what alice sent or asked,
// and others' messages, in the order they were printed.
func ownLines(out *lineWriter) []string {
	var got []string
	for _, l := range out.all() {
		if strings.Contains(l, "connected as") {
			continue
		}
		for _, mark := range []string{"<alice>", "[dm to", "online:", "<bob>"} {
			if strings.Contains(l, mark) {
				got = append(got, l[strings.Index(l, mark):])
			}
		}
	}
	return got
}

// Answers come in any order; the user's own lines show in the order the
// user sent them, and other people's messages are not held back for them.
func TestRunLinesShowsOwnLinesInSendOrder(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	out := newLineWriter()
	done := make(chan error, 1)
	in := "hello\n/dm bob hi\n/who\n/dm carol yo\n"
	go func() { done <- RunLines(context.Background(), testConfig(fs), strings.NewReader(in), out) }()
	fc := fs.accept()
	var frames [][]string
	for i := range 4 {
		frames = append(frames, answers(fc.expect(t), i+1, "alice"))
	}
	for i := 3; i >= 1; i-- { // the dm to carol first, the say last
		fc.sendRaw(t, frames[i][0])
	}
	fc.sendRaw(t, `{"type":"message","id":"b1","kind":"public","from":"bob","text":"meanwhile","ts":"2026-11-28T12:00:01.000Z"}`)
	out.waitFor(t, "<bob> meanwhile") // shown while alice's lines wait
	for _, js := range frames[0] {
		fc.sendRaw(t, js)
	}
	if err := <-done; err != nil {
		t.Fatalf("RunLines = %v", err)
	}
	want := []string{"<bob> meanwhile", "<alice> hello", "[dm to bob] hi  (queued: bob is offline)",
		"online: alice, bob", "[dm to carol] yo  (queued: carol is offline)"}
	if got := ownLines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("shown:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A request the server never answers holds the lines after it for
// OrderWait at most.
func TestRunLinesOrderWaitsBriefly(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := testConfig(fs)
	cfg.OrderWait = 200 * time.Millisecond
	cfg.DrainTimeout = time.Second
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), cfg, strings.NewReader("lost\n/dm bob late\n"), out) }()
	fc := fs.accept()
	fc.expect(t) // never answered
	answered := time.Now()
	fc.sendRaw(t, answers(fc.expect(t), 2, "alice")[0])
	out.waitFor(t, "[dm to bob] late")
	if waited := time.Since(answered); waited < cfg.OrderWait*3/4 {
		t.Errorf("the dm showed after %v; it should wait up to %v for the say before it", waited, cfg.OrderWait)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "1 request(s) got no answer") {
		t.Errorf("RunLines = %v, want the unanswered say reported", err)
	}
}

// The order's bookkeeping for says: a copy before its receipt is matched
// by text, after it by id; a receipt whose copy never comes stops holding
// the lines after it once OrderWait has passed.
func TestOwnOrderMatchesSaysToTheirCopies(t *testing.T) {
	t.Parallel()
	var printed []string
	o := newOwnOrder("Alice", time.Hour, func(ev Event) { printed = append(printed, ev.Frame.Type+":"+ev.Frame.ID) })
	reqs := make([]*Request, 4)
	for i, cmd := range []Command{{Kind: CmdSay, Text: "a"}, {Kind: CmdSay, Text: "b"}, {Kind: CmdDM, To: "bob", Text: "c"}, {Kind: CmdSay, Text: "d"}} {
		reqs[i] = &Request{Ref: "r" + string(rune('1'+i)), Command: cmd}
		_, _ = o.send(func() (*Request, error) { return reqs[i], nil })
	}
	copyOf := func(id, text string) Event {
		return Event{Frame: msgFrame(id, "alice", text)}
	}
	receipt := func(req *Request, id string) Event {
		return Event{Frame: sentFrame(id), Request: req}
	}
	o.event(receipt(reqs[2], "m3"))   // the dm: held behind a and b
	o.event(copyOf("m2", "b"))        // b's copy before its receipt: by text
	o.event(receipt(reqs[0], "m1"))   // a's receipt: a waits for its copy
	o.event(receipt(reqs[3], "m4"))   // d's receipt
	o.event(copyOf("m4", "d"))        // d's copy, by id: held behind a
	o.event(copyOf("x9", "nobody's")) // no say of this text: shown at once
	if want := "message:x9"; strings.Join(printed, " ") != want {
		t.Fatalf("printed %v before a's copy, want %v", printed, want)
	}
	o.mu.Lock()
	o.release(time.Now().Add(2 * time.Hour)) // a's copy never came
	o.mu.Unlock()
	o.close() // stops the timer
	want := "message:x9 sent:m1 message:m2 sent:m3 sent:m4 message:m4"
	if got := strings.Join(printed, " "); got != want {
		t.Errorf("printed %s\nwant    %s", got, want)
	}
}

// msgFrame is a public message frame.
func msgFrame(id, from, text string) wire.ServerFrame {
	return wire.ServerFrame{Type: "message", ID: id, Kind: "public", From: from, Text: text}
}

// sentFrame is a receipt frame.
func sentFrame(id string) wire.ServerFrame {
	return wire.ServerFrame{Type: "sent", ID: id}
}
