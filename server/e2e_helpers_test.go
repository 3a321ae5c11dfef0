package server_test

// End-to-end test harness: a real chat server (actors + edge) behind an
// httptest server on 127.0.0.1, and real gorilla/websocket clients
// (e2e_client_test.go). Every wait is bounded by a deadline; nothing sleeps
// to wait for an event.

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// waitFor bounds every wait for something that must happen. It is generous
// because the machine is small and shared and the tests run with -race; a
// passing test never waits this long.
const waitFor = 5 * time.Second

// quiet is how long expectNothing watches for a frame that must not come.
// A bug would typically show within a few milliseconds on loopback.
const quiet = 150 * time.Millisecond

// tsPattern is the protocol's timestamp: RFC 3339, UTC, exactly three
// fractional digits.
var tsPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// env is one running chat server.
type env struct {
	srv   *server.Server
	chat  *actors.Chat
	hs    *httptest.Server
	reg   *prometheus.Registry
	wsURL string // ws://127.0.0.1:PORT/chat
}

// config is what startServer's options adjust.
type config struct {
	actors   actors.Config
	server   server.Config
	withChat []func(*actors.Chat, *server.Config) // run once the actors have started
	errorLog *log.Logger                          // net/http's own log; nil: the standard logger
}

// option adjusts a test server's configuration.
type option func(*config)

// withActors adjusts the actor system's configuration.
func withActors(f func(*actors.Config)) option { return func(c *config) { f(&c.actors) } }

// withServer adjusts the edge's configuration.
func withServer(f func(*server.Config)) option { return func(c *config) { f(&c.server) } }

// withChat adjusts the edge's configuration with the running actors at
// hand, as cmd/chatd does to wire the accounts service's revocations.
func withChat(f func(*actors.Chat, *server.Config)) option {
	return func(c *config) { c.withChat = append(c.withChat, f) }
}

// withLogs sends every log of the server (the actors', the edge's and
// net/http's own) to w, at debug level.
func withLogs(w io.Writer) option {
	return func(c *config) {
		l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.actors.Logger, c.server.Logger = l, l
		c.errorLog = log.New(w, "", 0)
	}
}

// noRateLimit turns the per-user rate limit off, for tests that send many
// messages on purpose.
func noRateLimit() option {
	return withActors(func(c *actors.Config) { c.MsgRate = actors.NoRateLimit })
}

// startServer starts a chat server wired as cmd/chatd wires it (memory
// store, metrics) and stops it when the test
// ends: connections first (1001), then HTTP, then the actors.
func startServer(t *testing.T, opts ...option) *env {
	t.Helper()
	logger := testLogger()
	cfg := config{
		actors: actors.Config{
			Store:  store.NewMemory(store.Config{}),
			Logger: logger,
		},
		server: server.Config{Logger: logger},
	}
	for _, o := range opts {
		o(&cfg)
	}
	chat, err := actors.Start(cfg.actors)
	if err != nil {
		t.Fatalf("starting actors: %v", err)
	}
	for _, f := range cfg.withChat {
		f(chat, &cfg.server)
	}
	reg := prometheus.NewRegistry()
	srv := server.New(cfg.server, chat, server.NewMetrics(reg))
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = srv.HTTPServer(srv.Routes(srv.OpsHandler(nil)), cfg.errorLog) // as cmd/chatd serves it
	hs.Listener = srv.Listener(hs.Listener, nil)
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		hs.Close()
		if err := chat.Stop(); err != nil {
			t.Errorf("stopping actors: %v", err)
		}
	})
	return &env{srv: srv, chat: chat, hs: hs, reg: reg, wsURL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/chat"}
}

// testLogger discards the server's logs unless E2E_LOG is set, which helps
// when a test fails.
func testLogger() *slog.Logger {
	if os.Getenv("E2E_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// metric returns the value of a counter or gauge whose labels include the
// given ones (0 when absent).
func (e *env) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m.GetLabel(), labels) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(have []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range have {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a settable clock for the actors, so that tests can check
// stamps exactly. It reports times in a zone that is not UTC, so that a
// stamp that is not converted shows.
type fakeClock struct{ ms atomic.Int64 }

// fakeStart is when every fake clock starts; in UTC it is
// 2026-11-28T12:00:00.123Z.
var fakeStart = time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(fakeStart.UnixMilli())
	return c
}

// Now returns the clock's time, with a sub-millisecond part and an offset
// of +05:30, both of which must not show in a stamp.
func (c *fakeClock) Now() time.Time {
	return time.UnixMilli(c.ms.Load()).Add(456789 * time.Nanosecond).In(time.FixedZone("IST", 5*3600+1800))
}

// Advance moves the clock on.
func (c *fakeClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// sayFrame is a say request with a ref.
func sayFrame(text, ref string) wire.ClientFrame {
	return wire.ClientFrame{Type: "say", Text: text, Ref: &ref}
}

// dmFrame is a dm request with a ref.
func dmFrame(to, text, ref string) wire.ClientFrame {
	return wire.ClientFrame{Type: "dm", To: to, Text: text, Ref: &ref}
}

// sendFragmented sends one text message as several frames, which the
// server must reassemble: gorilla/websocket writes a frame each time its
// write buffer fills, so c must be dialed with fragmentingDialer.
func (c *client) sendFragmented(t *testing.T, data []byte) {
	t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(waitFor))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatalf("%s: NextWriter: %v", c.user, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("%s: writing fragments: %v", c.user, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s: finishing a fragmented message: %v", c.user, err)
	}
}

// fragmentingDialer makes clients whose messages go out in frames of at
// most 512 bytes.
func fragmentingDialer() dialOption {
	return withDialer(websocket.Dialer{HandshakeTimeout: waitFor, WriteBufferSize: 512})
}
