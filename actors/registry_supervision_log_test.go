package actors

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// logLine is one captured log record: its level, message and attributes,
// each rendered as text.
type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logSink is a slog.Handler that keeps every record at warning level and
// above, for tests that check what an operator reads. Safe for concurrent
// use; handlers made by WithAttrs share the sink.
type logSink struct {
	mu    *sync.Mutex
	lines *[]logLine
	with  []slog.Attr
}

func newLogSink() logSink {
	return logSink{mu: &sync.Mutex{}, lines: &[]logLine{}}
}

func (s logSink) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (s logSink) Handle(_ context.Context, r slog.Record) error {
	line := logLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range s.with {
		line.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		line.attrs[a.Key] = a.Value.String()
		return true
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.lines = append(*s.lines, line)
	return nil
}

func (s logSink) WithAttrs(as []slog.Attr) slog.Handler {
	s.with = append(slices.Clip(s.with), as...)
	return s
}

func (s logSink) WithGroup(string) slog.Handler { return s }

// matching returns the captured lines with message msg.
func (s logSink) matching(msg string) []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logLine
	for _, l := range *s.lines {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// about returns the captured lines with attribute key set to value.
func (s logSink) about(key, value string) []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logLine
	for _, l := range *s.lines {
		if l.attrs[key] == value {
			out = append(out, l)
		}
	}
	return out
}

// checkLine fails the test unless l is a warning with exactly want as its
// attributes.
func checkLine(t *testing.T, l logLine, want map[string]string) {
	t.Helper()
	if l.level != slog.LevelWarn || !maps.Equal(l.attrs, want) {
		t.Errorf("log line %s %q %v\nwant WARN with %v", l.level, l.msg, l.attrs, want)
	}
}

// An operator reads, for each failure of a user actor, whose actor it was,
// which failure of how many tolerated in what window, and why; and, when
// the budget is spent, that the actor is stopped and what happens to the
// connection. One line per failure: nothing else reports them again.
func TestSupervisionLogLinesSpeakTheOperatorsWords(t *testing.T) {
	t.Parallel()
	sink := newLogSink()
	h := newHarness(t, func(c *Config, _ *store.Memory) {
		c.DebugFaults, c.RestartLimit, c.RestartWindow = true, 2, 90*time.Second
		c.Logger = slog.New(sink)
	})
	events := h.supervisionEvents()
	bob := h.connectQuiet("bob")
	for _, d := range []actor.Directive{actor.RestartDirective, actor.RestartDirective, actor.StopDirective} {
		bob.send(&chatpb.DebugPanic{})
		expectSupervision(t, events, bob.user, d) // published after the line is logged
	}

	reason := "debug: fault injected by bob"
	restarts := sink.matching("user actor failed; restarting")
	if len(restarts) != 2 {
		t.Fatalf("%d restart lines, want 2: %v", len(restarts), restarts)
	}
	for i, l := range restarts {
		checkLine(t, l, map[string]string{
			"user": "bob", "failure": fmt.Sprint(i + 1), "limit": "2", "window": "1m30s", "reason": reason,
		})
	}
	stops := sink.matching("user actor failed too often; stopping it")
	if len(stops) != 1 {
		t.Fatalf("%d stop lines, want 1", len(stops))
	}
	checkLine(t, stops[0], map[string]string{
		"user": "bob", "failures": "3", "limit": "2", "window": "1m30s", "reason": reason, "connection": afterStop,
	})
	if !strings.Contains(afterStop, "1011") || !strings.Contains(afterStop, "fresh actor") {
		t.Errorf("the stop line says %q of the connection; want the close code and what comes next", afterStop)
	}
	if dup := sink.about("actor", "registry/bob"); len(dup) != 0 {
		t.Errorf("the failures were logged a second time: %v", dup)
	}
}

// Failures of the actors Proto.Actor's default strategy supervises (the
// registry, the room) are still logged, in the same words.
func TestSupervisionLogsOtherActorsFailures(t *testing.T) {
	t.Parallel()
	sink := newLogSink()
	h := newHarness(t, func(c *Config, _ *store.Memory) { c.Logger = slog.New(sink) })
	room := actor.NewPID(h.system().Address(), "room")
	publishSupervision(h.system(), room, "boom", actor.RestartDirective)
	lines := sink.matching("actor failed; restarting")
	if len(lines) != 1 {
		t.Fatalf("%d lines for the room's failure, want 1", len(lines))
	}
	checkLine(t, lines[0], map[string]string{"actor": "room", "reason": "boom"})
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Minute:                    "1m",
		90 * time.Second:               "1m30s",
		10 * time.Minute:               "10m",
		time.Hour:                      "1h",
		time.Hour + 30*time.Minute:     "1h30m",
		time.Hour + 10*time.Second:     "1h0m10s",
		30 * time.Second:               "30s",
		500 * time.Millisecond:         "500ms",
		2*time.Minute + 10*time.Second: "2m10s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
