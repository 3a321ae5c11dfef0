package client_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/client"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withFaults turns the server's fault injection on and sends its log to
// log.
func withFaults(log *syncBuffer) func(*actors.Config) {
	return func(c *actors.Config) {
		c.DebugFaults = true
		c.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
}

// The supervision demo with the project's own client: "/debug panic"
// typed in chat reaches a server started with fault injection, the
// supervisor restarts alice's actor (the server's log says so), and the
// client stays connected: its next request is answered by the new
// incarnation, and its private message reaches bob.
func TestE2EDebugPanicFromTheClient(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	url := e2eServer(t, withFaults(log))
	bob := e2eJoin(t, url, "bob")
	lines := e2eRunLines(t, e2eConfig(url, "alice"), "/debug panic\n/dm bob still here\n/who\n")

	restart := `level=WARN msg="user actor failed; restarting" user=alice failure=1 limit=5 window=1m reason="debug: fault injected by alice"`
	if !strings.Contains(log.String(), restart) {
		t.Errorf("the server's log does not show the restart %s:\n%s", restart, log.String())
	}
	for _, want := range []string{"[dm to bob] still here", "*** 2 online: alice, bob"} {
		if n := e2eCount(lines, want); n != 1 {
			t.Errorf("%d lines %q, want 1; output:\n%s", n, want, strings.Join(lines, "\n"))
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "connection lost") || strings.Contains(l, "error") {
			t.Errorf("the client did not stay connected and unrefused: %q", l)
		}
	}
	bob.expectMessage(t, "dm", "still here")
}

// A command the server does not know is answered by the server, and the
// client shows its answer and counts it as refused. (The refusal has no
// ref to wait for; the answer to the /who after it comes after it.)
func TestE2EUnknownCommandIsTheServersToRefuse(t *testing.T) {
	t.Parallel()
	url := e2eServer(t)
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 3*e2eWait)
	defer cancel()
	err := client.RunLines(ctx, e2eConfig(url, "alice"), strings.NewReader("/debug panic\n/who\n"), &out)
	if err == nil || !strings.Contains(err.Error(), "1 request(s) refused") {
		t.Errorf("RunLines = %v, want the refusal counted", err)
	}
	if !strings.Contains(out.String(), "*** error [unknown_command]") {
		t.Errorf("the server's unknown_command is not shown:\n%s", out.String())
	}
}

// Past the restart limit the supervisor stops alice's actor and the server
// closes her connection with an internal error; line mode reconnects, its
// unanswered request is answered by the fresh actor, and the run counts as
// a success: nothing alice sent was refused.
func TestE2ESupervisorStopIsNotARefusal(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	url := e2eServer(t, withFaults(log), func(c *actors.Config) { c.RestartLimit = 1 })
	lines := e2eRunLines(t, e2eConfig(url, "alice"), "/debug panic\n/debug panic\n/who\n")

	stop := `level=WARN msg="user actor failed too often; stopping it" user=alice failures=2 limit=1 window=1m`
	if !strings.Contains(log.String(), stop) {
		t.Errorf("the server's log does not show the stop %s:\n%s", stop, log.String())
	}
	for _, want := range []string{"*** reconnected as alice; 1 online: alice", "*** 1 online: alice"} {
		if n := e2eCount(lines, want); n != 1 {
			t.Errorf("%d lines %q, want 1; output:\n%s", n, want, strings.Join(lines, "\n"))
		}
	}
}
