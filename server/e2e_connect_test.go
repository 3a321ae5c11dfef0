package server_test

// docs/protocol.md "Connecting": names, welcome, presence, takeover, origins,
// connection limits, pings and shutdown.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/server"
)

// checkPlainRefusal checks a refusal before the upgrade: the status, a
// text/plain body of one non-empty line.
func checkPlainRefusal(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: HTTP %d, want %d (body %q)", what, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("%s: Content-Type %q, want text/plain", what, ct)
	}
	line, rest, found := strings.Cut(body, "\n")
	if strings.TrimSpace(line) == "" || rest != "" || !found {
		t.Errorf("%s: body %q, want one non-empty line", what, body)
	}
}

func TestE2ENameRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	watcher := join(t, e, "watcher")
	cases := []struct{ name, query string }{
		{"missing", ""},
		{"other parameter only", "name=carol"},
		{"empty", "user="},
		{"33 characters", "user=" + strings.Repeat("a", 33)},
		{"starts with dot", "user=.carol"},
		{"starts with dash", "user=-carol"},
		{"plus is a space", "user=car+ol"},
		{"%20 is a space", "user=car%20ol"},
		{"trailing space", "user=carol%20"},
		{"non-ASCII", "user=" + url.QueryEscape("zoë")},
		{"non-ASCII lookalike", "user=" + url.QueryEscape("саrol")},
		{"punctuation", "user=car!ol"},
		{"slash", "user=car%2Fol"},
		{"NUL", "user=car%00ol"},
		{"repeated, same name", "user=carol&user=carol"},
		{"repeated, two valid names", "user=carol&user=dave"},
		{"repeated, one empty", "user=carol&user="},
		{"malformed escape", "user=%zz"},
	}
	for _, tc := range cases {
		resp, body := refusedDial(t, e, tc.query, nil)
		checkPlainRefusal(t, tc.name, resp, body, http.StatusBadRequest)
	}
	// Nothing was created for a refused name: the valid names of the
	// repeated-parameter cases never became known, and nobody came online.
	for _, name := range []string{"carol", "dave"} {
		watcher.sendFrame(t, dmFrame(name, "hi", "r-"+name))
		if f := watcher.expectError(t, "unknown_user"); !refIs(f, "r-"+name) {
			t.Errorf("dm to %s: %s, want ref r-%s", name, f.Raw, name)
		}
	}
	if u := watcher.who(t, "", "w"); u.Online != 1 || !slices.Equal(u.Users, []string{"watcher"}) {
		t.Errorf("who after refusals: %s, want only watcher", u.Raw)
	}
	watcher.expectNothing(t, quiet) // no presence for refused names
}

func TestE2EValidNamesAreFolded(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	cases := []struct{ given, folded string }{
		{"a", "a"},
		{strings.Repeat("b", 32), strings.Repeat("b", 32)},
		{"_under", "_under"},
		{"9lives", "9lives"},
		{"a.b-c_d", "a.b-c_d"},
		{"Alice", "alice"},
		{"MiXeD.Case-01", "mixed.case-01"},
	}
	for _, tc := range cases {
		c := dial(t, e, tc.given)
		w := c.expect(t, "welcome")
		if w.User != tc.folded || !slices.Contains(w.Users, tc.folded) {
			t.Errorf("%q: welcome %s, want user %q", tc.given, w.Raw, tc.folded)
		}
		c.leave(t)
	}
}

// TestE2EWelcomeAnnouncesTheRateLimit checks that clients learn the rate
// limit from the welcome, so that they can pace themselves, and that a
// server without one announces none.
func TestE2EWelcomeAnnouncesTheRateLimit(t *testing.T) {
	t.Parallel()
	limited := startServer(t, withActors(func(c *actors.Config) { c.MsgRate, c.MsgBurst = 2.5, 4 }))
	w := dial(t, limited, "alice").expect(t, "welcome")
	if w.MsgRate != 2.5 || w.MsgBurst != 4 || !strings.Contains(w.Raw, `"msg_rate":2.5,"msg_burst":4`) {
		t.Errorf("welcome %s, want msg_rate 2.5 and msg_burst 4", w.Raw)
	}
	unlimited := startServer(t, noRateLimit())
	if w := dial(t, unlimited, "alice").expect(t, "welcome"); strings.Contains(w.Raw, "msg_") {
		t.Errorf("welcome %s announces a rate limit, but there is none", w.Raw)
	}
}

