package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Two people sign up in their browsers, talk in the public room and send
// each other a private message, which shows as unread until it is opened.
func TestBrowserPublicAndPrivateMessages(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	alice := openPage(t, s.url(), "alice")
	bob := openPage(t, s.url(), "bob")
	alice.signUp("Alice") // folded to alice
	bob.signUp("bob")
	alice.waitText("#online", "bob")

	alice.send("hello from alice")
	sent := alice.waitMessage("public", "hello from alice", "sent")
	got := bob.waitMessage("public", "hello from alice", "")
	if got.ID != sent.ID || got.From != "alice" {
		t.Errorf("bob got %+v; alice's copy is %+v: want one message, from alice", got, sent)
	}
	if !strings.HasSuffix(got.Title, " UTC") || got.Time == "" {
		t.Errorf("the time shows %q with title %q; want the local time, and the exact UTC time on hover", got.Time, got.Title)
	}

	// Shift+Enter starts a new line; Enter sends both lines as one message.
	bob.run(chromedp.Focus(chromedp.CSS("#composer-text")), typeText("line one"), enter(true), typeText("line two"), enter(false))
	alice.waitMessage("public", "line one\nline two", "")
	if focused := value[string](bob, `document.activeElement.id`); focused != "composer-text" {
		t.Errorf("after sending, focus is on %q; want the composer", focused)
	}

	// A private message: alice picks bob from the online list.
	alice.run(chromedp.Click(chromedp.CSS(`#online button[title="Message bob"]`)))
	alice.waitText("#conversation-title", "Private: bob")
	alice.send("psst, bob")
	alice.waitMessage("dm:bob", "psst, bob", "sent")
	bob.waitText(`.conv[data-key="dm:alice"] .badge`, "1")
	bob.open("dm:alice")
	bob.waitMessage("dm:alice", "psst, bob", "")
	bob.waitUntil("the badge to go", `document.querySelector('.conv[data-key="dm:alice"] .badge').hidden`)
	if n := bob.count("public", "psst, bob"); n != 0 {
		t.Errorf("the private message shows %d times in bob's public room", n)
	}
}
