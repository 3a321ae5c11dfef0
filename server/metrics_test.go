package server_test

// The metrics, end to end: after a scripted session, /metrics shows
// each counter moved by exactly what the session did.

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// h4Samples are scraped metric values keyed by name and sorted labels:
// `chat_errors_total{code="bad_request"}`, or just the name.
type h4Samples map[string]float64

// h4Scrape fetches /metrics as Prometheus would and parses the text format.
func h4Scrape(tb testing.TB, e *h4Env) h4Samples {
	tb.Helper()
	resp, err := http.Get(e.baseURL + "/metrics")
	if err != nil {
		tb.Fatalf("scraping /metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("scraping /metrics: status %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parsing /metrics: %v", err)
	}
	samples := make(h4Samples)
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(labels) > 0 {
				slices.Sort(labels)
				key += "{" + strings.Join(labels, ",") + "}"
			}
			samples[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return samples
}

// h4Diff compares how the chat_ samples moved since before with want
// (a sample not in want must not have moved), skipping the names in
// ignore. It returns one line per mismatch.
func h4Diff(before, now, want h4Samples, ignore ...string) []string {
	var bad []string
	keys := make(map[string]bool)
	for k := range now {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for k := range keys {
		name, _, _ := strings.Cut(k, "{")
		if !strings.HasPrefix(name, "chat_") || slices.Contains(ignore, name) {
			continue
		}
		if moved := now[k] - before[k]; moved != want[k] {
			bad = append(bad, fmt.Sprintf("%s moved by %v, want %v", k, moved, want[k]))
		}
	}
	slices.Sort(bad)
	return bad
}

// h4ExpectMoved polls /metrics until every chat_ sample has moved since
// before by exactly what want says (counters are updated after the frames
// a client sees are written, so they may lag a little).
func h4ExpectMoved(t *testing.T, e *h4Env, before, want h4Samples, ignore ...string) {
	t.Helper()
	var bad []string
	if !h4Eventually(func() bool {
		bad = h4Diff(before, h4Scrape(t, e), want, ignore...)
		return len(bad) == 0
	}) {
		t.Fatalf("metrics after the session:\n\t%s", strings.Join(bad, "\n\t"))
	}
}

// TestMetricsCountAScriptedSession runs a session whose every counted
// event is known (2 clients, 3 public messages, 2 private ones, one
// bad_request, one rate_limited, one refused connection, one slow consumer)
// and checks that each chat_ metric moved by exactly that much.
func TestMetricsCountAScriptedSession(t *testing.T) {
	t.Parallel()
	// Six messages from alice pass the limit; the seventh does not, and
	// one refusal is not flooding. An outbox of 2 KiB fits every frame of
	// the session but the one private message that makes a slow consumer.
	e := h4Start(t, actors.Config{MsgRate: 0.001, MsgBurst: 6}, server.Config{OutboxMax: 2 << 10})
	before := h4Scrape(t, e)

	resp, err := http.Get(e.baseURL + "/chat?user=no%20spaces")
	if err != nil {
		t.Fatalf("refused connection: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid name: status %d, want 400", resp.StatusCode)
	}

	alice, bob := h4Join(t, e, "alice"), h4Join(t, e, "bob")
	for i := range 3 {
		h4Request(t, alice, h4Say(fmt.Sprint("public ", i), fmt.Sprint("s", i)), "sent")
	}
	for i := range 2 {
		h4Request(t, alice, h4DM("bob", fmt.Sprint("private ", i), fmt.Sprint("d", i)), "sent")
	}
	bob.waitUntil(t, "3 public and 2 private messages", func(fs []h4Frame) bool {
		return len(h4Messages(fs, "public")) == 3 && len(h4Messages(fs, "dm")) == 2
	})
	if err := bob.write([]byte(`{"type":"nope","ref":"b"}`)); err != nil {
		t.Fatal(err)
	}
	if f := bob.await(t, "bad_request", h4Reply("b")); f.Code != wire.CodeBadRequest {
		t.Errorf("bob's unknown type: %+v, want bad_request", f.ServerFrame)
	}

	// A private message bigger than slow's whole outbox overflows it: it
	// is closed with 4001 and the message stays in its inbox.
	slow := h4Join(t, e, "slow")
	h4Request(t, alice, h4DM("slow", strings.Repeat("x", 3000), "big"), "sent")
	if code := slow.closeCode(t); code != 4001 {
		t.Fatalf("slow consumer closed with %d, want 4001", code)
	}
	if f := h4Request(t, alice, h4Say("one too many", "over"), "error"); f.Code != wire.CodeRateLimited {
		t.Errorf("alice's seventh message: %+v, want rate_limited", f.ServerFrame)
	}

	moved := h4Samples{
		`chat_connections_refused_total{reason="bad_name"}`:     1,
		`chat_connections_open`:                                 2, // alice and bob
		`chat_connections_closed_total{reason="slow_consumer"}`: 1,
		`chat_frames_in_total`:                                  8, // alice 7, bob 1
		`chat_deliveries_total{kind="public"}`:                  6, // 3 to alice and bob
		`chat_deliveries_total{kind="dm"}`:                      2,
		`chat_errors_total{code="bad_request"}`:                 1,
		`chat_errors_total{code="rate_limited"}`:                1,
		`chat_rate_limited_total`:                               1,
		`chat_slow_consumer_disconnects_total`:                  1,
		`chat_inbox_messages`:                                   1, // slow's, unconfirmed; bob confirmed his
	}
	// Frames out include pings and presence notices, whose number depends
	// on timing.
	h4ExpectMoved(t, e, before, moved, "chat_frames_out_total")

	for _, c := range []*h4Client{alice, bob} {
		if err := c.leave(); err != nil {
			t.Fatal(err)
		}
	}
	moved[`chat_connections_open`] = 0
	moved[`chat_connections_closed_total{reason="normal"}`] = 2
	h4ExpectMoved(t, e, before, moved, "chat_frames_out_total")
}

// h4Request sends a request and waits for its reply, which must be of
// type want ("sent" or "error").
func h4Request(t *testing.T, c *h4Client, req wire.ClientFrame, want string) h4Frame {
	t.Helper()
	if err := c.send(req); err != nil {
		t.Fatalf("%s: sending %s: %v", c.user, *req.Ref, err)
	}
	f := c.await(t, "reply to "+*req.Ref, h4Reply(*req.Ref))
	if f.Type != want {
		t.Fatalf("%s: reply to %s is %+v, want %s", c.user, *req.Ref, f.ServerFrame, want)
	}
	return f
}

// TestMetricsRefusalsByReason checks the labels of refused connections:
// each refusal before the upgrade is counted once under its reason. Every
// TCP connection holds one of MaxConns: the scrape's keep-alive connection,
// which every request here reuses (their bodies are read to the end), and
// the one WebSocket.
func TestMetricsRefusalsByReason(t *testing.T) {
	t.Parallel()
	e := h4Start(t, actors.Config{}, server.Config{MaxConns: 2})
	before := h4Scrape(t, e)
	only := h4Join(t, e, "only")
	for _, query := range []string{"", "?user=a&user=b", "?user=%C3%A9"} {
		resp, err := http.Get(e.baseURL + "/chat" + query)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	// The server is full: a valid name is refused with 503.
	ws, resp, err := websocket.DefaultDialer.Dial(e.wsURL+"?user=second", nil)
	if err == nil {
		_ = ws.Close()
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection to a full server: %v, want 503", err)
	}
	h4ExpectMoved(t, e, before, h4Samples{
		`chat_connections_refused_total{reason="bad_name"}`:    3,
		`chat_connections_refused_total{reason="server_full"}`: 1,
		`chat_connections_open`:                                1,
	}, "chat_frames_out_total")
	if err := only.leave(); err != nil {
		t.Fatal(err)
	}
}
