package transport

// The yield relies on gorilla/websocket's internals (yield.go). These
// tests pin every assumption by name, and the gorilla version they were
// checked against, so that an upgrade fails here, saying what to look at,
// instead of corrupting streams; and they check that a broken yield falls
// back to reading goroutines.

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestYieldAssumptionsHold(t *testing.T) {
	t.Parallel()
	for _, a := range yieldAssumptions {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			if err := runAssumption(a); err != nil {
				t.Fatalf("gorilla/websocket no longer behaves as the yield assumes: %v\n"+
					"Read yield.go's assumption %s against the new gorilla code; until it holds again, "+
					"connections read on goroutines (New falls back by itself).", err, a.name)
			}
		})
	}
}

// TestYieldWasCheckedAgainstThisGorilla fails when go.mod requires (or
// replaces) another gorilla/websocket than the one whose code the
// assumptions were read against: an upgrade must re-read them, then move
// gorillaChecked.
func TestYieldWasCheckedAgainstThisGorilla(t *testing.T) {
	t.Parallel()
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatalf("reading the module's go.mod: %v", err)
	}
	required := ""
	for line := range strings.Lines(string(gomod)) {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		switch {
		case len(fields) >= 2 && fields[0] == "github.com/gorilla/websocket":
			required = fields[1]
		case len(fields) >= 2 && fields[0] == "replace" && fields[1] == "github.com/gorilla/websocket":
			t.Fatalf("go.mod replaces gorilla/websocket (%s): re-check yield.go's assumptions against it", strings.TrimSpace(line))
		}
	}
	if required != gorillaChecked {
		t.Fatalf("go.mod requires gorilla/websocket %q, but yield.go's assumptions were checked against %s: "+
			"re-read them against the new code (TestYieldAssumptionsHold runs each), then set gorillaChecked", required, gorillaChecked)
	}
}

func TestBrokenYieldFallsBackToReadingGoroutines(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	broken := func() error { return errors.New("yield assumption x: broken on purpose") }
	tr := newTransport(Config{Logger: slog.New(logs)}, broken)
	if tr.Polling() {
		t.Fatal("a transport whose yield failed its check polls anyway")
	}
	if !logs.logged("the reader cannot yield to a poller; each connection reads on a goroutine") {
		t.Error("the fallback was not logged")
	}
	s := serveTransport(t, tr)
	c, h := s.dial(t, clientOptions{answerPings: true})
	for i := range 3 {
		c.writeRaw(t, clientFrame(opText, true, saying(i)))
	}
	expectSayings(t, h, 0, 3)
}
