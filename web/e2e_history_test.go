package web_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/actorchat/chat/actors"
)

// The page's bounds on the messages one conversation keeps in the DOM
// (conversation.js): while the reader follows the bottom, and how many
// more while scrolled up.
const (
	maxNodes  = 400
	maxBehind = 200
)

// scrollerJS is the public room's scrolling element.
const scrollerJS = `document.querySelector('.scroller[data-key="public"]')`

// numbered sends n public messages "PREFIX 0001" .. as bob, and waits
// until bob has them all back.
func numbered(t *testing.T, bob *peer, prefix string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		bob.say(fmt.Sprintf("%s %04d", prefix, i))
	}
	bob.waitMessage(fmt.Sprintf("%s %04d", prefix, to))
}

// Joining shows the latest 50 public messages; scrolling to the top loads
// the 50 before, above, without moving what the reader was looking at,
// down to the first message of the room.
func TestBrowserScrollingUpLoadsOlderHistory(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{msgRate: actors.NoRateLimit})
	bob := connectPeer(t, s, s.register("bob"))
	numbered(t, bob, "old", 1, 130)
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	alice.waitMessage("public", "old 0130", "")
	checkRange(t, alice, "old", 81, 130)

	for _, first := range []int{31, 1} {
		anchor := fmt.Sprintf("old %04d", first+50)
		if first == 1 {
			anchor = "old 0031"
		}
		before := scrollToTop(t, alice, anchor)
		alice.waitMessage("public", fmt.Sprintf("old %04d", first), "")
		after := value[float64](alice, offsetJS(anchor))
		if math.Abs(after-before) > 1 {
			t.Errorf("loading older messages moved %q from %.0f px to %.0f px below the top", anchor, before, after)
		}
		checkRange(t, alice, "old", first, 130)
	}
	alice.waitText(`.scroller[data-key="public"] .edge`, "beginning")
}

// offsetJS measures how far below the top of the view a message is.
func offsetJS(text string) string {
	return fmt.Sprintf(`(() => {
		const li = [...%s.querySelectorAll('li')].find(li => li.querySelector('.text').textContent === %s);
		return li.getBoundingClientRect().top - %s.getBoundingClientRect().top;
	})()`, scrollerJS, js(text), scrollerJS)
}

// scrollToTop scrolls the public room to the top, as the reader would, and
// returns where the message anchor then is.
func scrollToTop(t *testing.T, p *browserPage, anchor string) float64 {
	t.Helper()
	return value[float64](p, fmt.Sprintf(`(() => { %s.scrollTop = 0; return %s; })()`, scrollerJS, offsetJS(anchor)))
}

// checkRange checks that the public room shows PREFIX from..to, in order,
// each once.
func checkRange(t *testing.T, p *browserPage, prefix string, from, to int) {
	t.Helper()
	msgs := p.messages("public")
	if len(msgs) != to-from+1 {
		t.Fatalf("the room shows %d messages, want %s %04d to %04d (%d)", len(msgs), prefix, from, to, to-from+1)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("%s %04d", prefix, from+i); m.Text != want {
			t.Fatalf("message %d of the room is %q, want %q", i, m.Text, want)
		}
	}
}

// A long session: 5,000 messages arrive while the reader is at the bottom,
// and the page keeps a bounded number of them; scrolled up, new messages
// are counted on the marker, and past the bound the marker jumps to the
// latest.
func TestBrowserLongSessionStaysBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{msgRate: actors.NoRateLimit})
	alice := openPage(t, s.url(), "alice")
	alice.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))

	numbered(t, bob, "flood", 1, 5000)
	alice.waitMessage("public", "flood 5000", "")
	alice.waitUntil("the oldest to leave", fmt.Sprintf(`%s.querySelectorAll('li.msg').length <= %d`, scrollerJS, maxNodes))
	checkRange(t, alice, "flood", 5000-maxNodes+1, 5000)
	if n := value[int](alice, `document.querySelectorAll('li').length`); n > maxNodes+20 {
		t.Errorf("the page holds %d list items after 5,000 messages; want about %d", n, maxNodes)
	}

	// Scrolled up, three new messages wait under the marker.
	scrollHalfway(alice)
	numbered(t, bob, "more", 1, 3)
	alice.waitText("#new-marker", "3 new messages")
	alice.run(chromedp.Click(chromedp.CSS("#new-marker")))
	alice.waitUntil("the marker to go", `document.getElementById('new-marker').hidden`)
	alice.waitUntil("the bottom", fmt.Sprintf(`%[1]s.scrollHeight - %[1]s.scrollTop - %[1]s.clientHeight < 50`, scrollerJS))

	// Scrolled up again, more than the bound arrive: the page stops adding
	// them, and the marker brings the latest.
	scrollHalfway(alice)
	numbered(t, bob, "later", 1, maxNodes+maxBehind)
	alice.waitText("#new-marker", "jump to the latest")
	if n := value[int](alice, scrollerJS+`.querySelectorAll('li.msg').length`); n > maxNodes+maxBehind {
		t.Errorf("scrolled up, the room holds %d messages, want at most %d", n, maxNodes+maxBehind)
	}
	alice.run(chromedp.Click(chromedp.CSS("#new-marker")))
	last := maxNodes + maxBehind
	alice.waitMessage("public", fmt.Sprintf("later %04d", last), "")
	checkRange(t, alice, "later", last-49, last)
}

// scrollHalfway scrolls the public room halfway up, as the reader would,
// and returns once the page has seen the scroll (scroll events are handled
// before the next frame's callbacks).
func scrollHalfway(p *browserPage) {
	p.t.Helper()
	expr := fmt.Sprintf(`new Promise(done => {
		%[1]s.scrollTop = %[1]s.scrollHeight / 2;
		requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
	})`, scrollerJS)
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise)); err != nil {
		p.t.Fatalf("%s: scrolling: %v", p.name, err)
	}
}