func TestE2EWelcomeAndPresence(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	zed := dial(t, e, "zed")
	w := zed.expect(t, "welcome")
	if w.User != "zed" || !slices.Equal(w.Users, []string{"zed"}) || w.Online != 1 {
		t.Errorf("first welcome %s, want user zed, users [zed], online 1", w.Raw)
	}
	checkTS(t, "welcome", w.TS)
	alice := join(t, e, "alice")
	expectPresence(t, zed, "alice", true)

	mike := dial(t, e, "Mike")
	w = mike.expect(t, "welcome") // the first frame, before any presence
	if w.User != "mike" || !slices.Equal(w.Users, []string{"alice", "mike", "zed"}) || w.Online != 3 {
		t.Errorf("welcome %s, want sorted users [alice mike zed], online 3", w.Raw)
	}
	expectPresence(t, zed, "mike", true)
	expectPresence(t, alice, "mike", true)
	mike.expectNothing(t, quiet) // no presence about oneself

	mike.leave(t)
	expectPresence(t, zed, "mike", false)
	expectPresence(t, alice, "mike", false)
	if u := zed.who(t, "", "1"); !slices.Equal(u.Users, []string{"alice", "zed"}) || u.Online != 2 {
		t.Errorf("who after mike left: %s", u.Raw)
	}
}

// expectPresence takes the next frame, which must be a presence notice.
func expectPresence(t *testing.T, c *client, user string, online bool) {
	t.Helper()
	p := c.expect(t, "presence")
	if p.User != user || p.IsOnline != online {
		t.Fatalf("%s: got %s, want presence of %s online=%v", c.user, p.Raw, user, online)
	}
	checkTS(t, "presence", p.TS)
}

func TestE2ETakeover(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	bob := join(t, e, "bob")
	// The first connection never answers pings, so nothing it is sent is
	// confirmed: everything must reach the second one.
	alice1 := join(t, e, "alice", withPingHook(func(string) bool { return false }))
	expectPresence(t, bob, "alice", true)
	one := bob.dm(t, "alice", "one", "1")
	if m := alice1.expect(t, "message"); m.ID != one.ID {
		t.Fatalf("alice1 got %s, want dm one", m.Raw)
	}
	bob.sendFrame(t, dmFrame("alice", "two", "2")) // races with the takeover

	alice2 := dial(t, e, "ALICE")
	w := alice2.expect(t, "welcome")
	if w.User != "alice" || !slices.Equal(w.Users, []string{"alice", "bob"}) || w.Online != 2 {
		t.Errorf("takeover welcome %s, want users [alice bob], online 2", w.Raw)
	}
	alice1.expectFrame(t, "session_replaced", func(f frame) bool {
		return f.Type == "error" && f.Code == "session_replaced"
	})
	if extra := alice1.expectClose(t, 4000); len(extra) > 0 {
		t.Errorf("frames after session_replaced: %v", extra)
	}
	two := bob.expect(t, "sent")
	if !refIs(two, "2") {
		t.Fatalf("bob: %s, want receipt 2", two.Raw)
	}

	// Nothing queued is lost: both dms reach the new connection, in order,
	// with the ids of the receipts; the unconfirmed one is a redelivery.
	m1, m2 := alice2.expect(t, "message"), alice2.expect(t, "message")
	if m1.ID != one.ID || !m1.Redelivered || m1.Text != "one" {
		t.Errorf("first after takeover: %s, want dm one (id %s) redelivered", m1.Raw, one.ID)
	}
	if m2.ID != two.ID || m2.Text != "two" {
		t.Errorf("second after takeover: %s, want dm two (id %s)", m2.Raw, two.ID)
	}

	// No presence pair: once the old connection is gone, the next thing bob
	// hears is a real arrival.
	eventually(t, "the old connection to end", func() bool { return e.srv.Open() == 2 })
	if u := bob.who(t, "", "w"); !slices.Equal(u.Users, []string{"alice", "bob"}) || u.Online != 2 {
		t.Errorf("who after takeover: %s", u.Raw)
	}
	join(t, e, "carol")
	expectPresence(t, bob, "carol", true)
}

