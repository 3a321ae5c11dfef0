package web_test

// What a user does on the page, and what the tests read from it. The tests
// go through the page as a person would (typing, clicking, pressing
// Enter) and read only what it shows (the DOM), never its modules' state.

import (
	"context"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

const password = "correct horse battery"

// shown is a message as the page shows it.
type shown struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	Text    string `json:"text"`
	Status  string `json:"status"`
	Offline bool   `json:"offline"`
	Title   string `json:"title"` // the time's title: the exact UTC time
	Time    string `json:"time"`  // the time as shown
}

// listJS is a JavaScript function of a conversation key that returns the
// messages its view shows (not the outgoing ones), oldest first.
const listJS = `((key) => [...document.querySelectorAll('.scroller[data-key="' + key + '"] ol.messages:not(.outgoing) > li')].map(li => ({
	id: li.dataset.id || '',
	from: li.querySelector('.from').textContent,
	text: li.querySelector('.text').textContent,
	status: li.querySelector('.status').textContent,
	offline: !!li.querySelector('.tag.offline'),
	title: li.querySelector('time')?.title || '',
	time: li.querySelector('time')?.textContent || '',
})))`

// fill replaces the value of the input sel with text, typed.
func (p *browserPage) fill(sel, text string) {
	p.t.Helper()
	c := chromedp.CSS(sel)
	p.run(chromedp.WaitVisible(c))
	value[bool](p, fmt.Sprintf(`(document.querySelector(%s).value = '') === ''`, js(sel)))
	p.run(chromedp.Focus(c), typeText(text))
}

// typeText enters text into the focused field as one input, the way a
// keyboard's input method does: the page sees the same input events as
// for typing, in one protocol call rather than three per character.
func typeText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}

// signUp creates an account from the sign-in form and waits for the chat.
func (p *browserPage) signUp(name string) {
	p.t.Helper()
	p.fill("#auth-name", name)
	p.fill("#auth-password", password)
	p.run(chromedp.Click(chromedp.CSS("#auth-register")))
	p.waitConnected()
}

// signIn signs in from the form with pw, without waiting for the outcome.
func (p *browserPage) signIn(name, pw string) {
	p.t.Helper()
	p.fill("#auth-name", name)
	p.fill("#auth-password", pw)
	p.run(chromedp.Click(chromedp.CSS("#auth-login")))
}

// waitConnected waits until the chat is shown and connected (no banner).
func (p *browserPage) waitConnected() {
	p.t.Helper()
	p.waitUntil("the chat, connected", `!document.getElementById('app').hidden && document.getElementById('banner').hidden && document.getElementById('online').childElementCount > 0`)
}

// send types text in the composer and presses Enter.
func (p *browserPage) send(text string) {
	p.t.Helper()
	p.run(chromedp.Focus(chromedp.CSS("#composer-text")), typeText(text), enter(false))
}

// enter presses Enter (with Shift when shift is set) as a keyboard does:
// a keyDown that carries the text "\r", whose default action (a new line)
// the page may prevent, then a keyUp. chromedp.KeyEvent sends the text as
// a separate char event, which no keydown handler can prevent.
func enter(shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mods int64
		if shift {
			mods = int64(chromedp.ModifierShift)
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Modifiers: mods,
			Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Modifiers: mods,
			Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// open shows the conversation with key by clicking it in the list.
func (p *browserPage) open(key string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(fmt.Sprintf(`.conv[data-key=%q]`, key))))
	p.waitUntil("conversation "+key+" shown", fmt.Sprintf(`!document.querySelector('.scroller[data-key=%q]').hidden`, key))
}

// messages returns what the view of conversation key shows.
func (p *browserPage) messages(key string) []shown {
	p.t.Helper()
	return value[[]shown](p, listJS+"("+js(key)+")")
}

// waitMessage waits until conversation key shows a message with text
// whose status (the line under it) contains status, and returns it.
func (p *browserPage) waitMessage(key, text, status string) shown {
	p.t.Helper()
	p.waitUntil(fmt.Sprintf("%q in %s (status %q)", text, key, status),
		fmt.Sprintf(`%s(%s).some(m => m.text === %s && m.status.includes(%s))`, listJS, js(key), js(text), js(status)))
	for _, m := range p.messages(key) {
		if m.Text == text && strings.Contains(m.Status, status) {
			return m
		}
	}
	p.t.Fatalf("%s: %q went from %s", p.name, text, key)
	return shown{}
}

// count returns how many messages of conversation key have text.
func (p *browserPage) count(key, text string) int {
	n := 0
	for _, m := range p.messages(key) {
		if m.Text == text {
			n++
		}
	}
	return n
}

// textOf returns the text content of the element sel.
func (p *browserPage) textOf(sel string) string {
	p.t.Helper()
	return value[string](p, fmt.Sprintf(`document.querySelector(%s)?.textContent ?? ''`, js(sel)))
}

// waitText waits until the element sel's text contains want.
func (p *browserPage) waitText(sel, want string) {
	p.t.Helper()
	p.waitUntil(fmt.Sprintf("%s to say %q", sel, want),
		fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? '').includes(%s)`, js(sel), js(want)))
}
