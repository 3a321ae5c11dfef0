package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/actorchat/chat/client"
	"github.com/actorchat/chat/proto/wire"
)

// A person in the browser and one on the command-line client (package
// client, as cmd/chat uses it) talk both ways, in public and in private.
func TestBrowserTalksWithTheCommandLineClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	carol := s.register("carol")
	cli := startCLI(t, s, carol)
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	alice.waitText("#online", "carol")

	alice.send("hi carol, from the browser")
	cli.waitMessage("hi carol, from the browser", "alice")

	cli.send(client.Command{Kind: client.CmdSay, Text: "hello alice, from the terminal"})
	alice.waitMessage("public", "hello alice, from the terminal", "")
	cli.send(client.Command{Kind: client.CmdDM, To: "alice", Text: "a private word"})
	alice.waitText(`.conv[data-key="dm:carol"] .badge`, "1")
	alice.open("dm:carol")
	alice.waitMessage("dm:carol", "a private word", "")

	alice.send("and one back")
	alice.waitMessage("dm:carol", "and one back", "sent")
	if m := cli.waitMessage("and one back", "alice"); m.Kind != "dm" || m.To != "carol" {
		t.Errorf("the CLI got %+v; want a private message to carol", m)
	}
}

// While alice is signed out, bob sends her a private message; she signs in
// again and finds it, marked as sent while she was offline.
func TestBrowserShowsWhatWaitedOffline(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))

	alice.run(chromedp.Click(chromedp.CSS("#signout")))
	alice.waitText("#auth-notice", "Signed out")
	bob.wait("alice to go offline", func(f wire.ServerFrame) bool { return f.Type == "presence" && f.User == "alice" && !f.IsOnline })
	if receipt := bob.dm("alice", "while you were away"); receipt.Type != "sent" || !receipt.Queued {
		t.Fatalf("bob's dm to the signed-out alice was answered %+v; want a receipt, queued", receipt)
	}

	alice.signIn("alice", password)
	alice.waitConnected()
	alice.waitText(`.conv[data-key="dm:bob"] .badge`, "1")
	alice.open("dm:bob")
	if m := alice.waitMessage("dm:bob", "while you were away", ""); !m.Offline {
		t.Errorf("the message that waited shows as %+v; want it marked offline", m)
	}
}

// cliUser is a user of the command-line client library.
type cliUser struct {
	t *testing.T
	c *client.Client

	mu     sync.Mutex
	frames []wire.ServerFrame
}

// startCLI runs a client.Client as the account g until the test ends. The
// token rides in the server URL's query, which the client keeps beside the
// user parameter it adds.
func startCLI(t *testing.T, s *chatServer, g grant) *cliUser {
	t.Helper()
	u := &cliUser{t: t}
	cfg := client.Config{Server: s.wsURL() + "?" + url.Values{"token": {g.Token}}.Encode(), User: g.User}
	c, err := client.New(cfg, u.event)
	if err != nil {
		t.Fatal(err)
	}
	u.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("the CLI client: %v", err)
		}
	})
	select {
	case <-c.Welcomed():
	case err := <-done:
		t.Fatalf("the CLI client stopped: %v", err)
	case <-time.After(waitFor):
		t.Fatal("the CLI client was not welcomed")
	}
	return u
}

func (u *cliUser) event(ev client.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.frames = append(u.frames, ev.Frame)
}

func (u *cliUser) send(cmd client.Command) {
	u.t.Helper()
	if _, err := u.c.Send(cmd); err != nil {
		u.t.Fatal(err)
	}
}

// waitMessage waits until the client has shown a message with text from
// from, and returns it.
func (u *cliUser) waitMessage(text, from string) wire.ServerFrame {
	u.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		u.mu.Lock()
		for _, f := range u.frames {
			if f.Type == "message" && f.Text == text && f.From == from {
				u.mu.Unlock()
				return f
			}
		}
		u.mu.Unlock()
		time.Sleep(pollEvery)
	}
	u.t.Fatalf("the CLI client did not show %q from %s within %v", text, from, waitFor)
	return wire.ServerFrame{}
}

// Say and dm leave at the pace of the limit the welcome announces: typed
// faster than it allows, every message is still sent, in order, and none
// shows a refusal.
func TestBrowserPacesToTheRateLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{msgRate: 5, msgBurst: 2})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))
	const n = 10
	for i := 1; i <= n; i++ {
		alice.send(fmt.Sprintf("paced %02d", i))
	}
	alice.waitMessage("public", fmt.Sprintf("paced %02d", n), "sent")
	for i := 1; i <= n; i++ {
		bob.waitMessage(fmt.Sprintf("paced %02d", i))
	}
	var got []string
	for _, m := range alice.messages("public") {
		got = append(got, m.Text)
		if !strings.Contains(m.Status, "sent") {
			t.Errorf("%q shows %q, want sent", m.Text, m.Status)
		}
	}
	if len(got) != n || !sort.StringsAreSorted(got) {
		t.Errorf("alice's room shows %q; want paced 01 to %02d in order", got, n)
	}
	for i := 1; i <= n; i++ {
		if frames := alice.sentFrames(fmt.Sprintf("paced %02d", i)); len(frames) != 1 {
			t.Errorf("paced %02d was written %d times; want once, at a pace the server accepts", i, len(frames))
		}
	}
}

// A refused message says why beside itself, and can be dismissed; a text
// over the protocol's limit is refused before it is sent.
func TestBrowserShowsRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")

	alice.fill("#new-dm-name", "Nobody")
	alice.run(chromedp.Click(chromedp.CSS(`#new-dm button[type="submit"]`)))
	alice.waitText("#conversation-title", "Private: nobody")
	alice.send("is anyone there?")
	failed := `.scroller[data-key="dm:nobody"] .outgoing .msg.failed`
	alice.waitText(failed+" .status", "not sent: there is no user nobody")
	alice.run(chromedp.Click(chromedp.CSS(failed + " button")))
	alice.waitUntil("the refused message to go", `!document.querySelector('`+failed+`')`)

	alice.send(strings.Repeat("x", 4097))
	alice.waitText("#composer-error", "Too long: 4097 bytes")
	if frames := alice.sentFrames("xxxx"); len(frames) != 0 {
		t.Errorf("the page sent the over-long text %d times", len(frames))
	}
}