func TestE2EOrigin(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) {
		c.AllowedOrigins = []string{"https://chat.example"}
	}))
	resp, body := refusedDial(t, e, "user=eve", http.Header{"Origin": {"https://evil.example"}})
	checkPlainRefusal(t, "foreign origin", resp, body, http.StatusForbidden)

	join(t, e, "listed", withHeader(http.Header{"Origin": {"https://chat.example"}}))
	join(t, e, "samehost", withHeader(http.Header{"Origin": {e.hs.URL}}))
	join(t, e, "nobrowser") // no Origin header at all
}

// tryDial connects without failing the test; status is the HTTP status of
// a refusal.
func tryDial(e *env, user string) (ws *websocket.Conn, status int) {
	dl := websocket.Dialer{HandshakeTimeout: waitFor}
	ws, resp, err := dl.Dial(e.wsURL+"?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil && resp != nil {
		return nil, resp.StatusCode
	}
	return ws, 0
}

func TestE2EMaxConns(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) { c.MaxConns = 2 }))
	a := join(t, e, "a")
	join(t, e, "b")
	resp, body := refusedDial(t, e, "user=c", nil)
	checkPlainRefusal(t, "server full", resp, body, http.StatusServiceUnavailable)

	// A slot frees when a connection ends.
	a.leave(t)
	var ws *websocket.Conn
	eventually(t, "a free slot", func() bool {
		var status int
		ws, status = tryDial(e, "c")
		return status == 0 && ws != nil
	})
	_ = ws.Close()
}

func TestE2EMaxConnsPerIP(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) { c.MaxConnsPerIP = 1 }))
	join(t, e, "a")
	resp, body := refusedDial(t, e, "user=b", nil)
	checkPlainRefusal(t, "too many from one IP", resp, body, http.StatusTooManyRequests)
}

func TestE2ENoCompression(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	dl := websocket.Dialer{HandshakeTimeout: waitFor, EnableCompression: true}
	ws, resp, err := dl.Dial(e.wsURL+"?user=zip", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close() // empty after an upgrade; the headers are what counts
	t.Cleanup(func() { _ = ws.Close() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("server negotiated %q, want no extension", ext)
	}
}

func TestE2EShutdownClosesWith1001(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	a, b := join(t, e, "a"), join(t, e, "b")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	a.expectClose(t, 1001)
	b.expectClose(t, 1001)
	if e.srv.Ready() || e.srv.Open() != 0 {
		t.Errorf("after Shutdown: ready=%v open=%d", e.srv.Ready(), e.srv.Open())
	}
	resp, body := refusedDial(t, e, "user=late", nil)
	checkPlainRefusal(t, "while shut down", resp, body, http.StatusServiceUnavailable)
}

// fastPings makes the server ping every 50 ms and give up on a peer after
// 300 ms without a pong.
func fastPings() option {
	return withServer(func(c *server.Config) {
		c.PingInterval, c.PongWait = 50*time.Millisecond, 300*time.Millisecond
	})
}

// Not parallel: the connection lives only while every pong comes within
// PongWait (300 ms), which the package's other tests, sharing the CPU, can
// delay (it failed so once in parallel at a load average of 9).
func TestE2EPingsKeepALiveClient(t *testing.T) {
	e := startServer(t, fastPings())
	var pings atomic.Int32
	c := join(t, e, "alive", withPingHook(func(string) bool { pings.Add(1); return true }))
	// Ten pings take 500 ms, well past PongWait: answering keeps it open.
	eventually(t, "ten pings", func() bool { return pings.Load() >= 10 })
	if u := c.who(t, "", "still"); u.Online != 1 {
		t.Errorf("who: %s", u.Raw)
	}
}

func TestE2EPeerThatStopsAnsweringIsClosed(t *testing.T) {
	t.Parallel()
	e := startServer(t, fastPings())
	watcher := join(t, e, "watcher")
	var pings atomic.Int32
	dead := join(t, e, "dead", withPingHook(func(string) bool { pings.Add(1); return false }))
	expectPresence(t, watcher, "dead", true)

	// The reader keeps reading (so it would see a close frame), but never
	// answers a ping: the server must give up on it.
	_, err, timedOut := dead.next(waitFor)
	if timedOut || err == nil {
		t.Fatalf("a peer that answers no ping stayed connected (timed out %v)", timedOut)
	}
	if pings.Load() == 0 {
		t.Errorf("closed (%v) without ever being pinged", err)
	}
	t.Logf("a silent peer ends with: %v", err)
	expectPresence(t, watcher, "dead", false)
}
