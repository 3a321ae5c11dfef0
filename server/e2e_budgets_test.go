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
// are refused rate_limited before they reach the room, and every request
// still gets an answer.
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
	for i := 0; time.Since(start) < time.Second; i++ {
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
	if pages == 0 || refused == 0 {
		t.Fatalf("%d pages, %d refused in a second of asking, want both", pages, refused)
	}
	most := rate*time.Since(start).Seconds() + rate + float64(bytes/pages) // the burst, and the answer that ran the meter dry
	if float64(bytes) > most {
		t.Errorf("%d bytes of history in %v, want at most %.0f at %d bytes/s", bytes, time.Since(start), most, rate)
	}
	t.Logf("%d pages (%d bytes) and %d refusals in %v", pages, bytes, refused, time.Since(start))
	ref := "w"
	alice.sendFrame(t, wire.ClientFrame{Type: "who", Ref: &ref})
	if f := alice.expectFrame(t, "the answer to who", func(f frame) bool { return refIs(f, ref) }); f.Code != wire.CodeRateLimited {
		t.Errorf("who while the meter is in debt: %s, want rate_limited", f.Raw)
	}
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
