package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// darkMode makes the page see prefers-color-scheme: dark.
func darkMode() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	})
}

// At a phone's width, in dark mode: nothing scrolls sideways, the
// conversation fills the screen, the list opens from the top bar, and the
// colours are the dark ones.
func TestBrowserPhoneWidthInDarkMode(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	p := openPage(t, s.url(), "phone")
	p.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), darkMode())
	p.signUp("alice")
	bob := connectPeer(t, s, s.register("bob"))
	bob.say("a long line that has to wrap on a narrow screen rather than push the page sideways: " +
		"supercalifragilisticexpialidocious_and_then_some_more_characters_without_any_break")
	p.waitUntil("bob's message", listJS+"('public').length > 0")
	p.send("hello from a phone")
	p.waitMessage("public", "hello from a phone", "sent")

	if wide := value[bool](p, `document.documentElement.scrollWidth > document.documentElement.clientWidth`); wide {
		t.Error("the page scrolls sideways at 390 px")
	}
	if !value[bool](p, `getComputedStyle(document.getElementById('sidebar')).display === 'none'`) {
		t.Error("the conversation list takes room beside the conversation at 390 px")
	}
	p.run(chromedp.Click(chromedp.CSS("#nav-toggle")))
	p.waitUntil("the list to open", `getComputedStyle(document.getElementById('sidebar')).display !== 'none'`)
	p.waitText("#online", "bob")
	p.run(chromedp.Click(chromedp.CSS(`#online button[title="Message bob"]`)))
	p.waitUntil("the list to close on choosing", `getComputedStyle(document.getElementById('sidebar')).display === 'none'`)
	p.waitText("#conversation-title", "Private: bob")

	dark := `(() => { const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number); return r + g + b < 150; })()`
	if !value[bool](p, dark) {
		t.Errorf("the background is %s with prefers-color-scheme: dark", value[string](p, `getComputedStyle(document.body).backgroundColor`))
	}
}
