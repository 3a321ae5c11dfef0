package server_test

// The edge's budgets under cheap input: many names from one client IP
// share a publish budget; answers to history and who are metered per
// connection; a client pinging far past a keep-alive's needs is closed.

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// Names cost a registration each, but each had its own rate limit: 200
// names from one machine were 200 limits. Now say and dm from every
// session of one client IP share the IP's budget; behind a trusted proxy,
// the client's IP is the one the proxy names.
func TestE2EOneIPsNamesShareAPublishBudget(t *testing.T) {
	t.Parallel()
	const rate, names, each = 1, 5, 2 // a burst of 3 for the IP
	e := startServer(t, noRateLimit(), withServer(func(c *server.Config) {
		c.IPMsgRate = rate
		c.TrustedProxies, _ = server.ParseTrustedProxies("127.0.0.0/8, ::1")
	}))
	from := func(ip string) dialOption { return withHeader(http.Header{"X-Forwarded-For": {ip}}) }
	var crowd []*client
	for i := range names {
		crowd = append(crowd, join(t, e, fmt.Sprint("sock", i), from("198.51.100.1")))
	}
	start := time.Now()
	for i, c := range crowd {
		for j := range each {
			c.sendFrame(t, sayFrame("hello", fmt.Sprint(i, "-", j)))
		}
	}
	sent, limited := 0, 0
	for _, c := range crowd {
		for range each {
			f := c.expectFrame(t, "receipt or refusal", func(f frame) bool { return f.Type == "sent" || f.Type == "error" })
			switch {
			case f.Type == "sent":
				sent++
			case f.Code == wire.CodeRateLimited && f.Ref != nil:
				limited++
			default:
				t.Errorf("%s: %s, want sent or rate_limited with its ref", c.user, f.Raw)
			}
		}
	}
	most := 3 + int(math.Ceil(rate*time.Since(start).Seconds()))
	if sent < 3 || sent > most || limited == 0 {
		t.Errorf("%d names sent %d messages: %d accepted, %d rate_limited; want 3 to %d accepted", names, names*each, sent, limited, most)
	}
	other := join(t, e, "neighbour", from("198.51.100.2"))
	other.say(t, "another client's budget is its own", "n")
}

// A history of 200 messages is 30 bytes in and up to 840 KB out. With the
// user's rate limit off, only the connection's reply meter stands between
// a client asking in a loop and the server's bandwidth: past it, requests
// are refused rate_limited before they reach the room, every request
// still gets an answer, and a client that keeps asking regardless is
// closed with 1008.
func TestE2EHistoryAnswersAreMeteredPerConnection(t *testing.T) {
	t.Parallel()
	const rate = 32 << 10
	e := startServer(t, noRateLimit(), withServer(func(c *server.Config) { c.ReplyRate = rate }))
	alice := join(t, e, "alice")
	text := strings.Repeat("h", 1000)
	for i := range 200 {
		alice.sendFrame(t, sayFrame(text, fmt.Sprint(i)))
	}
	alice.expectFrame(t, "the last receipt", func(f frame) bool { return f.Type == "sent" && refIs(f, "199") })

	start := time.Now()
	bytes, pages, refused := 0, 0, 0
	for i := 0; refused <= replyFloodMax; i++ {
		ref := fmt.Sprint("h", i)
		alice.sendFrame(t, wire.ClientFrame{Type: "history", Limit: 200, Ref: &ref})
		f := alice.expectFrame(t, "an answer to "+ref, func(f frame) bool { return refIs(f, ref) })
		switch {
		case f.Type == "history":
			bytes += len(f.Raw)
			pages++
		case f.Type == "error" && f.Code == wire.CodeRateLimited:
			refused++
		default:
			t.Fatalf("history: %s, want a page or rate_limited", f.Raw)
		}
	}
	took := time.Since(start)
	t.Logf("%d pages (%d bytes) and %d refusals in %v", pages, bytes, refused, took)
	if pages == 0 {
		t.Fatal("no page at all")
	}
	if most := rate*took.Seconds() + rate + float64(bytes/pages); float64(bytes) > most { // the burst, and the answer that ran the meter dry
		t.Errorf("%d bytes of history in %v, want at most %.0f at %d bytes/s", bytes, took, most, rate)
	}
	alice.expectClose(t, websocket.ClosePolicyViolation) // asking on, refused, more than replyFloodMax times
}

// replyFloodMax is how many refused history and who requests within 10 s
// close a connection (server/replybudget.go).
const replyFloodMax = 100

// A client that asks again only once its answer is paid for is never
// closed, and gets everything it asks for in the end.
func TestE2EHistoryAnswersCostTimeNotAnswers(t *testing.T) {
	t.Parallel()
	const rate = 64 << 10
	e := startServer(t, noRateLimit(), withServer(func(c *server.Config) { c.ReplyRate = rate }))
	alice := join(t, e, "alice")
	for i := range 100 {
		alice.sendFrame(t, sayFrame(strings.Repeat("h", 1000), fmt.Sprint(i)))
	}
	alice.expectFrame(t, "the last receipt", func(f frame) bool { return f.Type == "sent" && refIs(f, "99") })
	for i := range 2 { // 110 KB each: the meter runs dry after every page
		for try := 0; ; try++ {
			ref := fmt.Sprint("h", i, "-", try)
			alice.sendFrame(t, wire.ClientFrame{Type: "history", Limit: 100, Ref: &ref})
			f := alice.expectFrame(t, "an answer to "+ref, func(f frame) bool { return refIs(f, ref) })
			if f.Type == "history" {
				if len(f.Messages) != 100 {
					t.Fatalf("page %d: %d messages, want 100", i, len(f.Messages))
				}
				break
			}
			if f.Code != wire.CodeRateLimited || try > 20 {
				t.Fatalf("page %d, try %d: %s", i, try, f.Raw)
			}
			time.Sleep(250 * time.Millisecond) // as a client that honours rate_limited would
		}
	}
	alice.expectNothing(t, quiet) // no close, no stray answer
}

func TestE2EClientPingingTooFastIsClosedWith1008(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) { c.MaxPingRate = 5 }))
	c := join(t, e, "pinger")
	for range 50 {
		if err := c.ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(waitFor)); err != nil {
			break // closed already
		}
	}
	c.expectClose(t, websocket.ClosePolicyViolation)
	eventually(t, "the close counted as policy", func() bool {
		return e.metric(t, "chat_connections_closed_total", map[string]string{"reason": "policy"}) == 1
	})
}
