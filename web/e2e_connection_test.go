package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// recordBannerJS makes the page keep every text its connection banner
// shows, so that a test can check states that last a moment.
const recordBannerJS = `(() => {
	window.bannerTexts = [];
	new MutationObserver(() => window.bannerTexts.push(document.getElementById('banner-text').textContent))
		.observe(document.getElementById('banner-text'), { childList: true, characterData: true, subtree: true });
	return true;
})()`

// The server restarts: the page says so, reconnects by itself and goes on.
func TestBrowserReconnectsWhenTheServerRestarts(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	bobAccount := s.register("bob")
	value[bool](alice, recordBannerJS)

	s.restart()
	alice.waitUntil("the restart to show", `window.bannerTexts.some(t => t.includes('The server is restarting'))`)
	alice.waitConnected()
	bob := connectPeer(t, s, bobAccount)
	alice.send("still here")
	bob.waitMessage("still here")
}

// Signing in as the same user in another browser takes the session over:
// the first tab says so and does not take it back by itself (no tug of
// war) until its user asks.
func TestBrowserSignedInElsewhere(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	first := openPage(t, s.url(), "first")
	first.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))
	second := openPage(t, s.url(), "second")
	second.signIn("alice", password)
	second.waitConnected()

	first.waitText("#banner-text", "signed in elsewhere")
	bob.say("who has alice's session?")
	second.waitMessage("public", "who has alice's session?", "")
	if !value[bool](second, `document.getElementById('banner').hidden`) {
		t.Errorf("the second tab lost the session: %q", second.textOf("#banner-text"))
	}
	if got := first.count("public", "who has alice's session?"); got != 0 {
		t.Errorf("the replaced tab still receives messages")
	}

	first.run(chromedp.Click(chromedp.CSS("#banner-action")))
	first.waitConnected()
	second.waitText("#banner-text", "signed in elsewhere")
}

// Above the presence limit no presence frames come: the list of who is
// online is as fresh as the last answer, and Refresh asks again.
func TestBrowserRefreshesWhoIsOnlineInACrowd(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{presenceLimit: 1})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))
	bob.say("bob is here") // once alice has this, she would have had bob's presence before it
	alice.waitMessage("public", "bob is here", "")
	if names := alice.textOf("#online"); strings.Contains(names, "bob") {
		t.Fatalf("the online list shows %q with presence off; the test's premise is wrong", names)
	}
	alice.run(chromedp.Click(chromedp.CSS("#who-refresh")))
	alice.waitText("#online", "bob")
	alice.waitText("#online-count", "(2)")
}
