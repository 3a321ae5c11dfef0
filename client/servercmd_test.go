package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// Commands this client does not know go to the server as the plain-text
// lines they are, and the server's answer is shown; "//" still escapes a
// public message that starts with "/".
func TestRunLinesPassesUnknownCommandsToServer(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	out := newLineWriter()
	done := make(chan error, 1)
	in := "/debug panic\n/nope x\n//etc\n"
	go func() { done <- RunLines(context.Background(), testConfig(fs), strings.NewReader(in), out) }()
	fc := fs.accept()
	got := []string{}
	for range 3 {
		f := fc.expect(t)
		got = append(got, f.Type+":"+f.Text)
		for _, js := range answers(f, len(got), fc.user) {
			fc.sendRaw(t, js)
		}
	}
	if want := []string{":/debug panic", ":/nope x", "say:/etc"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the server got %q, want %q (plain lines, then a say)", got, want)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "1 request(s) refused") {
			t.Errorf("RunLines = %v, want the server's refusal of /nope counted", err)
		}
	case <-time.After(2 * waitLimit):
		t.Fatal("RunLines did not end after its input did")
	}
	for _, want := range []string{"*** error [unknown_command] unknown command /nope x", "<alice> /etc"} {
		if out.count(want) != 1 {
			t.Errorf("output has %d lines with %q, want 1:\n%s", out.count(want), want, strings.Join(out.all(), "\n"))
		}
	}
}

// A command line typed while the connection is down goes out once the
// next connection is up, and only then: nothing answers it, so it is not
// kept for resending.
func TestClientSendsServerCommandOnce(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	c, events, _ := runClient(t, testConfig(fs))
	fs.accept().drop()
	nextEvent(t, events, "connection lost", func(ev Event) bool { return ev.Down })
	send(t, c, Command{Kind: CmdServer, Text: "/debug panic"})
	if n := c.Pending(); n != 1 {
		t.Errorf("Pending() = %d while disconnected, want the command line waiting", n)
	}

	second := fs.accept()
	if f := second.expect(t); f.Type != "" || f.Text != "/debug panic" {
		t.Fatalf("first frame on the new connection: %+v, want the line /debug panic", f)
	}
	select {
	case <-c.Idle():
	case <-time.After(waitLimit):
		t.Fatalf("the command line is still pending (%d) once written", c.Pending())
	}

	second.drop()
	third := fs.accept()
	send(t, c, Command{Kind: CmdWho})
	if f := third.expect(t); f.Type != "who" {
		t.Errorf("first frame on the third connection: %+v, want the who (the command line went out already)", f)
	}
}

func TestIsRefusal(t *testing.T) {
	t.Parallel()
	ref := "r9"
	req := &Request{Ref: ref}
	tests := []struct {
		name string
		ev   Event
		want bool
	}{
		{"a request refused", Event{Frame: wire.ServerFrame{Type: "error", Ref: &ref, Code: wire.CodeUnknownUser}, Request: req}, true},
		{"a command line refused", Event{Frame: wire.ServerFrame{Type: "error", Code: wire.CodeUnknownCommand}}, true},
		{"a ref of no request of ours", Event{Frame: wire.ServerFrame{Type: "error", Ref: &ref, Code: wire.CodeBadRequest}}, false},
		{"the session taken over", Event{Frame: wire.ServerFrame{Type: "error", Code: wire.CodeSessionReplaced}}, false},
		{"the session ended by the server", Event{Frame: wire.ServerFrame{Type: "error", Code: wire.CodeInternal}}, false},
		{"a receipt", Event{Frame: wire.ServerFrame{Type: "sent", Ref: &ref}, Request: req}, false},
	}
	for _, tt := range tests {
		if got := isRefusal(tt.ev); got != tt.want {
			t.Errorf("%s: isRefusal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
